package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
)

// logRecord is one parsed JSON log line.
type logRecord map[string]any

func parseLogs(t *testing.T, s string) []logRecord {
	t.Helper()
	var out []logRecord
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r logRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, r)
	}
	return out
}

func TestLogging(t *testing.T) {
	e := newEnv(t, envConfig{wechat: true})
	var secrets []string
	keep := func(r *result, keys ...string) {
		for _, k := range keys {
			if v := r.str(k); v != "" {
				secrets = append(secrets, v)
			}
		}
	}
	ctx := func(id string) context.Context { return api.WithRequestID(context.Background(), id) }

	s := e.do(req{path: "/v1/session", body: `{"code":"good-logtest"}`, ctx: ctx("rid-session")}).mustOK(t)
	keep(s, "sessionToken", "userSig")
	u := e.do(req{path: "/v1/usersig", bearer: s.str("sessionToken"), ctx: ctx("rid-usersig")}).mustOK(t)
	keep(u, "userSig")
	c := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice", ctx: ctx("rid-create")}).mustOK(t)
	keep(c, "privateMapKey", "callToken")
	j := e.do(req{path: "/v1/calls/join", body: `{"callToken":"` + c.str("callToken") + `"}`, user: "bob", ctx: ctx("rid-join")}).mustOK(t)
	keep(j, "privateMapKey")
	e.do(req{path: "/v1/calls/join", body: `{"callToken":"` + c.str("callToken") + `"}`, user: "carol", ctx: ctx("rid-refused")}).wantError(t, 403, "not_invited")
	e.do(req{path: "/v1/usersig", bearer: "not-a-token-but-secret-looking", ctx: ctx("rid-badauth")}).wantError(t, 401, "unauthenticated")
	e.api.Do(context.Background(), api.Action{RequestID: "rid-action", Name: "usersig", Data: json.RawMessage(`{}`), Credentials: identity.Credentials{DevUser: "dave"}})

	raw := e.logs.String()
	for _, leak := range append(secrets, testKey, appSecret, sessionKey, "good-logtest", "not-a-token-but-secret-looking", "Bearer") {
		if strings.Contains(raw, leak) {
			t.Fatalf("log contains a credential (%.12s...):\n%s", leak, raw)
		}
	}

	d, _ := identity.NewDeriver(identity.ModeHash, "wx_")
	wxUser, _ := d.Derive("ologtest")
	want := map[string]struct {
		transport, op, userID, outcome string
		status                         float64
	}{
		"rid-session": {"http", "session", wxUser, "ok", 200},
		"rid-usersig": {"http", "usersig", wxUser, "ok", 200},
		"rid-create":  {"http", "call.create", "alice", "ok", 200},
		"rid-join":    {"http", "call.join", "bob", "ok", 200},
		"rid-refused": {"http", "call.join", "carol", "not_invited", 403},
		"rid-badauth": {"http", "usersig", "", "unauthenticated", 401},
		"rid-action":  {"action", "usersig", "dave", "ok", 200},
	}
	seen := map[string]bool{}
	for _, r := range parseLogs(t, raw) {
		if r["msg"] != "request" {
			continue
		}
		id, _ := r["requestID"].(string)
		w, ok := want[id]
		if !ok {
			t.Fatalf("unexpected access line %v", r)
		}
		seen[id] = true
		uid, _ := r["userID"].(string)
		if r["transport"] != w.transport || r["op"] != w.op || uid != w.userID || r["outcome"] != w.outcome || r["status"] != w.status || r["level"] != "INFO" {
			t.Fatalf("access line %v, want %+v", r, w)
		}
		if _, ok := r["durationMs"].(float64); !ok {
			t.Fatalf("no durationMs in %v", r)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("saw access lines for %v, want %d", seen, len(want))
	}
}

func TestLoggingServerErrors(t *testing.T) {
	e := newEnv(t, envConfig{svc: func(o *service.Options) { o.Secrets = unavailableSecrets{} }})
	e.do(req{path: "/v1/usersig", user: "alice", ctx: api.WithRequestID(context.Background(), "rid-503")}).wantError(t, 503, "unavailable")
	p := newEnv(t, envConfig{svc: func(o *service.Options) { o.Verifier = panicVerifier{} }})
	p.do(req{path: "/v1/usersig", user: "alice", ctx: api.WithRequestID(context.Background(), "rid-500")}).wantError(t, 500, "internal")

	var sawCause, sawAccess503, sawPanic, sawAccess500 bool
	for _, r := range append(parseLogs(t, e.logs.String()), parseLogs(t, p.logs.String())...) {
		switch {
		case r["msg"] == "loading the signing secret failed":
			sawCause = r["level"] == "ERROR" && strings.Contains(r["error"].(string), "secret: unavailable")
		case r["msg"] == "request" && r["requestID"] == "rid-503":
			sawAccess503 = r["level"] == "WARN" && r["status"] == float64(503) && r["userID"] == "alice"
		case r["msg"] == "panic serving request":
			sawPanic = r["requestID"] == "rid-500" && r["panicType"] == "string" && strings.Contains(r["stack"].(string), "panicVerifier")
		case r["msg"] == "request" && r["requestID"] == "rid-500":
			sawAccess500 = r["status"] == float64(500) && r["outcome"] == "internal"
		}
	}
	if !sawCause || !sawAccess503 || !sawPanic || !sawAccess500 {
		t.Fatalf("cause %v access503 %v panic %v access500 %v\n%s\n%s", sawCause, sawAccess503, sawPanic, sawAccess500, e.logs, p.logs)
	}
	if strings.Contains(p.logs.String(), testKey) {
		t.Fatal("panic value (which holds the key) was logged")
	}
}
