package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	keyV1 = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	keyV2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// Spec §10.2 strings for V1 and V4.
	goV1 = "eAEArABT-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoieGlhb2p1biIsIlRMUy5zZGthcHBpZCI6MTQwMDAwMDAwMCwiVExTLmV4cGlyZSI6MTU1NTIwMDAsIlRMUy50aW1lIjoxNzAwMDAwMDAwLCJUTFMuc2lnIjoiTHZBN2QvSXc3Z1NzbnNrdlZ6QkRQT0NDRGJ1TkN3NEdId1RDMGJpcCtCND0ifQoBAAD--9-DMfw_"
	goV4 = "eAEA5QAa-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoieGlhb2p1biIsIlRMUy5zZGthcHBpZCI6MTQwMDAwMDAwMCwiVExTLmV4cGlyZSI6MTU1NTIwMDAsIlRMUy50aW1lIjoxNzAwMDAwMDAwLCJUTFMudXNlcmJ1ZiI6IkFBQUhlR2xoYjJwMWJsTnlUZ0FBQUNjUVprRS9BQUFBQVA4QUFBQUEiLCJUTFMuc2lnIjoieTlBdmI1eHdIZ0lnb0FCYkdha0xhRTB4cyt2L2RMY0lQZWdiV2ZjYlJMST0ifQoBAAD--*9eQ8M_"
)

