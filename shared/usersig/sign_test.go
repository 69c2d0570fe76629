package usersig

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewSignerInvalid(t *testing.T) {
	cases := []struct {
		name string
		app  uint32
		key  string
	}{
		{"sdkAppID 0", 0, testKey},
		{"empty key", 1400000000, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(tc.app, tc.key)
			if !errors.Is(err, ErrInvalidInput) || s != nil {
				t.Fatalf("NewSigner = %v, %v; want nil, ErrInvalidInput", s, err)
			}
		})
	}
	s, err := NewSigner(math.MaxUint32, "k")
	if err != nil || s.SDKAppID() != math.MaxUint32 {
		t.Fatalf("NewSigner(max) = %v, %v", s, err)
	}
}

func TestSignInvalidInput(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	ok := struct {
		uid  string
		ttl  time.Duration
		now  time.Time
		room Room
		priv Privileges
	}{"alice", time.Hour, testNow, NumericRoom(1), PresetVideoCaller}
	type in = struct {
		uid  string
		ttl  time.Duration
		now  time.Time
		room Room
		priv Privileges
	}
	mod := func(f func(*in)) in { c := ok; f(&c); return c }
	cases := []struct {
		name    string
		in      in
		msg     string
		pmkOnly bool
	}{
		{"empty userID", mod(func(c *in) { c.uid = "" }), "userID must be 1..32", false},
		{"33-byte userID", mod(func(c *in) { c.uid = strings.Repeat("a", 33) }), "userID must be 1..32", false},
		{"userID with space", mod(func(c *in) { c.uid = "a b" }), "at byte 1", false},
		{"userID with dot", mod(func(c *in) { c.uid = "a.b" }), "at byte 1", false},
		{"userID with @", mod(func(c *in) { c.uid = "a@b" }), "at byte 1", false},
		{"non-ASCII userID", mod(func(c *in) { c.uid = "xiǎojun" }), "at byte 2", false},
		{"userID with NUL", mod(func(c *in) { c.uid = "a\x00" }), "at byte 1", false},
		{"ttl 0", mod(func(c *in) { c.ttl = 0 }), "at least 1s", false},
		{"negative ttl", mod(func(c *in) { c.ttl = -time.Second }), "at least 1s", false},
		{"ttl 999ms", mod(func(c *in) { c.ttl = 999 * time.Millisecond }), "at least 1s", false},
		{"fractional ttl", mod(func(c *in) { c.ttl = 1500 * time.Millisecond }), "whole number of seconds", false},
		{"ttl above MaxTTL", mod(func(c *in) { c.ttl = MaxTTL + time.Second }), "at most", false},
		{"zero now", mod(func(c *in) { c.now = time.Time{} }), "after 1970", false},
		{"now at epoch", mod(func(c *in) { c.now = time.Unix(0, 0) }), "after 1970", false},
		{"now+ttl beyond uint32", mod(func(c *in) { c.now = time.Unix(math.MaxUint32-3599, 0) }), "32-bit", false},
		{"room 0", mod(func(c *in) { c.room = NumericRoom(0) }), "no room ID", true},
		{"empty string room", mod(func(c *in) { c.room = StringRoom("") }), "no room ID", true},
		{"room 0xFFFFFFFF", mod(func(c *in) { c.room = NumericRoom(math.MaxUint32) }), "1..4294967294", true},
		{"both room kinds", mod(func(c *in) { c.room = Room{ID: 1, Str: "a"} }), "not both", true},
		{"65-byte string room", mod(func(c *in) { c.room = StringRoom(strings.Repeat("r", 65)) }), "at most 64", true},
		{"string room with slash", mod(func(c *in) { c.room = StringRoom("a/b") }), "at byte 1", true},
		{"string room with quote", mod(func(c *in) { c.room = StringRoom(`a"b`) }), "at byte 1", true},
		{"string room with star", mod(func(c *in) { c.room = StringRoom("a*") }), "at byte 1", true},
		{"string room with backslash", mod(func(c *in) { c.room = StringRoom(`a\`) }), "at byte 1", true},
		{"string room with backtick", mod(func(c *in) { c.room = StringRoom("a`") }), "at byte 1", true},
		{"string room with apostrophe", mod(func(c *in) { c.room = StringRoom("a'") }), "at byte 1", true},
		{"string room with tab", mod(func(c *in) { c.room = StringRoom("a\tb") }), "at byte 1", true},
		{"non-ASCII string room", mod(func(c *in) { c.room = StringRoom("房间") }), "at byte 0", true},
		{"privileges 256", mod(func(c *in) { c.priv = 256 }), "0..255", true},
		{"privileges 200|256", mod(func(c *in) { c.priv = 0x1c8 }), "0..255", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pmk, err := s.PrivateMapKey(tc.in.uid, tc.in.ttl, tc.in.now, tc.in.room, tc.in.priv)
			if !errors.Is(err, ErrInvalidInput) || pmk != "" {
				t.Fatalf("PrivateMapKey = %q, %v; want ErrInvalidInput", pmk, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
			sig, err := s.UserSig(tc.in.uid, tc.in.ttl, tc.in.now)
			if tc.pmkOnly {
				if err != nil || sig == "" {
					t.Fatalf("UserSig = %q, %v; want a ticket", sig, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidInput) || sig != "" {
				t.Fatalf("UserSig = %q, %v; want ErrInvalidInput", sig, err)
			}
		})
	}
}

// TestSignBoundaries signs the edges of every accepted range and verifies the
// result.
func TestSignBoundaries(t *testing.T) {
	allowed := " !#$%&()+-:;<=.>?@[]^_{}|~,"
	cases := []struct {
		name string
		uid  string
		ttl  time.Duration
		now  time.Time
		room Room
		priv Privileges
	}{
		{"1s ttl", "a", time.Second, testNow, NumericRoom(1), 0},
		{"MaxTTL", "abcdefghijklmnopqrstuvwxyz012345", MaxTTL, testNow, NumericRoom(MaxRoomID), PrivAll},
		{"now+ttl = 2^32-1", "A-_z9", time.Hour, time.Unix(math.MaxUint32-3600, 0), StringRoom(strings.Repeat("R", 64)), 1},
		{"now after 2^31", "u", time.Minute, time.Unix(1<<31+5, 0), StringRoom(allowed), 128},
		{"sub-second now truncated", "u", time.Minute, time.Unix(1700000000, 999999999), StringRoom("x"), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(1400000000, testKey)
			if err != nil {
				t.Fatal(err)
			}
			exp := tc.now.Unix() + int64(tc.ttl/time.Second)
			us, err := s.UserSig(tc.uid, tc.ttl, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			tk, err := Verify(us, []string{testKey}, Expect{SDKAppID: 1400000000, UserID: tc.uid, Now: time.Unix(exp, 0)})
			if err != nil || tk.Time != tc.now.Unix() {
				t.Fatalf("Verify UserSig = %+v, %v", tk, err)
			}
			pmk, err := s.PrivateMapKey(tc.uid, tc.ttl, tc.now, tc.room, tc.priv)
			if err != nil {
				t.Fatal(err)
			}
			tk, err = Verify(pmk, []string{testKey}, Expect{SDKAppID: 1400000000, UserID: tc.uid, Now: time.Unix(exp, 0),
				PrivateMapKey: true, Room: &tc.room, Privileges: &tc.priv})
			if err != nil {
				t.Fatalf("Verify PMK: %v", err)
			}
			if int64(tk.PrivateMap.ExpiresAt) != exp || tk.Time+tk.Expire != exp {
				t.Fatalf("expiry: userbuf %d, ticket %d, want %d", tk.PrivateMap.ExpiresAt, tk.Time+tk.Expire, exp)
			}
		})
	}
}

func TestConvenienceFunctions(t *testing.T) {
	v := loadVectors(t)
	got, err := UserSig(v[0].App, v[0].Key, v[0].UID, v[0].ttl(), v[0].now())
	if err != nil || got != goV1 {
		t.Fatalf("UserSig = %q, %v", got, err)
	}
	got, err = PrivateMapKey(v[3].App, v[3].Key, v[3].UID, v[3].ttl(), v[3].now(), v[3].room(t), Privileges(v[3].Priv))
	if err != nil || got != goV4 {
		t.Fatalf("PrivateMapKey = %q, %v", got, err)
	}
	if _, err := UserSig(0, "k", "u", time.Hour, testNow); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("UserSig(app 0) = %v", err)
	}
	if _, err := PrivateMapKey(1, "", "u", time.Hour, testNow, NumericRoom(1), 1); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("PrivateMapKey(empty key) = %v", err)
	}
}

// TestSignerNeverPrintsKey: formatting a Signer in any verb hides the key.
func TestSignerNeverPrintsKey(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, s)
		if got != "usersig.Signer{SDKAppID: 1400000000}" {
			t.Errorf("%s: %q", verb, got)
		}
	}
}

// TestConcurrentSigning signs from many goroutines with one Signer; every
// result must equal the sequential one (run with -race).
func TestConcurrentSigning(t *testing.T) {
	vs := loadVectors(t)
	s, err := NewSigner(vs[0].App, vs[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var got, want string
				var err error
				if (g+i)%2 == 0 {
					got, err = s.UserSig(vs[0].UID, vs[0].ttl(), vs[0].now())
					want = goV1
				} else {
					got, err = s.PrivateMapKey(vs[3].UID, vs[3].ttl(), vs[3].now(), NumericRoom(10000), PrivAll)
					want = goV4
				}
				if err != nil || got != want {
					errs <- fmt.Errorf("goroutine %d iteration %d: %v, mismatch %v", g, i, err, got != want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPrivilegesString(t *testing.T) {
	cases := []struct {
		p    Privileges
		want string
	}{
		{0, "0 (none)"},
		{42, "42 (enterRoom|recvAudio|recvVideo)"},
		{PrivAll, "255 (createRoom|enterRoom|sendAudio|recvAudio|sendVideo|recvVideo|sendSubVideo|recvSubVideo)"},
		{PresetScreenShare, "192 (sendSubVideo|recvSubVideo)"},
		{256, "256 (invalid)"},
	}
	for _, tc := range cases {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%d: %q, want %q", uint32(tc.p), got, tc.want)
		}
	}
}

func TestPresets(t *testing.T) {
	cases := []struct {
		name string
		got  Privileges
		want uint32
	}{
		{"PresetAudioCaller", PresetAudioCaller, 15},
		{"PresetVideoCaller", PresetVideoCaller, 63},
		{"PresetAudioInvitee", PresetAudioInvitee, 14},
		{"PresetVideoInvitee", PresetVideoInvitee, 62},
		{"PresetScreenShare", PresetScreenShare, 192},
		{"PrivAll", PrivAll, 255},
	}
	for _, tc := range cases {
		if uint32(tc.got) != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestRoomString(t *testing.T) {
	if got := NumericRoom(123).String(); got != "123" {
		t.Errorf("numeric: %q", got)
	}
	if got := StringRoom("123").String(); got != `"123"` {
		t.Errorf("string: %q", got)
	}
	if NumericRoom(123) == StringRoom("123") {
		t.Error("numeric room 123 equals string room \"123\"")
	}
}
