package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/usersig"
)

const (
	testAppID = 1400000000
	testKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	otherKey  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testStage = "prod"
)

// t0 is the fixed test clock's start.
var t0 = testclock.Epoch()

// clock is an injectable, adjustable clock.
type clock = testclock.Clock

// mutableSecret is a secret.Source whose value can be swapped (rotation).
type mutableSecret struct {
	mu  sync.Mutex
	sec secret.Secret
	err error
}

func (m *mutableSecret) Load(context.Context) (secret.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sec, m.err
}

func (m *mutableSecret) Set(s secret.Secret) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sec = s
}

// fixture is a Service over real collaborators: the dev verifier, the
// memory limiter, a secret source and a fixed clock.
type fixture struct {
	svc    *service.Service
	clock  *clock
	secret *mutableSecret
}

func newFixture(t *testing.T, mutate func(*service.Options)) *fixture {
	t.Helper()
	dev, err := identity.NewDev(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.New(t0)
	src := &mutableSecret{sec: secret.Secret{SDKAppID: testAppID, SecretKey: testKey}}
	opts := service.Options{
		Verifier: dev,
		Limiter:  ratelimit.NewMemory(ratelimit.MemoryOptions{Now: c.Now}),
		Secrets:  src,
		Stage:    testStage,
		Now:      c.Now,
		Calls:    callrecord.NewMemory(callrecord.MemoryOptions{Now: c.Now}),
	}
	if mutate != nil {
		mutate(&opts)
	}
	svc, err := service.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, clock: c, secret: src}
}

func user(id string) identity.Credentials {
	return identity.Credentials{DevUser: id, ClientIP: "127.0.0.1"}
}

// wantCode asserts that err is a *service.Error with code.
func wantCode(t *testing.T, err error, code string) *service.Error {
	t.Helper()
	var e *service.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *service.Error", err)
	}
	if e.Code != code {
		t.Fatalf("code = %q (%v), want %q", e.Code, err, code)
	}
	return e
}

func TestNewValidation(t *testing.T) {
	dev, _ := identity.NewDev(func(string) string { return "" })
	base := func() service.Options {
		return service.Options{
			Verifier: dev,
			Limiter:  ratelimit.NewMemory(ratelimit.MemoryOptions{}),
			Secrets:  secret.Static(secret.Secret{SDKAppID: testAppID, SecretKey: testKey}),
			Stage:    testStage,
			Calls:    callrecord.NewMemory(callrecord.MemoryOptions{}),
		}
	}
	tests := []struct {
		name   string
		mutate func(*service.Options)
		want   string // substring of the error; "" means success
	}{
		{"defaults", func(*service.Options) {}, ""},
		{"no verifier", func(o *service.Options) { o.Verifier = nil }, "Verifier"},
		{"no limiter", func(o *service.Options) { o.Limiter = nil }, "Limiter"},
		{"no secrets", func(o *service.Options) { o.Secrets = nil }, "secret Source"},
		{"no stage", func(o *service.Options) { o.Stage = "" }, "service: a Stage is required"},
		{"no call store", func(o *service.Options) { o.Calls = nil }, "call-record Store"},
		{"wechat without deriver", func(o *service.Options) { o.Wechat = fakeWechat{} }, "Deriver"},
		{"bad room type", func(o *service.Options) { o.RoomType = "uuid" }, "RoomType"},
		{"numeric room type", func(o *service.Options) { o.RoomType = service.RoomTypeNumeric }, ""},
		{"fractional ttl", func(o *service.Options) { o.PrivateMapKeyTTL = 1500 * time.Millisecond }, "PrivateMapKeyTTL"},
		{"negative ttl", func(o *service.Options) { o.InviteTTL = -time.Second }, "InviteTTL"},
		{"ttl above signing max", func(o *service.Options) { o.SessionTTL = usersig.MaxTTL + time.Second }, "SessionTTL"},
		{"usersig ttl below min", func(o *service.Options) { o.UserSigTTL = 59 * time.Second }, "minimum"},
		{"usersig ttl above max", func(o *service.Options) { o.UserSigTTL = 200 * time.Hour }, "exceeds UserSigMaxTTL"},
		{"too many invitees", func(o *service.Options) { o.MaxInvitees = 33 }, "MaxInvitees"},
		{"negative invitees", func(o *service.Options) { o.MaxInvitees = -1 }, "MaxInvitees"},
		{"leeway too large", func(o *service.Options) { o.TokenLeeway = 6 * time.Minute }, "TokenLeeway"},
		{"bad policy", func(o *service.Options) {
			o.Policies = ratelimit.Policies{ratelimit.OpUserSig: {Rate: 0, Period: time.Minute, Burst: 1}}
		}, "policies"},
		{"unknown policy op", func(o *service.Options) {
			o.Policies = ratelimit.Policies{"nope": {Rate: 1, Period: time.Minute, Burst: 1}}
		}, "policies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.mutate(&o)
			_, err := service.New(o)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("New error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestIssueUserSigTTL(t *testing.T) {
	ptr := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		req     *int64
		wantTTL int64
		code    string
	}{
		{"default", nil, 86400, ""},
		{"requested", ptr(3600), 3600, ""},
		{"minimum", ptr(60), 60, ""},
		{"below minimum", ptr(59), 0, service.CodeInvalidRequest},
		{"zero", ptr(0), 0, service.CodeInvalidRequest},
		{"negative", ptr(-5), 0, service.CodeInvalidRequest},
		{"at max", ptr(604800), 604800, ""},
		{"clamped", ptr(604801), 604800, ""},
		{"huge clamped", ptr(1 << 62), 604800, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			resp, err := f.svc.IssueUserSig(context.Background(), user("alice"), service.UserSigRequest{TTLSeconds: tt.req})
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.TTLSeconds != tt.wantTTL {
				t.Fatalf("ttlSeconds = %d, want %d", resp.TTLSeconds, tt.wantTTL)
			}
			wantExp := t0.Add(time.Duration(tt.wantTTL) * time.Second)
			if !resp.ExpiresAt.Equal(wantExp) || resp.ExpiresAt.Location() != time.UTC {
				t.Fatalf("expiresAt = %v, want %v UTC", resp.ExpiresAt, wantExp)
			}
			wantRefresh := t0.Add(time.Duration(tt.wantTTL*4/5) * time.Second)
			if !resp.RefreshAfter.Equal(wantRefresh) {
				t.Fatalf("refreshAfter = %v, want %v", resp.RefreshAfter, wantRefresh)
			}
			if !resp.ServerTime.Equal(t0) || resp.ServerTime.Location() != time.UTC {
				t.Fatalf("serverTime = %v, want %v UTC", resp.ServerTime, t0)
			}
			if resp.UserID != "alice" || resp.SDKAppID != testAppID {
				t.Fatalf("userID/sdkAppID = %q/%d", resp.UserID, resp.SDKAppID)
			}
			tk, err := usersig.Verify(resp.UserSig, []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "alice", Now: t0})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tk.Expire != tt.wantTTL || tk.Time != t0.Unix() {
				t.Fatalf("ticket time/expire = %d/%d", tk.Time, tk.Expire)
			}
		})
	}
}

