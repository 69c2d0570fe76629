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

// TestConfigAppliesStartUpRules: callsign config refuses what callsign serve
// would refuse, with the same message (here the service's invitee bound).
func TestConfigAppliesStartUpRules(t *testing.T) {
	setConfigEnv(t, map[string]string{"CALLSIGN_MAX_INVITEES": "50"})
	const want = "CALLSIGN_MAX_INVITEES: 50 is outside 1..32"
	r := cli(nil, "", "config")
	if r.code != exitFail || !strings.Contains(r.stderr, want) {
		t.Fatalf("config = exit %d, stderr %q; want exit 1 with %q", r.code, r.stderr, want)
	}
	r = cli(nil, "", "serve", "--addr", "127.0.0.1:0")
	if r.code != exitFail || !strings.Contains(r.stderr, want) {
		t.Fatalf("serve = exit %d, stderr %q; want exit 1 with %q", r.code, r.stderr, want)
	}
}
