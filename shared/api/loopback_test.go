package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/api"
)

// TestLoopbackOnly: with the dev verifier on, the API answers only a
// loopback peer that names a loopback host; a peer on the network (a server
// bound to 0.0.0.0) and a DNS-rebinding page (its own name in Host) get 403
// before the dev header is read.
func TestLoopbackOnly(t *testing.T) {
	const forbidden = `{"error":{"code":"forbidden","message":"the local server answers only requests from and addressed to localhost"}}`
	tests := []struct {
		name, remote, host string
		want               int
	}{
		{"loopback peer and host", "127.0.0.1:50000", "127.0.0.1:8080", http.StatusOK},
		{"localhost", "127.0.0.1:50000", "localhost:8080", http.StatusOK},
		{"localhost without port, any case", "127.0.0.1:50000", "LOCALHOST", http.StatusOK},
		{"IPv6 loopback", "[::1]:50000", "[::1]:8080", http.StatusOK},
		{"other loopback address", "127.0.0.2:50000", "127.0.0.2:8080", http.StatusOK},
		{"peer on the network", "192.0.2.7:50000", "127.0.0.1:8080", http.StatusForbidden},
		{"peer on the network naming localhost", "192.0.2.7:50000", "localhost", http.StatusForbidden},
		{"IPv6 peer on the network", "[2001:db8::7]:50000", "[::1]:8080", http.StatusForbidden},
		{"DNS rebinding", "127.0.0.1:50000", "attacker.example:8080", http.StatusForbidden},
		{"DNS rebinding without port", "127.0.0.1:50000", "attacker.example", http.StatusForbidden},
		{"name that starts like a loopback IP", "127.0.0.1:50000", "127.0.0.1.attacker.example", http.StatusForbidden},
		{"localhost with a trailing dot", "127.0.0.1:50000", "localhost.", http.StatusForbidden},
		{"no host", "127.0.0.1:50000", "", http.StatusForbidden},
		{"no peer address", "", "127.0.0.1:8080", http.StatusForbidden},
	}
	e := newEnv(t, envConfig{api: func(o *api.Options) { o.LoopbackOnly = true }})
	open := newEnv(t, envConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/usersig", strings.NewReader(`{}`))
			r.RemoteAddr, r.Host = tc.remote, tc.host
			r.Header.Set("X-Callsign-User", "alice")
			rec := httptest.NewRecorder()
			e.api.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == http.StatusForbidden && strings.TrimSpace(rec.Body.String()) != forbidden {
				t.Fatalf("body = %q", rec.Body.String())
			}
			// Without LoopbackOnly (every deployed function) nothing changes.
			r = httptest.NewRequest(http.MethodGet, "/healthz", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			rec = httptest.NewRecorder()
			open.api.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				t.Fatalf("without LoopbackOnly: status = %d; body %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestBadBearerWithDevHeader: over HTTP, "Authorization: Bearer garbage"
// plus X-Callsign-User is 401, not a UserSig for the header's user.
func TestBadBearerWithDevHeader(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.do(req{path: "/v1/usersig", body: `{}`, user: "mallory", bearer: "garbage"}).wantError(t, http.StatusUnauthorized, "unauthenticated")
	e.do(req{path: "/v1/usersig", body: `{}`, user: "mallory"}).mustOK(t)
}
