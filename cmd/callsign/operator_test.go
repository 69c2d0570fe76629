package main

import (
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/usersig"
)

const operatorKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

// TestBanUnbanCommands: ban and unban refuse bad flags, and refuse the
// memory store (a ban in the CLI's own memory reaches no instance). The
// ban itself against redis-server and dynalite is app.TestBanAcrossInstances
// (the commands are thin wrappers of app.Operator).
func TestBanUnbanCommands(t *testing.T) {
	setConfigEnv(t, map[string]string{"CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": operatorKey, "CALLSIGN_LOG_LEVEL": "error"})
	for _, args := range [][]string{{"ban"}, {"ban", "--user", "mallory", "--for", "-1h"}, {"unban"}, {"ban", "--user"}} {
		if r := cli(nil, "", args...); r.code != exitUsage {
			t.Fatalf("%v: exit %d, want usage", args, r.code)
		}
	}
	for _, args := range [][]string{{"ban", "--user", "mallory"}, {"unban", "--user", "mallory"}} {
		r := cli(nil, "", args...)
		if want := "callsign " + args[0] + ": app: bans need the stage's shared store (CALLSIGN_LIMITER=redis or dynamodb)\n"; r.code != exitFail || r.stderr != want {
			t.Fatalf("%v on the memory store: exit %d, %q", args, r.code, r.stderr)
		}
	}
}

// TestAdminUserSig: the printed UserSig is the administrator's, for the
// configured SDKAppID, with the requested lifetime.
func TestAdminUserSig(t *testing.T) {
	setConfigEnv(t, map[string]string{"CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": operatorKey, "CALLSIGN_IM_ADMIN_USER": "ops_admin"})
	r := cli(nil, "", "admin-usersig", "--ttl", "2h")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sig := strings.TrimSpace(r.stdout)
	tk, err := usersig.Decode(sig)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Identifier != "ops_admin" || tk.SDKAppID != 1400000000 || tk.Expire != 7200 {
		t.Fatalf("ticket = %+v", tk)
	}
	if _, err := usersig.Verify(sig, []string{operatorKey}, usersig.Expect{SDKAppID: 1400000000, UserID: "ops_admin", Now: time.Unix(tk.Time, 0)}); err != nil {
		t.Fatalf("does not verify: %v", err)
	}
	for _, ttl := range []string{"30s", "1.5s", "5000h"} {
		if r := cli(nil, "", "admin-usersig", "--ttl", ttl); r.code != exitUsage {
			t.Fatalf("--ttl %s: exit %d", ttl, r.code)
		}
	}
}
