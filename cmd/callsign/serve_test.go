package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// setConfigEnv replaces every CALLSIGN_ variable of the process (which
// config.Load reads) with vars for the test.
func setConfigEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "CALLSIGN_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

// TestServeRefusesDevVerifierOffLoopback: with the dev verifier (the local
// default) the server refuses to start on any address but loopback, from
// the flag or from CALLSIGN_HTTP_ADDR, before it listens.
func TestServeRefusesDevVerifierOffLoopback(t *testing.T) {
	const want = "CALLSIGN_HTTP_ADDR: the dev verifier trusts a header naming the user; listen on a loopback address"
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"--addr on every interface", nil, []string{"--addr", ":0"}},
		{"--addr 0.0.0.0", nil, []string{"--addr", "0.0.0.0:0"}},
		{"--addr [::]", map[string]string{"CALLSIGN_VERIFIERS": "session,dev"}, []string{"--addr", "[::]:0"}},
		{"CALLSIGN_HTTP_ADDR 0.0.0.0", map[string]string{"CALLSIGN_HTTP_ADDR": "0.0.0.0:0"}, nil},
		{"--addr replacing a loopback CALLSIGN_HTTP_ADDR", map[string]string{"CALLSIGN_HTTP_ADDR": "127.0.0.1:0"}, []string{"--addr", "0.0.0.0:0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setConfigEnv(t, tc.env)
			done := make(chan result, 1)
			go func() { done <- cli(nil, "", append([]string{"serve"}, tc.args...)...) }()
			select {
			case r := <-done:
				if r.code != exitFail || !strings.Contains(r.stderr, want) {
					t.Fatalf("serve = exit %d, stderr %q; want exit 1 naming CALLSIGN_HTTP_ADDR", r.code, r.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("serve started with the dev verifier on a non-loopback address")
			}
		})
	}
}
