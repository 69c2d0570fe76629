package identity

import "testing"

func TestGatewayVerify(t *testing.T) {
	d := mustDeriver(t, ModeHash, "")
	tests := []struct {
		name     string
		claim    string
		claims   map[string]string
		wantUser string
		wantIs   error
		wantText string
	}{
		{"sub claim", "", map[string]string{"sub": "alice", "iss": "https://idp"}, "fpmansl7byak6gq7ymzi7j3dvetjoi6i", nil, ""},
		{"custom claim", "username", map[string]string{"sub": "x", "username": "alice"}, "fpmansl7byak6gq7ymzi7j3dvetjoi6i", nil, ""},
		{"nil claims", "", nil, "", ErrNoCredentials, "gateway verifier: identity: no credentials"},
		{"empty claims", "", map[string]string{}, "", ErrNoCredentials, "gateway verifier: identity: no credentials"},
		{"missing subject", "", map[string]string{"iss": "https://idp"}, "", ErrUnauthenticated, `gateway verifier: identity: unauthenticated: authorizer claims lack the subject claim "sub"`},
		{"empty subject", "", map[string]string{"sub": ""}, "", ErrUnauthenticated, `gateway verifier: identity: unauthenticated: authorizer claims lack the subject claim "sub"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewGateway(tt.claim, d)
			if err != nil {
				t.Fatal(err)
			}
			assertVerify(t, v, Credentials{GatewayClaims: tt.claims}, tt.wantUser, ProviderGateway, tt.wantIs, tt.wantText)
		})
	}
	if _, err := NewGateway("sub", nil); err == nil {
		t.Fatal("nil deriver accepted")
	}
}