func TestPrivileges(t *testing.T) {
	tests := []struct {
		name        string
		typ         service.CallType
		screenShare bool
		caller      uint32
		invitee     uint32
	}{
		{"audio", service.CallAudio, false, 15, 14},
		{"video", service.CallVideo, false, 63, 62},
		{"audio+screen", service.CallAudio, true, 15 | 192, 14 | 192},
		{"video+screen", service.CallVideo, true, 255, 254},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *service.Options) { o.ScreenShare = tt.screenShare })
			ctx := context.Background()
			c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: tt.typ, UserIDList: []string{"bob"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Privileges != tt.caller {
				t.Fatalf("caller privileges = %d, want %d", c.Privileges, tt.caller)
			}
			j, err := f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken})
			if err != nil {
				t.Fatal(err)
			}
			if j.Privileges != tt.invitee {
				t.Fatalf("invitee privileges = %d, want %d", j.Privileges, tt.invitee)
			}
			// The caller may re-join and gets the caller's privileges again.
			r, err := f.svc.JoinCall(ctx, user("alice"), service.JoinCallRequest{CallToken: c.CallToken})
			if err != nil {
				t.Fatal(err)
			}
			if r.Privileges != tt.caller || r.RoomID != c.RoomID || r.CallID != c.CallID {
				t.Fatalf("caller re-join = %+v", r)
			}
		})
	}
}

func TestCreateCallValidation(t *testing.T) {
	many := make([]string, 9)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	tests := []struct {
		name string
		in   service.CreateCallRequest
		msg  string
	}{
		{"no type", service.CreateCallRequest{UserIDList: []string{"bob"}}, `type is required ("audio" or "video")`},
		{"bad type", service.CreateCallRequest{Type: "fax", UserIDList: []string{"bob"}}, `type must be "audio", "video", 1 (audio) or 2 (video)`},
		{"no invitees", service.CreateCallRequest{Type: service.CallVideo}, "userIDList must name at least one invitee"},
		{"too many", service.CreateCallRequest{Type: service.CallVideo, UserIDList: many}, "userIDList may name at most 8 invitees"},
		{"invalid id", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "bad id"}}, "userIDList[1] is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)"},
		{"too long id", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{strings.Repeat("a", 33)}}, "userIDList[0] is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)"},
		{"self", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "alice"}}, "userIDList[1] is the caller; a user cannot invite themself"},
		{"duplicate", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "carol", "bob"}}, "userIDList[2] is a duplicate"},
		{"bad group", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}, GroupID: "g/1"}, "groupID must be 1-48 characters of A-Z a-z 0-9 _ - @ #"},
		{"long group", service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}, GroupID: strings.Repeat("g", 49)}, "groupID must be 1-48 characters of A-Z a-z 0-9 _ - @ #"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, err := f.svc.CreateCall(context.Background(), user("alice"), tt.in)
			e := wantCode(t, err, service.CodeInvalidRequest)
			if e.Message != tt.msg {
				t.Fatalf("message = %q, want %q", e.Message, tt.msg)
			}
		})
	}
	// Valid edge cases.
	f := newFixture(t, nil)
	for _, in := range []service.CreateCallRequest{
		{Type: service.CallAudio, UserIDList: many[:8]},
		{Type: service.CallVideo, UserIDList: []string{"bob"}, GroupID: "@TGS#2C5SZEAEF"},
		{Type: service.CallVideo, UserIDList: []string{strings.Repeat("b", 32)}, GroupID: strings.Repeat("g", 48)},
	} {
		if _, err := f.svc.CreateCall(context.Background(), user("alice"), in); err != nil {
			t.Fatalf("CreateCall(%+v): %v", in, err)
		}
	}
}