// vector is the part of shared/usersig/testdata/usersig-vectors.json the CLI
// tests use.
type vector struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	App         uint32          `json:"app"`
	Key         string          `json:"key"`
	UID         string          `json:"uid"`
	Exp         int64           `json:"exp"`
	T           int64           `json:"t"`
	Room        json.RawMessage `json:"room"`
	Priv        uint32          `json:"priv"`
	TLSSig      string          `json:"tlsSig"`
	UserBufB64  string          `json:"userbufB64"`
	NodeUserSig string          `json:"nodeUserSig"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "shared", "usersig", "testdata", "usersig-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// result is one in-process CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI in-process with the given environment and stdin.
func cli(env map[string]string, stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return result{code, out.String(), errOut.String()}
}

func withKey(key string) map[string]string { return map[string]string{envSecretKey: key} }

func TestCLISignAndPMK(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		stdout string
	}{
		{"sign V1 key from env", withKey(keyV1), "",
			[]string{"sign", "--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000"}, goV1 + "\n"},
		{"sign V1 key from stdin", nil, keyV1 + "\n",
			[]string{"sign", "--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000"}, goV1 + "\n"},
		{"sign V1 key from stdin with CRLF and no final newline", map[string]string{envSecretKey: ""}, keyV1 + "\r",
			[]string{"sign", "--now=1700000000", "--ttl=15552000", "--user=xiaojun", "--sdkappid=1400000000"}, goV1 + "\n"},
		{"pmk V4 decimal privileges", withKey(keyV1), "",
			[]string{"pmk", "--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000", "--room", "10000", "--privileges", "255"}, goV4 + "\n"},
		{"pmk V4 hex privileges", withKey(keyV1), "",
			[]string{"pmk", "--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000", "--room", "10000", "--privileges", "0xff"}, goV4 + "\n"},
		{"pmk V4 hex sdkappid and room", withKey(keyV1), "",
			[]string{"pmk", "--sdkappid", "0x53724E00", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000", "--room", "0x2710", "--privileges", "0XFF"}, goV4 + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(tc.env, tc.stdin, tc.args...)
			if r.code != 0 || r.stdout != tc.stdout || r.stderr != "" {
				t.Fatalf("got %d %q %q; want 0 %q", r.code, r.stdout, r.stderr, tc.stdout)
			}
		})
	}
}

// TestCLIVectors signs every vector with the CLI and checks the decoded
// signature and userbuf with inspect --json.
func TestCLIVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			args := []string{"sign", "--sdkappid", itoa(int64(v.App)), "--user", v.UID, "--ttl", itoa(v.Exp), "--now", itoa(v.T)}
			switch v.Kind {
			case "pmk":
				args = append(args, "--room", string(v.Room), "--privileges", itoa(int64(v.Priv)))
				args[0] = "pmk"
			case "pmkstr":
				var room string
				if err := json.Unmarshal(v.Room, &room); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--str-room", room, "--privileges", itoa(int64(v.Priv)))
				args[0] = "pmk"
			}
			r := cli(withKey(v.Key), "", args...)
			if r.code != 0 {
				t.Fatalf("%v: %d %s", args, r.code, r.stderr)
			}
			r = cli(nil, "", "inspect", "--json", "--now", itoa(v.T), strings.TrimSpace(r.stdout))
			var got struct {
				Sig     string  `json:"sig"`
				UserBuf *string `json:"userbuf"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
				t.Fatalf("inspect: %d %q %q %v", r.code, r.stdout, r.stderr, err)
			}
			if got.Sig != v.TLSSig || (got.UserBuf == nil) != (v.UserBufB64 == "") || (got.UserBuf != nil && *got.UserBuf != v.UserBufB64) {
				t.Fatalf("inspect = %+v, want sig %s userbuf %q", got, v.TLSSig, v.UserBufB64)
			}
			// The Node ticket verifies with the CLI at t+exp.
			vargs := []string{"verify", "--sdkappid", itoa(int64(v.App)), "--user", v.UID, "--now", itoa(v.T + v.Exp), v.NodeUserSig}
			if v.Kind != "usersig" {
				vargs = append(vargs, "--pmk")
			}
			if r := cli(withKey(v.Key), "", vargs...); r.code != 0 || !strings.HasPrefix(r.stdout, "valid: ") {
				t.Fatalf("verify: %d %q %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestCLIInspect(t *testing.T) {
	vs := loadVectors(t)
	cases := []struct {
		name   string
		args   []string
		stdin  string
		stdout string
	}{
		{"json UserSig", []string{"inspect", "--json", "--now", "1700000000", vs[0].NodeUserSig}, "",
			`{"ver":"2.0","identifier":"xiaojun","sdkAppID":1400000000,"time":1700000000,"expire":15552000,"expiresAt":"2024-05-12T22:13:20Z","expired":false,"sig":"LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="}` + "\n"},
		{"json expired numeric PMK, flags after the ticket", []string{"inspect", vs[3].NodeUserSig, "--json", "--now", "1715552001"}, "",
			`{"ver":"2.0","identifier":"xiaojun","sdkAppID":1400000000,"time":1700000000,"expire":15552000,"expiresAt":"2024-05-12T22:13:20Z","expired":true,"sig":"y9Avb5xwHgIgoABbGakLaE0xs+v/dLcIPegbWfcbRLI=","userbuf":"AAAHeGlhb2p1blNyTgAAACcQZkE/AAAAAP8AAAAA","privateMapKey":{"roomID":10000,"expiresAt":1715552000,"privileges":255}}` + "\n"},
		{"json string-room PMK from stdin", []string{"inspect", "--json", "--now", "1735689600", "-"}, vs[7].NodeUserSig + "\n",
			`{"ver":"2.0","identifier":"user_01-A","sdkAppID":1600000001,"time":1735689600,"expire":3600,"expiresAt":"2025-01-01T01:00:00Z","expired":false,"sig":"Cse4GRGMqkbER8O8VQzsRhaoV4DghQ0oSx3lgxp7zhA=","userbuf":"` + vs[7].UserBufB64 + `","privateMapKey":{"strRoomID":"Room A_1 {x}|~,","expiresAt":1735693200,"privileges":42}}` + "\n"},
		{"text UserSig", []string{"inspect", "--now", "1700000000", goV1}, "",
			"UserSig (decoded without a key: the signature is NOT verified)\n" +
				"version:     2.0\n" +
				"identifier:  xiaojun\n" +
				"sdkAppID:    1400000000\n" +
				"time:        1700000000 (2023-11-14T22:13:20Z)\n" +
				"expire:      15552000 s (4320h0m0s)\n" +
				"expiresAt:   2024-05-12T22:13:20Z (valid for 4320h0m0s)\n" +
				"sig:         LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=\n"},
		{"text expired PMK", []string{"inspect", "--now", "1800000000", goV4}, "",
			"PrivateMapKey (decoded without a key: the signature is NOT verified)\n" +
				"version:     2.0\n" +
				"identifier:  xiaojun\n" +
				"sdkAppID:    1400000000\n" +
				"time:        1700000000 (2023-11-14T22:13:20Z)\n" +
				"expire:      15552000 s (4320h0m0s)\n" +
				"expiresAt:   2024-05-12T22:13:20Z (expired)\n" +
				"sig:         y9Avb5xwHgIgoABbGakLaE0xs+v/dLcIPegbWfcbRLI=\n" +
				"userbuf:     AAAHeGlhb2p1blNyTgAAACcQZkE/AAAAAP8AAAAA (30 bytes)\n" +
				"roomID:      10000\n" +
				"privileges:  255 (createRoom|enterRoom|sendAudio|recvAudio|sendVideo|recvVideo|sendSubVideo|recvSubVideo)\n" +
				"pmkExpires:  1715552000 (2024-05-12T22:13:20Z)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(nil, tc.stdin, tc.args...)
			if r.code != 0 || r.stdout != tc.stdout || r.stderr != "" {
				t.Fatalf("got %d\n%s\nstderr %q\nwant\n%s", r.code, r.stdout, r.stderr, tc.stdout)
			}
		})
	}
}

