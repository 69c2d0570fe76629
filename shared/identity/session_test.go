package identity

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/golang-jwt/jwt/v5"
)

var testNow = testclock.Epoch()

func testKeys() token.Keys { return token.KeysFor(testStage, "", "trtc-secret-key-for-tests", "") }

// testStage is the deployment stage the tests mint and verify tokens for.
const testStage = "prod"

func staticKeys(k token.Keys) func(context.Context) (token.Keys, error) {
	return func(context.Context) (token.Keys, error) { return k, nil }
}

func newTestSession(t *testing.T, keys token.Keys, now time.Time) *Session {
	t.Helper()
	s, err := NewSession(staticKeys(keys), SessionOptions{Now: func() time.Time { return now }, Leeway: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMintSession(t *testing.T) {
	tok, exp, err := MintSession(testKeys(), "alice", testNow.Add(500*time.Millisecond), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add(time.Hour); !exp.Equal(want) {
		t.Fatalf("expiresAt = %v, want %v", exp, want)
	}
	var c jwt.RegisteredClaims
	if err := token.Verify(tok, token.AudienceSession, testKeys(), testNow, 0, &c); err != nil {
		t.Fatalf("token.Verify: %v", err)
	}
	if c.Issuer != "callsign" || c.Subject != "alice" || len(c.Audience) != 1 || c.Audience[0] != "callsign:session" ||
		!c.IssuedAt.Equal(testNow) || !c.ExpiresAt.Equal(testNow.Add(time.Hour)) || len(c.ID) != 22 {
		t.Fatalf("claims = %+v", c)
	}
	tok2, _, err := MintSession(testKeys(), "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c2 jwt.RegisteredClaims
	if err := token.Verify(tok2, token.AudienceSession, testKeys(), testNow, 0, &c2); err != nil || c2.ID == c.ID {
		t.Fatalf("jti not random: %q %q (%v)", c.ID, c2.ID, err)
	}
	for _, bad := range []struct {
		user string
		ttl  time.Duration
		want string
	}{
		{"alice@example.com", time.Hour, "identity: mint session: invalid userID"},
		{"", time.Hour, "identity: mint session: invalid userID"},
		{"alice", 0, "identity: mint session: ttl must be positive"},
	} {
		if _, _, err := MintSession(testKeys(), bad.user, testNow, bad.ttl); err == nil || err.Error() != bad.want {
			t.Errorf("MintSession(%q, %v) err = %v, want %q", bad.user, bad.ttl, err, bad.want)
		}
	}
	if _, _, err := MintSession(token.Keys{}, "alice", testNow, time.Hour); err == nil {
		t.Error("minted without a key")
	}
}

func TestSessionVerify(t *testing.T) {
	keys := testKeys()
	good, _, err := MintSession(keys, "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	appJWT, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "https://idp.example", Subject: "alice"}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		auth     string
		wantUser string
		wantIs   error
		wantText string
	}{
		{"valid", "Bearer " + good, "alice", nil, ""},
		{"lowercase scheme", "bearer " + good, "alice", nil, ""},
		{"no header", "", "", ErrNoCredentials, "session verifier: identity: no credentials"},
		{"basic auth", "Basic YWxpY2U6cHc=", "", ErrNoCredentials, "session verifier: identity: no credentials"},
		{"app JWT passes on", "Bearer " + appJWT, "", ErrNoCredentials, "session verifier: identity: no credentials"},
		{"garbage passes on", "Bearer not-a-jwt", "", ErrNoCredentials, "session verifier: identity: no credentials"},
		{"tampered", "Bearer " + good[:len(good)-2] + "AA", "", ErrUnauthenticated, "session verifier: identity: unauthenticated: invalid session token"},
	}
	s := newTestSession(t, keys, testNow.Add(time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertVerify(t, s, Credentials{Authorization: tt.auth}, tt.wantUser, ProviderSession, tt.wantIs, tt.wantText)
		})
	}
}

func TestSessionKeyRotation(t *testing.T) {
	old := token.KeysFor(testStage, "", "old-trtc-key", "")
	tok, _, err := MintSession(old, "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rotated := token.KeysFor(testStage, "", "new-trtc-key", "old-trtc-key")
	assertVerify(t, newTestSession(t, rotated, testNow), Credentials{Authorization: "Bearer " + tok}, "alice", ProviderSession, nil, "")
	unrelated := token.KeysFor(testStage, "", "new-trtc-key", "")
	assertVerify(t, newTestSession(t, unrelated, testNow), Credentials{Authorization: "Bearer " + tok}, "", "", ErrUnauthenticated,
		"session verifier: identity: unauthenticated: invalid session token")
}

// TestAttackSessionTokenFromAnotherStage: dev and prod share the TRTC key
// (and even a token key), yet a dev session token is refused in prod.
func TestAttackSessionTokenFromAnotherStage(t *testing.T) {
	tokenKey := strings.Repeat("t", token.MinKeyBytes)
	for _, tc := range []struct{ name, tokenKey string }{{"same TRTC key", ""}, {"same token key", tokenKey}} {
		t.Run(tc.name, func(t *testing.T) {
			tok, _, err := MintSession(token.KeysFor("dev", tc.tokenKey, "trtc-secret-key-for-tests", ""), "alice", testNow, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			prod := newTestSession(t, token.KeysFor("prod", tc.tokenKey, "trtc-secret-key-for-tests", ""), testNow)
			assertVerify(t, prod, Credentials{Authorization: "Bearer " + tok}, "", "", ErrUnauthenticated,
				"session verifier: identity: unauthenticated: invalid session token")
			dev := newTestSession(t, token.KeysFor("dev", tc.tokenKey, "trtc-secret-key-for-tests", ""), testNow)
			assertVerify(t, dev, Credentials{Authorization: "Bearer " + tok}, "alice", ProviderSession, nil, "")
		})
	}
}

func TestAttackExpiredSessionToken(t *testing.T) {
	tok, _, err := MintSession(testKeys(), "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Within the 30 s leeway it still verifies; past it, it is expired.
	assertVerify(t, newTestSession(t, testKeys(), testNow.Add(time.Hour+29*time.Second)), Credentials{Authorization: "Bearer " + tok}, "alice", ProviderSession, nil, "")
	s := newTestSession(t, testKeys(), testNow.Add(time.Hour+31*time.Second))
	assertVerify(t, s, Credentials{Authorization: "Bearer " + tok}, "", "", ErrExpiredCredentials, "session verifier: identity: unauthenticated: credentials expired")
	_, err = s.Verify(context.Background(), Credentials{Authorization: "Bearer " + tok})
	if !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired is not ErrUnauthenticated: %v", err)
	}
}

// TestAttackCallTokenAsSessionToken presents a call token (aud
// callsign:call, same issuer and key) where a session token is expected.
func TestAttackCallTokenAsSessionToken(t *testing.T) {
	call, err := token.Sign(testKeys(), jwt.RegisteredClaims{
		Issuer:    token.Issuer,
		Subject:   "alice",
		Audience:  jwt.ClaimStrings{token.AudienceCall},
		IssuedAt:  jwt.NewNumericDate(testNow),
		ExpiresAt: jwt.NewNumericDate(testNow.Add(2 * time.Minute)),
	})
	if err != nil {
		t.Fatal(err)
	}
	assertVerify(t, newTestSession(t, testKeys(), testNow), Credentials{Authorization: "Bearer " + call}, "", "", ErrUnauthenticated,
		"session verifier: identity: unauthenticated: invalid session token")
}

// TestAttackSessionTokenAsCallToken checks the converse: a session token
// never verifies with the call-token audience (what JoinCall uses).
func TestAttackSessionTokenAsCallToken(t *testing.T) {
	tok, _, err := MintSession(testKeys(), "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.RegisteredClaims
	if err := token.Verify(tok, token.AudienceCall, testKeys(), testNow, 0, &c); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("token.Verify(session token, AudienceCall) = %v, want token.ErrInvalid", err)
	}
}

func TestAttackSessionTokenInvalidSub(t *testing.T) {
	// Correctly signed by callsign's key but with a sub that is not a
	// userID: refused rather than signed for.
	tok, err := token.Sign(testKeys(), jwt.RegisteredClaims{
		Issuer:    token.Issuer,
		Subject:   "alice@example.com",
		Audience:  jwt.ClaimStrings{token.AudienceSession},
		IssuedAt:  jwt.NewNumericDate(testNow),
		ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	assertVerify(t, newTestSession(t, testKeys(), testNow), Credentials{Authorization: "Bearer " + tok}, "", "", ErrUnauthenticated,
		"session verifier: identity: unauthenticated: session token has an invalid sub")
}

func TestSessionKeySourceFailure(t *testing.T) {
	storeDown := errors.New("secret: unavailable")
	calls := 0
	s, err := NewSession(func(context.Context) (token.Keys, error) { calls++; return token.Keys{}, storeDown }, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A foreign token never touches the key source.
	if _, err := s.Verify(context.Background(), Credentials{Authorization: "Bearer a.b.c"}); !errors.Is(err, ErrNoCredentials) || calls != 0 {
		t.Fatalf("err = %v, calls = %d", err, calls)
	}
	tok, _, err := MintSession(testKeys(), "alice", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Verify(context.Background(), Credentials{Authorization: "Bearer " + tok})
	if !errors.Is(err, storeDown) || errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrUnauthenticated) || calls != 1 {
		t.Fatalf("err = %v, calls = %d", err, calls)
	}
	if err.Error() != "session verifier: loading token keys: secret: unavailable" || strings.Contains(err.Error(), tok) {
		t.Fatalf("err text = %q", err)
	}
}

func TestNewSessionOptions(t *testing.T) {
	if _, err := NewSession(nil, SessionOptions{}); err == nil {
		t.Error("nil keys accepted")
	}
	if _, err := NewSession(staticKeys(testKeys()), SessionOptions{Leeway: -time.Second}); err == nil {
		t.Error("negative leeway accepted")
	}
	if _, err := NewSession(staticKeys(testKeys()), SessionOptions{Leeway: 6 * time.Minute}); err == nil {
		t.Error("leeway above the maximum accepted")
	}
}