// seqReader yields its bytes once, then fails.
type seqReader struct{ b []byte }

func (r *seqReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, errors.New("exhausted")
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestRoomAllocation(t *testing.T) {
	callBytes := bytes.Repeat([]byte{0xAB}, 16)
	tests := []struct {
		name     string
		roomType string
		random   []byte
		want     service.RoomID
		code     string
	}{
		{"string", service.RoomTypeString, append(append([]byte{}, callBytes...), bytes.Repeat([]byte{0xFB}, 16)...),
			service.RoomID{Str: "c_-_v7-_v7-_v7-_v7-_v7-w"}, ""},
		{"numeric first draw", service.RoomTypeNumeric, append(append([]byte{}, callBytes...), 0, 0, 0x27, 0x10), service.RoomID{Num: 10000}, ""},
		{"numeric rejects 0", service.RoomTypeNumeric, append(append([]byte{}, callBytes...), 0, 0, 0, 0, 0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF), service.RoomID{Num: 2147483647}, ""},
		{"numeric drops the top bit", service.RoomTypeNumeric, append(append([]byte{}, callBytes...), 0xFF, 0xFF, 0xFF, 0xFF), service.RoomID{Num: 2147483647}, ""},
		{"numeric min", service.RoomTypeNumeric, append(append([]byte{}, callBytes...), 0, 0, 0, 1), service.RoomID{Num: 1}, ""},
		{"broken randomness", service.RoomTypeNumeric, append(append([]byte{}, callBytes...), bytes.Repeat([]byte{0}, 64)...), service.RoomID{}, service.CodeInternal},
		{"short randomness", service.RoomTypeString, callBytes[:10], service.RoomID{}, service.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *service.Options) {
				o.RoomType = tt.roomType
				o.Rand = &seqReader{b: tt.random}
			})
			resp, err := f.svc.CreateCall(context.Background(), user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}})
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.RoomID != tt.want {
				t.Fatalf("room = %+v, want %+v", resp.RoomID, tt.want)
			}
			if resp.CallID != "c_q6urq6urq6urq6urq6urqw" {
				t.Fatalf("callID = %q", resp.CallID)
			}
		})
	}
}

func TestStringRoomsAreDistinctAndValid(t *testing.T) {
	f := newFixture(t, func(o *service.Options) {
		o.Policies = ratelimit.Policies{ratelimit.OpCallCreate: {Rate: 1000, Period: time.Second, Burst: 1000}}
	})
	seen := make(map[string]bool)
	for range 200 {
		resp, err := f.svc.CreateCall(context.Background(), user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"bob"}})
		if err != nil {
			t.Fatal(err)
		}
		s := resp.RoomID.Str
		if len(s) != 24 || !strings.HasPrefix(s, "c_") || resp.RoomID.Num != 0 {
			t.Fatalf("room %q has the wrong shape", s)
		}
		if err := usersig.StringRoom(s).Validate(); err != nil {
			t.Fatalf("room %q: %v", s, err)
		}
		if seen[s] || seen[resp.CallID] {
			t.Fatalf("duplicate ID")
		}
		seen[s], seen[resp.CallID] = true, true
	}
}

func TestJoinCallTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *service.Options) {
		o.Policies = ratelimit.Policies{ratelimit.OpCallJoin: {Rate: 100, Period: time.Minute, Burst: 100}}
	})
	c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "carol"}, GroupID: "grp1"})
	if err != nil {
		t.Fatal(err)
	}
	keys := token.KeysFor(testStage, "", testKey, "")

	// A session token is a valid JWT under the same keys but for another
	// audience: it must never stand in for a call token.
	sess, _, err := identity.MintSession(keys, "bob", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// An expired session token: jwt/v5 reports its expiry together with the
	// wrong audience, and the wrong audience must decide (401, not 410).
	expiredSess, _, err := identity.MintSession(keys, "bob", t0.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(mut func(*jwt.MapClaims)) string {
		claims := jwt.MapClaims{
			"iss": token.Issuer, "aud": token.AudienceCall, "sub": "alice", "jti": c.CallID,
			"iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix(),
			"room": map[string]any{"str": c.RoomID.Str}, "inv": []string{"bob"}, "ctype": "video", "app": testAppID,
		}
		mut(&claims)
		s, err := token.Sign(keys, claims)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tampered := []byte(c.CallToken)
	tampered[len(tampered)-3] ^= 1

	tests := []struct {
		name  string
		joiny string
		tok   string
		code  string
		msg   string
	}{
		{"empty", "bob", "", service.CodeInvalidRequest, "callToken is required"},
		{"garbage", "bob", "not.a.token", service.CodeUnauthenticated, "invalid call token"},
		{"tampered", "bob", string(tampered), service.CodeUnauthenticated, "invalid call token"},
		{"session token", "bob", sess, service.CodeUnauthenticated, "invalid call token"},
		{"expired session token", "bob", expiredSess, service.CodeUnauthenticated, "invalid call token"},
		{"expired with wrong audience", "bob", forged(func(m *jwt.MapClaims) {
			(*m)["aud"] = "someone-else"
			(*m)["iat"] = t0.Add(-time.Hour).Unix()
			(*m)["exp"] = t0.Add(-time.Minute).Unix()
		}), service.CodeUnauthenticated, "invalid call token"},
		{"expired with wrong issuer", "bob", forged(func(m *jwt.MapClaims) {
			(*m)["iss"] = "someone-else"
			(*m)["iat"] = t0.Add(-time.Hour).Unix()
			(*m)["exp"] = t0.Add(-time.Minute).Unix()
		}), service.CodeUnauthenticated, "invalid call token"},
		{"expired call token", "bob", forged(func(m *jwt.MapClaims) {
			(*m)["iat"] = t0.Add(-time.Hour).Unix()
			(*m)["exp"] = t0.Add(-time.Minute).Unix()
		}), service.CodeExpired, "call token expired"},
		{"other app", "bob", forged(func(m *jwt.MapClaims) { (*m)["app"] = 1600000001 }), service.CodeUnauthenticated, "invalid call token"},
		{"bad room", "bob", forged(func(m *jwt.MapClaims) { (*m)["room"] = map[string]any{"str": "a/b"} }), service.CodeUnauthenticated, "invalid call token"},
		{"bad type", "bob", forged(func(m *jwt.MapClaims) { (*m)["ctype"] = "fax" }), service.CodeUnauthenticated, "invalid call token"},
		{"bad call id", "bob", forged(func(m *jwt.MapClaims) { (*m)["jti"] = "x" }), service.CodeUnauthenticated, "invalid call token"},
		{"bad invitee", "bob", forged(func(m *jwt.MapClaims) { (*m)["inv"] = []string{"bob", "b b"} }), service.CodeUnauthenticated, "invalid call token"},
		{"no invitees", "bob", forged(func(m *jwt.MapClaims) { (*m)["inv"] = []string{} }), service.CodeUnauthenticated, "invalid call token"},
		{"bad caller", "bob", forged(func(m *jwt.MapClaims) { (*m)["sub"] = "" }), service.CodeUnauthenticated, "invalid call token"},
		{"not invited", "dave", c.CallToken, service.CodeNotInvited, "you are not invited to this call"},
		{"forged but valid", "bob", forged(func(*jwt.MapClaims) {}), "", ""},
		{"invitee", "carol", c.CallToken, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := f.svc.JoinCall(ctx, user(tt.joiny), service.JoinCallRequest{CallToken: tt.tok})
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if j.CallID != c.CallID || j.RoomID != c.RoomID || j.Privileges != 62 {
					t.Fatalf("join = %+v", j)
				}
				return
			}
			e := wantCode(t, err, tt.code)
			if e.Message != tt.msg {
				t.Fatalf("message = %q, want %q", e.Message, tt.msg)
			}
			if strings.Contains(e.Error(), tt.tok) && tt.tok != "" {
				t.Fatal("error text contains the token")
			}
		})
	}

	// Expiry (JWT "exp" semantics): valid one second before
	// inviteExpiresAt, expired from inviteExpiresAt on for an invitee who
	// has not joined (one who joined may renew: TestPrivateMapKeyRenewal).
	c2, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "dave"}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(119 * time.Second)
	if _, err := f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c2.CallToken}); err != nil {
		t.Fatalf("join before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	_, err = f.svc.JoinCall(ctx, user("dave"), service.JoinCallRequest{CallToken: c2.CallToken})
	if e := wantCode(t, err, service.CodeExpired); e.Message != "call token expired" || e.Status() != 410 {
		t.Fatalf("expired: %+v", e)
	}
}

func TestSecretRotation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	// Rotate: new key, old one kept as previous.
	f.secret.Set(secret.Secret{SDKAppID: testAppID, SecretKey: otherKey, PreviousSecretKey: testKey})
	resp, err := f.svc.IssueUserSig(ctx, user("alice"), service.UserSigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := usersig.Verify(resp.UserSig, []string{otherKey}, usersig.Expect{SDKAppID: testAppID, UserID: "alice", Now: t0}); err != nil {
		t.Fatalf("UserSig not signed with the new key: %v", err)
	}
	// A call token minted before the rotation still verifies.
	j, err := f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken})
	if err != nil {
		t.Fatalf("join after rotation: %v", err)
	}
	if _, err := usersig.Verify(j.PrivateMapKey, []string{otherKey}, usersig.Expect{SDKAppID: testAppID, UserID: "bob", Now: t0, PrivateMapKey: true}); err != nil {
		t.Fatalf("PMK not signed with the new key: %v", err)
	}
	// Once the previous key is dropped, old tokens stop verifying.
	f.secret.Set(secret.Secret{SDKAppID: testAppID, SecretKey: otherKey})
	_, err = f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken})
	wantCode(t, err, service.CodeUnauthenticated)
}

