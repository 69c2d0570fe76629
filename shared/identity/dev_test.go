package identity

import (
	"fmt"
	"testing"
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