func TestCLIVerify(t *testing.T) {
	vs := loadVectors(t)
	v1, v4 := vs[0], vs[3]
	base := func(extra ...string) []string {
		return append([]string{"verify", "--sdkappid", "1400000000", "--user", "xiaojun"}, extra...)
	}
	cases := []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr []string // substrings
	}{
		{"valid UserSig at expiry", withKey(keyV1), "", base("--now", "1715552000", v1.NodeUserSig), 0,
			"valid: UserSig for xiaojun (SDKAppID 1400000000), expires 2024-05-12T22:13:20Z\n", nil},
		{"valid PMK with room and privileges", withKey(keyV1), "", base("--now", "1700000000", "--pmk", "--room", "10000", "--privileges", "0xff", v4.NodeUserSig), 0,
			"valid: PrivateMapKey for room 10000 with privileges 255 (createRoom|enterRoom|sendAudio|recvAudio|sendVideo|recvVideo|sendSubVideo|recvSubVideo) for xiaojun (SDKAppID 1400000000), expires 2024-05-12T22:13:20Z\n", nil},
		{"key and ticket from stdin", nil, keyV1 + "\n" + goV1 + "\n", base("--now", "1700000000", "-"), 0,
			"valid: UserSig for xiaojun (SDKAppID 1400000000), expires 2024-05-12T22:13:20Z\n", nil},
		{"previous key during rotation", map[string]string{envSecretKey: keyV2, envPreviousSecretKey: keyV1}, "", base("--now", "1700000000", goV1), 0,
			"valid: UserSig for xiaojun (SDKAppID 1400000000), expires 2024-05-12T22:13:20Z\n", nil},
		{"expired", withKey(keyV1), "", base("--now", "1715552001", v1.NodeUserSig), 1, "",
			[]string{"invalid: usersig: expired: at 2024-05-12T22:13:20Z", "70001", "6206"}},
		{"wrong key", withKey(keyV2), "", base("--now", "1700000000", goV1), 1, "",
			[]string{"invalid: usersig: signature does not match", "70009"}},
		{"wrong SDKAppID", withKey(keyV1), "", []string{"verify", "--sdkappid", "1400000001", "--user", "xiaojun", "--now", "1700000000", goV1}, 1, "",
			[]string{"ticket is for SDKAppID 1400000000, want 1400000001", "70009"}},
		{"wrong user", withKey(keyV1), "", []string{"verify", "--sdkappid", "1400000000", "--user", "bob", "--now", "1700000000", goV1}, 1, "",
			[]string{"identifier does not match"}},
		{"PMK verified as UserSig", withKey(keyV1), "", base("--now", "1700000000", goV4), 1, "",
			[]string{"userbuf does not match", "add --pmk"}},
		{"UserSig verified as PMK", withKey(keyV1), "", base("--now", "1700000000", "--pmk", goV1), 1, "",
			[]string{"not a PrivateMapKey"}},
		{"other room", withKey(keyV1), "", base("--now", "1700000000", "--pmk", "--str-room", "10000", goV4), 1, "",
			[]string{`ticket is for room 10000, want "10000"`}},
		{"malformed", withKey(keyV1), "", base("--now", "1700000000", "not+base64"), 1, "",
			[]string{"not a UserSig or PrivateMapKey", "bad base64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(tc.env, tc.stdin, tc.args...)
			if r.code != tc.code || r.stdout != tc.stdout {
				t.Fatalf("got %d %q (stderr %q); want %d %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q does not contain %q", r.stderr, s)
				}
			}
			for _, secret := range []string{keyV1, keyV2} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("output contains a secret key")
				}
			}
		})
	}
}