// stubVerifier returns a fixed error.
type stubVerifier struct{ err error }

func (s stubVerifier) Verify(context.Context, identity.Credentials) (identity.Identity, error) {
	if s.err != nil {
		return identity.Identity{}, s.err
	}
	return identity.Identity{UserID: "bad id!", Provider: "stub"}, nil
}

func TestIdentityErrorMapping(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  string
		msg   string
		retry int
	}{
		{"no credentials", fmt.Errorf("x: %w", identity.ErrNoCredentials), service.CodeUnauthenticated, "authentication required", 0},
		{"unauthenticated", fmt.Errorf("x: %w", identity.ErrUnauthenticated), service.CodeUnauthenticated, "invalid credentials", 0},
		{"expired", fmt.Errorf("x: %w", identity.ErrExpiredCredentials), service.CodeUnauthenticated, "credentials expired", 0},
		{"forbidden", identity.ErrUnmappableSubject, service.CodeForbidden, "this identity may not use callsign", 0},
		{"upstream rate", fmt.Errorf("x: %w", identity.ErrRateLimited), service.CodeRateLimited, "identity provider rate limit reached; retry later", 60},
		{"upstream down", fmt.Errorf("x: %w", identity.ErrUnavailable), service.CodeUnavailable, "identity provider unavailable; retry later", 0},
		{"key source down", fmt.Errorf("x: %w", secret.ErrUnavailable), service.CodeUnavailable, "identity provider unavailable; retry later", 0},
		{"misconfigured", fmt.Errorf("x: %w", identity.ErrMisconfigured), service.CodeInternal, "internal error", 0},
		{"unknown", errors.New("boom"), service.CodeInternal, "internal error", 0},
		{"invalid identity", nil, service.CodeInternal, "internal error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *service.Options) { o.Verifier = stubVerifier{err: tt.err} })
			_, err := f.svc.IssueUserSig(context.Background(), user("alice"), service.UserSigRequest{})
			e := wantCode(t, err, tt.code)
			if e.Message != tt.msg || e.RetryAfterSeconds() != tt.retry {
				t.Fatalf("error = %+v, want message %q retry %d", e, tt.msg, tt.retry)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatal("cause not kept for errors.Is")
			}
		})
	}
}

func TestAuthFailureLimit(t *testing.T) {
	f := newFixture(t, func(o *service.Options) {
		o.Policies = ratelimit.Policies{ratelimit.OpAuthFail: {Rate: 3, Period: time.Minute, Burst: 3}}
	})
	ctx := context.Background()
	bad := identity.Credentials{DevUser: "not valid!", ClientIP: "192.0.2.1"}
	for range 3 {
		_, err := f.svc.IssueUserSig(ctx, bad, service.UserSigRequest{})
		wantCode(t, err, service.CodeUnauthenticated)
	}
	_, err := f.svc.IssueUserSig(ctx, bad, service.UserSigRequest{})
	e := wantCode(t, err, service.CodeRateLimited)
	if e.Message != "too many failed authentication attempts; retry later" || e.RetryAfter != 20*time.Second || e.Limit == nil || e.Limit.Limit != 3 {
		t.Fatalf("error = %+v", e)
	}
	// Another address is unaffected, and a valid identity from the limited
	// address is still served.
	_, err = f.svc.IssueUserSig(ctx, identity.Credentials{DevUser: "not valid!", ClientIP: "192.0.2.2"}, service.UserSigRequest{})
	wantCode(t, err, service.CodeUnauthenticated)
	if _, err := f.svc.IssueUserSig(ctx, identity.Credentials{DevUser: "alice", ClientIP: "192.0.2.1"}, service.UserSigRequest{}); err != nil {
		t.Fatal(err)
	}
}

// downLimiterStore is a shared rate-limit store that is down.
type downLimiterStore struct{}

