package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackHosts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		listen, host string
		want         int
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", http.StatusTeapot},
		{"127.0.0.1:8080", "localhost:8080", http.StatusTeapot},
		{"127.0.0.1:8080", "LOCALHOST", http.StatusTeapot},
		{"[::1]:8080", "[::1]:8080", http.StatusTeapot},
		{"127.0.0.1:8080", "127.0.0.2:8080", http.StatusTeapot},
		{"127.0.0.1:8080", "attacker.example:8080", http.StatusForbidden},
		{"127.0.0.1:8080", "attacker.example", http.StatusForbidden},
		{"127.0.0.1:8080", "", http.StatusForbidden},
		{"localhost:8080", "evil.test", http.StatusForbidden},
		{"0.0.0.0:9000", "evil.test", http.StatusTeapot}, // not a loopback listener: no guard
		{"192.0.2.1:9000", "evil.test", http.StatusTeapot},
	}
	for _, tc := range tests {
		t.Run(tc.listen+" "+tc.host, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			r.Host = tc.host
			rec := httptest.NewRecorder()
			loopbackHosts(tc.listen, ok).ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if tc.want == http.StatusForbidden && rec.Body.String() != `{"error":{"code":"forbidden","message":"the local server answers only requests addressed to localhost"}}`+"\n" {
				t.Fatalf("body = %q", rec.Body.String())
			}
		})
	}
}
