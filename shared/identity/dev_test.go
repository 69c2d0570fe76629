package identity

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestAttackDevVerifierRefusesServerless(t *testing.T) {
	for _, name := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "_LAMBDA_SERVER_PORT", "TENCENTCLOUD_RUNENV", "SCF_FUNCTIONNAME"} {
		t.Run(name, func(t *testing.T) {
			v, err := NewDev(envOf(map[string]string{name: "1"}))
			want := fmt.Sprintf("identity: refusing to enable the dev verifier: %s is set, so this is AWS Lambda or Tencent SCF; the dev verifier trusts an unauthenticated header and is for the local server only", name)
			if err == nil || err.Error() != want || v != nil {
				t.Fatalf("NewDev = %v, %v; want error %q", v, err, want)
			}
		})
	}
	if _, err := NewDev(nil); err == nil {
		t.Fatal("nil getenv accepted")
	}
}

func TestDevVerify(t *testing.T) {
	v, err := NewDev(envOf(map[string]string{"HOME": "/home/dev"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		user     string
		wantUser string
		wantIs   error
		wantText string
	}{
		{"valid", "alice_01", "alice_01", nil, ""},
		{"absent", "", "", ErrNoCredentials, "dev verifier: identity: no credentials"},
		{"invalid", "alice@example.com", "", ErrUnauthenticated, "dev verifier: identity: unauthenticated: X-Callsign-User is not a valid userID"},
		{"too long", "abcdefghijabcdefghijabcdefghijabc", "", ErrUnauthenticated, "dev verifier: identity: unauthenticated: X-Callsign-User is not a valid userID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertVerify(t, v, Credentials{DevUser: tt.user}, tt.wantUser, ProviderDev, tt.wantIs, tt.wantText)
		})
	}
}

// TestAttackDevHeaderAfterUnacceptedBearer: with session,dev a bearer
// token that no verifier recognises (not a JWS, another scheme, an app JWT
// with the jwt verifier off) is a presented-but-invalid credential: it
// stops the chain with 401 instead of falling through to X-Callsign-User.
func TestAttackDevHeaderAfterUnacceptedBearer(t *testing.T) {
	s := newTestSession(t, testKeys(), testNow)
	dv, err := NewDev(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := Chain(s, dv)
	const want = "dev verifier: identity: unauthenticated: an Authorization header was presented and not accepted"
	for _, auth := range []string{
		"Bearer garbage",
		"Basic YWxpY2U6cHc=",
		"Bearer " + signHS256(t, testHS256Secret, "", claims("alice")), // app JWT, jwt verifier off
		"Bearer",
	} {
		id, err := c.Verify(context.Background(), Credentials{Authorization: auth, DevUser: "mallory"})
		if err == nil || err.Error() != want || !errors.Is(err, ErrUnauthenticated) || id != (Identity{}) {
			t.Fatalf("Authorization %.20q + X-Callsign-User: got %+v, %v; want %q", auth, id, err, want)
		}
	}
	// A valid session token still wins, and the header alone still works.
	good, _, err := MintSession(testKeys(), "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		creds    Credentials
		provider string
	}{
		{Credentials{Authorization: "Bearer " + good, DevUser: "mallory"}, ProviderSession},
		{Credentials{DevUser: "alice"}, ProviderDev},
	} {
		id, err := c.Verify(context.Background(), tc.creds)
		if err != nil || id.UserID != "alice" || id.Provider != tc.provider {
			t.Fatalf("got %+v, %v; want alice via %s", id, err, tc.provider)
		}
	}
}