func (downLimiterStore) Allow(context.Context, string, ratelimit.Policy) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// TestClosedLimiterOutageLogsThrottled: with the store down and
// CALLSIGN_LIMITER_FAILURE=closed, 20 refused requests and 5 failed
// authentications write one ERROR line (the limiter's, with the count), not
// one per request.
func TestClosedLimiterOutageLogsThrottled(t *testing.T) {
	var logs testlog.Buffer
	log := logs.JSONLogger()
	limClock := testclock.New(t0)
	lim := ratelimit.NewResilient(downLimiterStore{}, ratelimit.ResilientOptions{
		Mode: ratelimit.FailClosed, Logger: log, Now: limClock.Now})
	f := newFixture(t, func(o *service.Options) {
		o.Logger = log
		o.Limiter = lim
	})
	ctx := context.Background()
	for range 20 {
		_, err := f.svc.IssueUserSig(ctx, user("alice"), service.UserSigRequest{})
		wantCode(t, err, service.CodeUnavailable)
		f.clock.Advance(time.Second)
		limClock.Advance(time.Second)
	}
	for range 5 {
		_, err := f.svc.IssueUserSig(ctx, identity.Credentials{DevUser: "not valid!", ClientIP: "192.0.2.1"}, service.UserSigRequest{})
		wantCode(t, err, service.CodeUnauthenticated)
	}
	var errorLines []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], `"msg":"rate-limit store failed","failure_mode":"closed"`) ||
		!strings.Contains(errorLines[0], `"fallbacks":1,"fallbacks_total":1`) {
		t.Fatalf("ERROR lines = %q, want the limiter's one throttled line", errorLines)
	}
	if got := lim.Stats().Fallbacks; got != 25 {
		t.Fatalf("%d fallbacks counted, want 25", got)
	}
}

// countingWechat counts code2Session calls.
type countingWechat struct {
	mu    sync.Mutex
	calls int
	inner fakeWechat
}

func (w *countingWechat) Code2Session(ctx context.Context, code string) (identity.WechatSession, error) {
	w.mu.Lock()
	w.calls++
	w.mu.Unlock()
	return w.inner.Code2Session(ctx, code)
}

func (w *countingWechat) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// TestSessionFloodSparesWechat: once an address has exhausted its
// failed-authentication budget, its session requests are refused before
// code2Session is called, until the limiter would allow it again.
func TestSessionFloodSparesWechat(t *testing.T) {
	d, err := identity.NewDeriver(identity.ModeRaw, "wx_")
	if err != nil {
		t.Fatal(err)
	}
	wx := &countingWechat{inner: fakeWechat{"good": "oAbC123"}}
	f := newFixture(t, func(o *service.Options) {
		o.Wechat = wx
		o.Deriver = d
		o.Policies = ratelimit.Policies{ratelimit.OpAuthFail: {Rate: 2, Period: time.Minute, Burst: 2}}
	})
	ctx := context.Background()
	for range 2 {
		_, err := f.svc.StartSession(ctx, "198.51.100.7", service.StartSessionRequest{Code: "junk"})
		wantCode(t, err, service.CodeUnauthenticated)
	}
	_, err = f.svc.StartSession(ctx, "198.51.100.7", service.StartSessionRequest{Code: "junk"})
	e := wantCode(t, err, service.CodeRateLimited)
	if e.RetryAfter != 30*time.Second {
		t.Fatalf("RetryAfter = %v, want 30s", e.RetryAfter)
	}
	if wx.count() != 3 {
		t.Fatalf("code2Session calls = %d, want 3", wx.count())
	}
	// Blocked: even a good code is refused without calling WeChat.
	f.clock.Advance(29 * time.Second)
	_, err = f.svc.StartSession(ctx, "198.51.100.7", service.StartSessionRequest{Code: "good"})
	e = wantCode(t, err, service.CodeRateLimited)
	if e.RetryAfter != time.Second || wx.count() != 3 {
		t.Fatalf("blocked request: RetryAfter %v, calls %d; want 1s, 3", e.RetryAfter, wx.count())
	}
	// Another address is unaffected.
	if _, err := f.svc.StartSession(ctx, "198.51.100.8", service.StartSessionRequest{Code: "good"}); err != nil {
		t.Fatal(err)
	}
	// When the limiter would allow again, so does the block list.
	f.clock.Advance(time.Second)
	if _, err := f.svc.StartSession(ctx, "198.51.100.7", service.StartSessionRequest{Code: "good"}); err != nil {
		t.Fatal(err)
	}
	if wx.count() != 5 {
		t.Fatalf("code2Session calls = %d, want 5", wx.count())
	}
}