func TestCLIUsageErrors(t *testing.T) {
	sign := []string{"--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "60"}
	pmk := append(append([]string{}, sign...), "--room", "1", "--privileges", "1")
	cases := []struct {
		name   string
		env    map[string]string
		stdin  string
		args   []string
		stderr string
	}{
		{"no command", withKey(keyV1), "", nil, "usage: callsign <command>"},
		{"unknown command", withKey(keyV1), "", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no key", nil, "", append([]string{"sign"}, sign...), "no secret key: set CALLSIGN_SECRET_KEY"},
		{"blank key line", nil, "\n", append([]string{"sign"}, sign...), "no secret key"},
		{"key flag does not exist", withKey(keyV1), "", append([]string{"sign", "--key", "x"}, sign...), "flag provided but not defined: -key"},
		{"sign missing sdkappid", withKey(keyV1), "", []string{"sign", "--user", "u", "--ttl", "60"}, "--sdkappid is required"},
		{"sign missing user", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--ttl", "60"}, "--user is required"},
		{"sign missing ttl", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--user", "u"}, "--ttl is required"},
		{"sign ttl 0", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--user", "u", "--ttl", "0"}, "--ttl must be 1..15552000"},
		{"sign ttl too long", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--user", "u", "--ttl", "15552001"}, "--ttl must be 1..15552000"},
		{"sign ttl not a number", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--user", "u", "--ttl", "1h"}, "want a decimal integer"},
		{"sign sdkappid too big", withKey(keyV1), "", []string{"sign", "--sdkappid", "4294967296", "--user", "u", "--ttl", "60"}, "at most 32 bits"},
		{"sign sdkappid 0", withKey(keyV1), "", []string{"sign", "--sdkappid", "0", "--user", "u", "--ttl", "60"}, "sdkAppID must be"},
		{"sign bad user", withKey(keyV1), "", []string{"sign", "--sdkappid", "1", "--user", "a b", "--ttl", "60"}, "userID has a character"},
		{"sign extra argument", withKey(keyV1), "", append([]string{"sign", "extra"}, sign...), `unexpected argument "extra"`},
		{"pmk no room", withKey(keyV1), "", append([]string{"pmk", "--privileges", "1"}, sign...), "--room or --str-room is required"},
		{"pmk both rooms", withKey(keyV1), "", append([]string{"pmk", "--str-room", "a"}, pmk...), "either --room or --str-room"},
		{"pmk no privileges", withKey(keyV1), "", append([]string{"pmk", "--room", "1"}, sign...), "--privileges is required"},
		{"pmk privileges 256", withKey(keyV1), "", append([]string{"pmk", "--room", "1", "--privileges", "256"}, sign...), "--privileges must be 0..255"},
		{"pmk privileges bad hex", withKey(keyV1), "", append([]string{"pmk", "--room", "1", "--privileges", "0xZZ"}, sign...), "decimal or 0x-hex"},
		{"pmk room 0", withKey(keyV1), "", append([]string{"pmk", "--room", "0", "--privileges", "1"}, sign...), "no room ID"},
		{"pmk bad string room", withKey(keyV1), "", append([]string{"pmk", "--str-room", "a/b", "--privileges", "1"}, sign...), "disallowed character"},
		{"inspect no ticket", nil, "", []string{"inspect", "--json"}, "want exactly one TICKET"},
		{"inspect two tickets", nil, "", []string{"inspect", goV1, goV4}, "want exactly one TICKET"},
		{"inspect empty stdin", nil, "", []string{"inspect", "-"}, "no ticket on stdin"},
		{"verify no sdkappid", withKey(keyV1), "", []string{"verify", "--user", "u", goV1}, "--sdkappid is required"},
		{"verify no user", withKey(keyV1), "", []string{"verify", "--sdkappid", "1", goV1}, "--user is required"},
		{"verify room without pmk", withKey(keyV1), "", []string{"verify", "--sdkappid", "1", "--user", "u", "--room", "1", goV1}, "need --pmk"},
		{"verify no key", nil, "", []string{"verify", "--sdkappid", "1", "--user", "u", goV1}, "no secret key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(tc.env, tc.stdin, tc.args...)
			if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("got %d %q %q; want 2 and stderr containing %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
			if strings.Contains(r.stderr, keyV1) {
				t.Fatal("stderr contains the key")
			}
		})
	}
}

func TestCLIHelp(t *testing.T) {
	r := cli(nil, "", "help")
	// Other files (serve.go, config.go) register more commands; check ours
	// and the frame, in order.
	want := []string{
		"usage: callsign <command> [flags]\n\ncommands:\n",
		"  inspect  decode a ticket without a key (not a verification)\n",
		"  pmk      print a PrivateMapKey (room ticket)\n",
		"  sign     print a UserSig\n",
		"  verify   check a ticket with the secret key\n",
		"\nThe secret key comes from CALLSIGN_SECRET_KEY or, when unset, the first line of stdin.\n" +
			"Run 'callsign <command> -h' for the command's flags.\n",
	}
	rest := r.stdout
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("help output lacks %q (or has it out of order):\n%s", w, r.stdout)
		}
		rest = rest[i+len(w):]
	}
	if r.code != 0 || rest != "" || r.stderr != "" {
		t.Fatalf("help: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = cli(nil, "", "sign", "-h")
	if r.code != 0 || !strings.Contains(r.stderr, "usage: callsign sign --sdkappid N") || !strings.Contains(r.stderr, "-ttl") {
		t.Fatalf("sign -h: %d %q", r.code, r.stderr)
	}
}

// TestCLILeadingZeroIsDecimal: "010" means 10, not octal 8.
func TestCLILeadingZeroIsDecimal(t *testing.T) {
	r := cli(withKey(keyV1), "", "pmk", "--sdkappid", "1", "--user", "u", "--ttl", "60", "--now", "1700000000", "--room", "010", "--privileges", "010")
	if r.code != 0 {
		t.Fatalf("pmk: %d %q", r.code, r.stderr)
	}
	r = cli(nil, "", "inspect", "--json", "--now", "1700000000", strings.TrimSpace(r.stdout))
	if !strings.Contains(r.stdout, `"privateMapKey":{"roomID":10,"expiresAt":1700000060,"privileges":10}`) {
		t.Fatalf("inspect: %q", r.stdout)
	}
}

func TestCLIMalformedInspect(t *testing.T) {
	r := cli(nil, "", "inspect", "eJyrVgrxCdY")
	if r.code != exitFail || r.stdout != "" || !strings.Contains(r.stderr, "callsign inspect: usersig: malformed ticket") {
		t.Fatalf("got %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestBinary builds the real binary and runs it once with the key on stdin
// and once with it in the environment.
func TestBinary(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go tool not found: %v", err)
		}
		t.Skip("go tool not on PATH; install Go to run the binary test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "callsign")
	if out, err := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	args := []string{"sign", "--sdkappid", "1400000000", "--user", "xiaojun", "--ttl", "15552000", "--now", "1700000000"}

	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{}
	cmd.Stdin = strings.NewReader(keyV1 + "\n")
	out, err := cmd.Output()
	if err != nil || string(out) != goV1+"\n" {
		t.Fatalf("stdin key: %v %q", err, out)
	}

	cmd = exec.CommandContext(ctx, bin, "verify", "--sdkappid", "1400000000", "--user", "xiaojun", "--now", "1715552001", goV1)
	cmd.Env = []string{envSecretKey + "=" + keyV1}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "70001") {
		t.Fatalf("expired verify: %v %q", err, stderr.String())
	}
}

// pmkTicket wraps userbuf in a TLS 2.0 document for xiaojun / 1400000000 at
// 1700000000 + 60 s, with a well-formed but meaningless TLS.sig, compressed
// and Tencent-base64 encoded. inspect does not check the signature.
func pmkTicket(t *testing.T, userbuf []byte) string {
	t.Helper()
	doc := `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":60,"TLS.time":1700000000,` +
		`"TLS.userbuf":"` + base64.StdEncoding.EncodeToString(userbuf) + `","TLS.sig":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}`
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	if _, err := w.Write([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tencent := base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-").WithPadding('_')
	return tencent.EncodeToString(z.Bytes())
}

// TestCLIInspectOddRooms: inspect shows what the userbuf really holds. An
// official library's "empty string room" ticket is a numeric room 0, and a
// version-1 userbuf with an empty room string keeps its strRoomID.
func TestCLIInspectOddRooms(t *testing.T) {
	// cVer, wAccountLen, account, dwSdkAppid, then dwAuthID onwards.
	head := func(ver byte) []byte {
		return append([]byte{ver, 0, 7}, "xiaojun\x53\x72\x4e\x00"...)
	}
	tail := []byte{0x65, 0x53, 0xf1, 0x3c, 0, 0, 0, 0xff, 0, 0, 0, 0} // dwExpTime 1700000060, priv 255, type 0
	room0 := append(append(head(0), 0, 0, 0, 0), tail...)
	emptyStr := append(append(append(head(1), 0, 0, 0x27, 0x10), tail...), 0, 0)
	cases := []struct {
		name, ticket, json, text string
	}{
		{"numeric room 0", pmkTicket(t, room0),
			`"privateMapKey":{"roomID":0,"expiresAt":1700000060,"privileges":255}}`,
			"roomID:      0\nprivileges:"},
		{"version 1, empty room string, dwAuthID 10000", pmkTicket(t, emptyStr),
			`"privateMapKey":{"roomID":10000,"strRoomID":"","expiresAt":1700000060,"privileges":255}}`,
			"roomID:      10000\nstrRoomID:   \"\"\nprivileges:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(nil, "", "inspect", "--json", "--now", "1700000000", tc.ticket)
			if r.code != 0 || !strings.HasSuffix(r.stdout, tc.json+"\n") {
				t.Fatalf("inspect --json: %d %q %q; want suffix %q", r.code, r.stdout, r.stderr, tc.json)
			}
			r = cli(nil, "", "inspect", "--now", "1700000000", tc.ticket)
			if r.code != 0 || !strings.Contains(r.stdout, "PrivateMapKey (decoded") || !strings.Contains(r.stdout, tc.text) {
				t.Fatalf("inspect: %d %q %q; want %q", r.code, r.stdout, r.stderr, tc.text)
			}
		})
	}
}

// TestCLINoKeyFlag: no subcommand has a flag that could carry the secret
// key; the key comes only from CALLSIGN_SECRET_KEY or stdin.
func TestCLINoKeyFlag(t *testing.T) {
	flagName := regexp.MustCompile(`(?m)^  -([A-Za-z0-9_-]+)`)
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			r := cli(nil, "", name, "-h")
			flags := flagName.FindAllStringSubmatch(r.stderr, -1)
			if r.code != exitOK || len(flags) == 0 {
				t.Fatalf("%s -h: %d, %d flags listed in %q", name, r.code, len(flags), r.stderr)
			}
			for _, f := range flags {
				if n := strings.ToLower(f[1]); strings.Contains(n, "key") || strings.Contains(n, "secret") {
					t.Errorf("%s has flag -%s", name, f[1])
				}
			}
		})
	}
}
