package main

import (
	"strings"
	"testing"
)

// TestConfigRedactsURLQuery: a secret carried in a URL query (or its user
// information) never reaches the output of callsign config.
func TestConfigRedactsURLQuery(t *testing.T) {
	setConfigEnv(t, map[string]string{
		"CALLSIGN_VERIFIERS":    "jwt",
		"CALLSIGN_JWT_ISSUER":   "https://idp.example/",
		"CALLSIGN_JWT_AUDIENCE": "callsign",
		"CALLSIGN_JWT_JWKS_URL": "https://app:S3CR3T-PW@idp.example/jwks?access_token=S3CR3T&tenant=t1",
	})
	r := cli(nil, "", "config")
	if r.code != exitOK {
		t.Fatalf("config = exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "S3CR3T") {
		t.Fatalf("config printed the secret:\n%s", r.stdout)
	}
	const want = "https://app:REDACTED@idp.example/jwks?access_token=REDACTED&tenant=REDACTED"
	if got := settingOf(r.stdout, "CALLSIGN_JWT_JWKS_URL"); got != want {
		t.Fatalf("CALLSIGN_JWT_JWKS_URL printed as %q, want %q", got, want)
	}
}

// settingOf returns the value callsign config printed for name.
func settingOf(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}