// TestFailuresWithoutClientAddress: requests whose platform reports no
// client address (a Web function behind SCF's proxy) share no failure
// budget, so one client's failures never lock out another user: neither
// token checks nor session exchanges are answered 429, and a good code is
// exchanged after any number of junk ones.
func TestFailuresWithoutClientAddress(t *testing.T) {
	d, err := identity.NewDeriver(identity.ModeRaw, "wx_")
	if err != nil {
		t.Fatal(err)
	}
	wx := &countingWechat{inner: fakeWechat{"good": "oAbC123"}}
	f := newFixture(t, func(o *service.Options) {
		o.Wechat = wx
		o.Deriver = d
		o.Policies = ratelimit.Policies{ratelimit.OpAuthFail: {Rate: 2, Period: time.Minute, Burst: 2}}
	})
	ctx := context.Background()
	for range 5 {
		_, err := f.svc.IssueUserSig(ctx, identity.Credentials{DevUser: "not valid!"}, service.UserSigRequest{})
		wantCode(t, err, service.CodeUnauthenticated)
		_, err = f.svc.StartSession(ctx, "", service.StartSessionRequest{Code: "junk"})
		wantCode(t, err, service.CodeUnauthenticated)
	}
	resp, err := f.svc.StartSession(ctx, "", service.StartSessionRequest{Code: "good"})
	if err != nil {
		t.Fatalf("another user's good code after 5 failures: %v", err)
	}
	if resp.UserID != "wx_oAbC123" || wx.count() != 6 {
		t.Fatalf("userID %q, code2Session calls %d; want wx_oAbC123, 6", resp.UserID, wx.count())
	}
	if _, err := f.svc.IssueUserSig(ctx, identity.Credentials{DevUser: "alice"}, service.UserSigRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestTrace(t *testing.T) {
	f := newFixture(t, nil)
	var tr service.Trace
	ctx := service.WithTrace(context.Background(), &tr)
	if _, err := f.svc.IssueUserSig(ctx, user("alice"), service.UserSigRequest{}); err != nil {
		t.Fatal(err)
	}
	if tr.UserID != "alice" || tr.Provider != identity.ProviderDev || tr.Limit == nil || tr.Limit.Limit != 10 || tr.Limit.Remaining != 9 {
		t.Fatalf("trace = %+v (limit %+v)", tr, tr.Limit)
	}
}

// fakeWechat maps codes to OpenIDs.
type fakeWechat map[string]string

func (w fakeWechat) Code2Session(_ context.Context, code string) (identity.WechatSession, error) {
	if code == "busy" {
		return identity.WechatSession{}, fmt.Errorf("wechat: %w", identity.ErrUnavailable)
	}
	id, ok := w[code]
	if !ok {
		return identity.WechatSession{}, fmt.Errorf("wechat: %w", identity.ErrUnauthenticated)
	}
	return identity.WechatSession{OpenID: id}, nil
}

func TestStartSession(t *testing.T) {
	d, err := identity.NewDeriver(identity.ModeRaw, "wx_")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *service.Options) {
		o.Wechat = fakeWechat{"good": "oAbC123", "long": strings.Repeat("o", 40), "empty": ""}
		o.Deriver = d
		o.SessionTTL = time.Hour
	})
	ctx := context.Background()
	resp, err := f.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "good"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != "wx_oAbC123" || resp.SDKAppID != testAppID ||
		!resp.ExpiresAt.Equal(t0.Add(time.Hour)) || !resp.UserSigExpiresAt.Equal(t0.Add(24*time.Hour)) ||
		!resp.RefreshAfter.Equal(t0.Add(24*time.Hour*4/5)) {
		t.Fatalf("session = %+v", resp)
	}
	if _, err := usersig.Verify(resp.UserSig, []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "wx_oAbC123", Now: t0}); err != nil {
		t.Fatal(err)
	}
	sv, err := identity.NewSession(func(context.Context) (token.Keys, error) { return token.KeysFor(testStage, "", testKey, ""), nil }, identity.SessionOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	id, err := sv.Verify(ctx, identity.Credentials{Authorization: "Bearer " + resp.SessionToken})
	if err != nil || id.UserID != "wx_oAbC123" {
		t.Fatalf("session token verifies as %+v, %v", id, err)
	}

	for _, tt := range []struct {
		code, want string
	}{
		{"", service.CodeInvalidRequest},
		{"has space", service.CodeInvalidRequest},
		{strings.Repeat("c", 129), service.CodeInvalidRequest},
		{"wrong", service.CodeUnauthenticated},
		{"empty", service.CodeUnauthenticated},
		{"busy", service.CodeUnavailable},
		{"long", service.CodeForbidden},
	} {
		_, err := f.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: tt.code})
		wantCode(t, err, tt.want)
	}

	off := newFixture(t, nil)
	if off.svc.SessionsEnabled() {
		t.Fatal("sessions enabled without Wechat")
	}
	_, err = off.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "good"})
	wantCode(t, err, service.CodeNotFound)
}

