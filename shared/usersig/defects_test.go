package usersig

// One test per defect of the official libraries (spec §8) that applies to a
// signing core.

import (
	"context"
	"encoding/binary"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Defect 1: Go signs a "TLS.userbuf:" line for an empty userbuf but omits
// the field, so the ticket never verifies. callsign never signs one.
func TestDefect1EmptyUserBufNeverSigned(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	if out, err := s.sign(sc, "alice", 1700000000, 60, []byte{}); !errors.Is(err, ErrInvalidInput) || out != "" {
		t.Fatalf("sign(empty userbuf) = %q, %v; want ErrInvalidInput", out, err)
	}
	// No public input reaches an empty userbuf: the only userbuf source is a
	// validated PrivateMapKey, at least 24 bytes long.
	pmk, err := s.PrivateMapKey("a", time.Minute, testNow, NumericRoom(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := Decode(pmk)
	if err != nil || len(tk.UserBuf) != 24 {
		t.Fatalf("Decode = %v, userbuf %d bytes; want 24", err, len(tk.UserBuf))
	}
	// A ticket signed old-style with an empty userbuf line and
	// "TLS.userbuf":"" is refused both as a UserSig and as a PMK.
	old := forge(t, forged{ver: "2.0", identifier: "alice", app: 1400000000, time: 1700000000, expire: 60, userbuf: []byte{}, key: testKey})
	for _, pmkWanted := range []bool{false, true} {
		_, err := Verify(old, []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "alice", Now: testNow, PrivateMapKey: pmkWanted})
		if !errors.Is(err, ErrUserBufMismatch) {
			t.Errorf("PrivateMapKey=%v: Verify = %v, want ErrUserBufMismatch", pmkWanted, err)
		}
	}
}

// Defect 2: omitempty drops TLS.expire (0) and TLS.identifier (""). callsign
// always writes all six base fields and rejects the inputs that would be
// empty.
func TestDefect2AllFieldsAlwaysPresent(t *testing.T) {
	s, err := NewSigner(1, "k")
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := s.UserSig("a", time.Second, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	got := docFields(t, inflateTicket(t, ticket))
	for _, k := range []string{"TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.expire", "TLS.time", "TLS.sig"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s missing from %v", k, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("document has %d fields, want 6", len(got))
	}
	if _, err := s.UserSig("", time.Hour, testNow); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("empty identifier: %v", err)
	}
	if _, err := s.UserSig("a", 0, testNow); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("expire 0: %v", err)
	}
}

// Defect 3: Go swallows json.Unmarshal errors and then reports "sdk appid
// not match". callsign reports ErrJSON.
func TestDefect3JSONErrorsReported(t *testing.T) {
	ticket := wrap(t, []byte(`{"TLS.ver":"2.0","TLS.sdkappid":`), 6)
	_, err := Verify(ticket, []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: testNow})
	if !errors.Is(err, ErrJSON) || errors.Is(err, ErrAppMismatch) {
		t.Fatalf("Verify = %v, want ErrJSON", err)
	}
}

// Defect 4: Go compares MACs with bytes.Equal. callsign uses hmac.Equal; the
// test checks behaviour (a one-bit difference in the last byte and in the
// first byte both fail) and the code (Verify calls hmac.Equal; the package
// never uses bytes.Equal, bytes.Compare or == on MACs).
func TestDefect4ConstantTimeCompare(t *testing.T) {
	v := loadVectors(t)[0]
	tk, err := Decode(v.NodeUserSig)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 31} {
		mac := tk.mac
		mac[i] ^= 1
		doc := strings.Replace(v.JSON, v.TLSSig, b64(mac[:]), 1)
		_, err := Verify(wrap(t, []byte(doc), 6), []string{v.Key}, Expect{SDKAppID: v.App, UserID: v.UID, Now: v.now()})
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("byte %d flipped: %v", i, err)
		}
	}

	fset := token.NewFileSet()
	hmacEqual := 0
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			switch pkg.Name + "." + sel.Sel.Name {
			case "hmac.Equal":
				hmacEqual++
			case "bytes.Equal", "bytes.Compare", "subtle.ConstantTimeCompare":
				t.Errorf("%s: %s.%s used; MACs must be compared with hmac.Equal", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
			}
			return true
		})
	}
	if hmacEqual != 1 {
		t.Errorf("hmac.Equal used %d times, want exactly once (in Verify)", hmacEqual)
	}
}

// Defect 5: Go reads the clock twice, so TLS.time and dwExpTime can disagree.
// callsign takes now once; even a now just before a second boundary gives
// dwExpTime == TLS.time + TLS.expire.
func TestDefect5SingleClockRead(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, int64(time.Second-1))
	ticket, err := s.PrivateMapKey("alice", 300*time.Second, now, StringRoom("r"), PrivAll)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := Decode(ticket)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Time != 1700000000 || tk.Expire != 300 || tk.PrivateMap.ExpiresAt != 1700000300 {
		t.Fatalf("time %d expire %d dwExpTime %d; want 1700000000 300 1700000300", tk.Time, tk.Expire, tk.PrivateMap.ExpiresAt)
	}
}