func TestErrorHelpers(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{service.CodeInvalidRequest, 400}, {service.CodeUnauthenticated, 401}, {service.CodeForbidden, 403},
		{service.CodeNotInvited, 403}, {service.CodeNotFound, 404}, {service.CodeMethodNotAllowed, 405},
		{service.CodeExpired, 410}, {service.CodePayloadTooLarge, 413}, {service.CodeRateLimited, 429},
		{service.CodeInternal, 500}, {service.CodeUnavailable, 503}, {"mystery", 500},
	}
	for _, tt := range tests {
		if got := service.Status(tt.code); got != tt.status {
			t.Errorf("Status(%q) = %d, want %d", tt.code, got, tt.status)
		}
	}
	e := &service.Error{Code: service.CodeRateLimited, Message: "m", RetryAfter: 1500 * time.Millisecond}
	if e.RetryAfterSeconds() != 2 || e.Error() != "rate_limited: m" {
		t.Fatalf("%d %q", e.RetryAfterSeconds(), e.Error())
	}
	if service.AsError(nil) != nil {
		t.Fatal("AsError(nil) != nil")
	}
	if got := service.AsError(errors.New("secret text")); got.Code != service.CodeInternal || strings.Contains(got.Error(), "secret") {
		t.Fatalf("AsError = %v", got)
	}
	wrapped := fmt.Errorf("ctx: %w", e)
	if service.AsError(wrapped) != e {
		t.Fatal("AsError did not unwrap")
	}
}

func TestTokenLeeway(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *service.Options) { o.TokenLeeway = 5 * time.Second })
	c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	// exp + leeway is still accepted; one second later it is not (for an
	// invitee who has not joined yet).
	f.clock.Advance(124 * time.Second)
	if _, err := f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken}); err != nil {
		t.Fatalf("join within leeway: %v", err)
	}
	f.clock.Advance(time.Second)
	_, err = f.svc.JoinCall(ctx, user("carol"), service.JoinCallRequest{CallToken: c.CallToken})
	wantCode(t, err, service.CodeExpired)
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, func(o *service.Options) {
		o.Policies = ratelimit.Policies{
			ratelimit.OpUserSig:    {Rate: 1000, Period: time.Second, Burst: 1000},
			ratelimit.OpCallCreate: {Rate: 1000, Period: time.Second, Burst: 1000},
		}
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if j == 10 && i == 0 {
					// Rotate while others sign.
					f.secret.Set(secret.Secret{SDKAppID: testAppID, SecretKey: otherKey, PreviousSecretKey: testKey})
				}
				if _, err := f.svc.IssueUserSig(ctx, user(fmt.Sprintf("u%d", i)), service.UserSigRequest{}); err != nil {
					errs <- err
					return
				}
				if _, err := f.svc.CreateCall(ctx, user(fmt.Sprintf("u%d", i)), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"peer"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	resp, err := f.svc.IssueUserSig(ctx, user("late"), service.UserSigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := usersig.Verify(resp.UserSig, []string{otherKey}, usersig.Expect{SDKAppID: testAppID, UserID: "late", Now: t0}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// TestTokensBoundToStage: dev and prod share the TRTC key (the common
// case), yet a dev session token gets no prod UserSig and a dev call token
// joins no prod call; within a stage both work.
func TestTokensBoundToStage(t *testing.T) {
	ctx := context.Background()
	d, err := identity.NewDeriver(identity.ModeRaw, "wx_")
	if err != nil {
		t.Fatal(err)
	}
	// sessionChain is what app.New builds: the session verifier, with keys
	// derived for the stage, then the dev header.
	sessionChain := func(stage string) identity.Verifier {
		keys := func(context.Context) (token.Keys, error) { return token.KeysFor(stage, "", testKey, ""), nil }
		sv, err := identity.NewSession(keys, identity.SessionOptions{Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		dev, err := identity.NewDev(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return identity.Chain(sv, dev)
	}
	fixture := func(stage string) *fixture {
		return newFixture(t, func(o *service.Options) {
			o.Stage = stage
			o.Verifier = sessionChain(stage)
			o.Wechat = fakeWechat{"good": "oAbC123"}
			o.Deriver = d
		})
	}
	dev, prod := fixture("dev"), fixture("prod")

	sess, err := dev.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "good"})
	if err != nil {
		t.Fatal(err)
	}
	bearer := identity.Credentials{Authorization: "Bearer " + sess.SessionToken, ClientIP: "127.0.0.1"}
	_, err = prod.svc.IssueUserSig(ctx, bearer, service.UserSigRequest{})
	wantCode(t, err, service.CodeUnauthenticated)
	if _, err := dev.svc.IssueUserSig(ctx, bearer, service.UserSigRequest{}); err != nil {
		t.Fatalf("dev session token refused by dev: %v", err)
	}

	call, err := dev.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = prod.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: call.CallToken})
	wantCode(t, err, service.CodeUnauthenticated)
	if _, err := dev.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: call.CallToken}); err != nil {
		t.Fatalf("dev call token refused by dev: %v", err)
	}
}