// Defect 6: the pooled zlib writers make Go's output depend on history.
// callsign's framing is fixed: the same input always gives the same bytes,
// before and after any other signing.
func TestDefect6DeterministicOutput(t *testing.T) {
	v := loadVectors(t)
	s, err := NewSigner(v[0].App, v[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	first := v[0].sign(t, s)
	for i := 0; i < 20; i++ {
		if _, err := s.PrivateMapKey("other_user", time.Duration(i+1)*time.Second, testNow, StringRoom(strings.Repeat("z", 64)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if again := v[0].sign(t, s); again != first || first != goV1 {
		t.Fatalf("output changed: %q then %q", first, again)
	}
	raw, err := tencentBase64().DecodeString(first)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0x78 || raw[1] != 0x01 || raw[2] != 0x00 || binary.LittleEndian.Uint16(raw[3:5]) != ^binary.LittleEndian.Uint16(raw[5:7]) {
		t.Fatalf("not a stored-block zlib stream: % x", raw[:7])
	}
}

// Defect 7: the official v1.4.0 tag does not compile for 32-bit GOARCH. This
// builds the package for 386 and arm.
func TestDefect7Builds32Bit(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skip("go tool not on PATH; install Go to run the 32-bit build check")
	}
	for _, arch := range []string{"386", "arm"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, gobin, "build", "-o", os.DevNull, ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("GOARCH=%s build: %v\n%s", arch, err, out)
		}
	}
}

// Defect 8: no input validation in the official libraries; in particular
// GenPrivateMapKeyWithStringRoomID("") silently produced a numeric ticket
// for room 0.
func TestDefect8EmptyStringRoomRejected(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.PrivateMapKey("alice", time.Minute, testNow, StringRoom(""), PrivAll)
	if !errors.Is(err, ErrInvalidInput) || out != "" {
		t.Fatalf("PrivateMapKey(empty string room) = %q, %v", out, err)
	}
	// A room-0 ticket made by an official library is refused by Verify.
	pm := PrivateMap{Account: "alice", SDKAppID: 1400000000, ExpiresAt: 1700000060, Privileges: PrivAll}
	ticket := forge(t, forged{ver: "2.0", identifier: "alice", app: 1400000000, time: 1700000000, expire: 60, userbuf: pmkBuf(pm), key: testKey})
	if _, err := Verify(ticket, []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "alice", Now: testNow, PrivateMapKey: true}); !errors.Is(err, ErrUserBufMismatch) {
		t.Fatalf("Verify(room 0) = %v", err)
	}
	// The rest of the validation policy is covered by TestSignInvalidInput.
}

// Defect 9: non-ASCII userIDs and rooms give different userbuf bytes across
// languages. callsign refuses them.
func TestDefect9NonASCIIRejected(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"小军", "josé", "a\u00a0b", "\xff"} {
		if _, err := s.UserSig(uid, time.Hour, testNow); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("UserSig(%q) = %v", uid, err)
		}
	}
	for _, room := range []string{"房间", "café", "a\u2028"} {
		if _, err := s.PrivateMapKey("alice", time.Hour, testNow, StringRoom(room), PrivAll); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("PrivateMapKey(room %q) = %v", room, err)
		}
	}
}

// Defect 10: bit 8 is 128, not 200.
func TestDefect10Bit8Is128(t *testing.T) {
	if PrivRecvSubVideo != 1<<7 || PrivAll != 255 {
		t.Fatalf("PrivRecvSubVideo = %d, PrivAll = %d", PrivRecvSubVideo, PrivAll)
	}
	// The documented "200" would be 128|64|8: three bits, not one.
	if got := Privileges(200).String(); got != "200 (recvAudio|sendSubVideo|recvSubVideo)" {
		t.Fatalf("Privileges(200) = %s", got)
	}
	// V6 grants 0xAB = create + enter + recvAudio + recvVideo + recvSubVideo.
	tk, err := Decode(loadVectors(t)[5].NodeUserSig)
	if err != nil {
		t.Fatal(err)
	}
	want := PrivCreateRoom | PrivEnterRoom | PrivRecvAudio | PrivRecvVideo | PrivRecvSubVideo
	if tk.PrivateMap.Privileges != want || want != 0xAB {
		t.Fatalf("V6 privileges = %s, want %s", tk.PrivateMap.Privileges, want)
	}
}

// Historical bug (Go 743a871/9cf8996, Node 848dd4d): the account bytes were
// copied into the roomStr slot. The userbuf must carry the room string.
func TestStringRoomNotAccount(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ uid, room string }{
		{"xiaojun", "1000000040"},
		{"abcdefghijklmnopqrstuvwxyz012345", "r"},
		{"u", strings.Repeat("Q", 64)},
	}
	for _, tc := range cases {
		ticket, err := s.PrivateMapKey(tc.uid, time.Hour, testNow, StringRoom(tc.room), PrivAll)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := Decode(ticket)
		if err != nil {
			t.Fatal(err)
		}
		ub := tk.UserBuf
		tail := ub[len(ub)-len(tc.room)-2:]
		if int(binary.BigEndian.Uint16(tail)) != len(tc.room) || string(tail[2:]) != tc.room || len(ub) != 25+len(tc.uid)+len(tc.room) {
			t.Errorf("uid %q room %q: userbuf tail %q", tc.uid, tc.room, tail)
		}
		if tk.PrivateMap.Room != StringRoom(tc.room) || tk.PrivateMap.Account != tc.uid || tk.PrivateMap.Version != 1 {
			t.Errorf("PrivateMap = %+v", tk.PrivateMap)
		}
	}
}
