package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/service"
)

// createCall returns a call token from alice to bob.
func createCall(t *testing.T, e *env) string {
	t.Helper()
	r := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t)
	return r.str("callToken")
}

func TestEveryErrorCode(t *testing.T) {
	tests := []struct {
		name    string
		cfg     envConfig
		setup   func(t *testing.T, e *env) req
		status  int
		code    string
		message string
		headers map[string]string
	}{
		{"invalid_request", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", body: `{"ttlSeconds":"soon"}`, user: "alice"}
		}, 400, "invalid_request", `field "ttlSeconds" must be an integer`, nil},
		{"unauthenticated: no credentials", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig"}
		}, 401, "unauthenticated", "authentication required", nil},
		{"unauthenticated: bad bearer", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", bearer: "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJjYWxsc2lnbiJ9.AAAA"}
		}, 401, "unauthenticated", "invalid credentials", nil},
		{"unauthenticated: bad call token", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/calls/join", body: `{"callToken":"abc.def.ghi"}`, user: "bob"}
		}, 401, "unauthenticated", "invalid call token", nil},
		{"forbidden", envConfig{svc: func(o *service.Options) { o.Verifier = forbiddenVerifier{} }}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", user: "alice"}
		}, 403, "forbidden", "this identity may not use callsign", nil},
		{"not_invited", envConfig{}, func(t *testing.T, e *env) req {
			return req{path: "/v1/calls/join", body: `{"callToken":"` + createCall(t, e) + `"}`, user: "mallory"}
		}, 403, "not_invited", "you are not invited to this call", nil},
		{"not_found: route", envConfig{}, func(*testing.T, *env) req {
			return req{method: "GET", path: "/v1/nope"}
		}, 404, "not_found", "no such route", nil},
		{"not_found: disabled operation", envConfig{api: func(o *api.Options) { o.Operations = []string{api.OpUserSig} }}, func(*testing.T, *env) req {
			return req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}
		}, 404, "not_found", "no such route", nil},
		{"not_found: sessions off", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/session", body: `{"code":"good-x"}`}
		}, 404, "not_found", "sessions are not enabled on this deployment", nil},
		{"method_not_allowed", envConfig{}, func(*testing.T, *env) req {
			return req{method: "GET", path: "/v1/usersig"}
		}, 405, "method_not_allowed", "method not allowed; use POST", map[string]string{"Allow": "POST"}},
		{"method_not_allowed: healthz", envConfig{}, func(*testing.T, *env) req {
			return req{method: "DELETE", path: "/healthz"}
		}, 405, "method_not_allowed", "method not allowed; use GET, HEAD", map[string]string{"Allow": "GET, HEAD"}},
		{"expired", envConfig{}, func(t *testing.T, e *env) req {
			tok := createCall(t, e)
			e.clock.Advance(121 * time.Second)
			return req{path: "/v1/calls/join", body: `{"callToken":"` + tok + `"}`, user: "bob"}
		}, 410, "expired", "call token expired", nil},
		{"payload_too_large", envConfig{}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", body: `{"ttlSeconds":60` + strings.Repeat(" ", 16<<10) + `}`, user: "alice"}
		}, 413, "payload_too_large", "request body exceeds 16384 bytes", nil},
		{"payload_too_large: custom limit", envConfig{api: func(o *api.Options) { o.MaxBodyBytes = 10 }}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", body: `{"ttlSeconds":600}`, user: "alice"}
		}, 413, "payload_too_large", "request body exceeds 10 bytes", nil},
		{"rate_limited", envConfig{}, func(t *testing.T, e *env) req {
			for range 10 {
				e.do(req{path: "/v1/usersig", user: "alice"}).mustOK(t)
			}
			return req{path: "/v1/usersig", user: "alice"}
		}, 429, "rate_limited", "too many requests for this user", map[string]string{
			"Retry-After": "6", "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
		}},
		{"rate_limited: failed authentication per IP", envConfig{}, func(t *testing.T, e *env) req {
			for range 10 {
				e.do(req{path: "/v1/usersig", user: "bad user"}).wantError(t, 401, "unauthenticated")
			}
			return req{path: "/v1/usersig", user: "bad user"}
		}, 429, "rate_limited", "too many failed authentication attempts; retry later", map[string]string{
			"Retry-After": "3", "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "30",
		}},
		{"unavailable: secret store", envConfig{svc: func(o *service.Options) { o.Secrets = unavailableSecrets{} }}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", user: "alice"}
		}, 503, "unavailable", "signing secret unavailable; retry later", nil},
		{"unavailable: limiter closed", envConfig{svc: func(o *service.Options) { o.Limiter = closedLimiter{} }}, func(*testing.T, *env) req {
			return req{path: "/v1/calls", body: `{"type":"audio","userIDList":["bob"]}`, user: "alice"}
		}, 503, "unavailable", "rate limiter unavailable; retry later", nil},
		{"internal: panicking collaborator", envConfig{svc: func(o *service.Options) { o.Verifier = panicVerifier{} }}, func(*testing.T, *env) req {
			return req{path: "/v1/usersig", user: "alice"}
		}, 500, "internal", "internal error", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			rq := tt.setup(t, e)
			r := e.do(rq)
			r.wantError(t, tt.status, tt.code)
			if r.errMessage() != tt.message {
				t.Fatalf("message %q, want %q", r.errMessage(), tt.message)
			}
			for k, v := range tt.headers {
				if got := r.header.Get(k); got != v {
					t.Fatalf("header %s = %q, want %q", k, got, v)
				}
			}
			if tt.status == 429 {
				e := r.body["error"].(map[string]any)
				if strconv.Itoa(int(e["retryAfterSeconds"].(float64))) != tt.headers["Retry-After"] {
					t.Fatalf("retryAfterSeconds %v", e["retryAfterSeconds"])
				}
			} else if strings.Contains(string(r.raw), "retryAfterSeconds") {
				t.Fatalf("retryAfterSeconds on a %d", tt.status)
			}
			logs := e.logs.String()
			for _, leak := range []string{testKey, "127.0.0.1:6379", "connection refused"} {
				if strings.Contains(string(r.raw), leak) {
					t.Fatalf("response leaks %q", leak)
				}
			}
			if strings.Contains(logs, testKey) {
				t.Fatal("log contains the secret key")
			}
		})
	}
}

func TestHostileBodies(t *testing.T) {
	bigArray := `{"type":"video","userIDList":[` + strings.TrimSuffix(strings.Repeat(`"u",`, 3000), ",") + `]}`
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	tests := []struct {
		name, path, body, msg string
		status                int
	}{
		{"malformed", "/v1/usersig", `{"ttlSeconds":`, "request body is not valid JSON", 400},
		{"not json", "/v1/usersig", `ttlSeconds=60`, "request body is not valid JSON", 400},
		{"array body", "/v1/usersig", `[1,2]`, "request body must be a JSON object", 400},
		{"string body", "/v1/calls", `"video"`, "request body must be a JSON object", 400},
		{"deep nesting", "/v1/calls", deep, "request body must be a JSON object", 400},
		{"trailing data", "/v1/usersig", `{} {}`, "request body has data after the JSON object", 400},
		{"trailing garbage", "/v1/usersig", `{}x`, "request body has data after the JSON object", 400},
		{"trailing whitespace ok", "/v1/usersig", "{}\n\t ", "", 200},
		{"null body ok", "/v1/usersig", `null`, "", 200},
		{"float ttl", "/v1/usersig", `{"ttlSeconds":60.5}`, `field "ttlSeconds" must be an integer`, 400},
		{"huge ttl", "/v1/usersig", `{"ttlSeconds":1e30}`, `field "ttlSeconds" must be an integer`, 400},
		{"negative ttl", "/v1/usersig", `{"ttlSeconds":-1}`, "ttlSeconds must be at least 60", 400},
		{"type wrong", "/v1/calls", `{"type":true,"userIDList":["bob"]}`, `type must be "audio", "video", 1 (audio) or 2 (video)`, 400},
		{"type 3", "/v1/calls", `{"type":3,"userIDList":["bob"]}`, `type must be "audio", "video", 1 (audio) or 2 (video)`, 400},
		{"type null", "/v1/calls", `{"type":null,"userIDList":["bob"]}`, `type is required ("audio" or "video")`, 400},
		{"list not array", "/v1/calls", `{"type":"video","userIDList":"bob"}`, `field "userIDList" must be an array`, 400},
		{"list of numbers", "/v1/calls", `{"type":"video","userIDList":[1]}`, `field "userIDList" must be a string`, 400},
		{"huge array", "/v1/calls", bigArray, "userIDList may name at most 8 invitees", 400},
		{"invalid userID", "/v1/calls", `{"type":"video","userIDList":["b\u00f6b"]}`, "userIDList[0] is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)", 400},
		{"invalid utf8 userID", "/v1/calls", "{\"type\":\"video\",\"userIDList\":[\"b\xffb\"]}", "userIDList[0] is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)", 400},
		{"empty userID", "/v1/calls", `{"type":"video","userIDList":[""]}`, "userIDList[0] is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)", 400},
		{"groupID wrong type", "/v1/calls", `{"type":"video","userIDList":["bob"],"groupID":7}`, `field "groupID" must be a string`, 400},
		{"callToken object", "/v1/calls/join", `{"callToken":{}}`, `field "callToken" must be a string`, 400},
		{"callToken empty", "/v1/calls/join", `{}`, "callToken is required", 400},
		{"callToken huge", "/v1/calls/join", `{"callToken":"` + strings.Repeat("a", 10000) + `"}`, "invalid call token", 401},
		{"long unknown field", "/v1/usersig", `{"` + strings.Repeat("k", 100) + `":1}`, `unknown field "` + strings.Repeat("k", 40) + `..."`, 400},
		{"privileges field", "/v1/calls", `{"type":"video","userIDList":["bob"],"privileges":255}`, `unknown field "privileges"`, 400},
		{"room field", "/v1/calls", `{"type":"video","userIDList":["bob"],"roomID":{"num":1}}`, `unknown field "roomID"`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			r := e.do(req{path: tt.path, body: tt.body, user: "alice"})
			if tt.status == 200 {
				r.mustOK(t)
				return
			}
			code := "invalid_request"
			if tt.status == 401 {
				code = "unauthenticated"
			}
			r.wantError(t, tt.status, code)
			if r.errMessage() != tt.msg {
				t.Fatalf("message %q, want %q", r.errMessage(), tt.msg)
			}
		})
	}
}

func TestRoutingAndMethods(t *testing.T) {
	e := newEnv(t, envConfig{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/", 404, "not_found"},
		{"POST", "/v1/usersig/", 404, "not_found"},
		{"POST", "/v1//usersig", 404, "not_found"},
		{"POST", "/v1/./usersig", 404, "not_found"},
		{"POST", "/v1/calls/../usersig", 404, "not_found"},
		{"POST", "/V1/USERSIG", 404, "not_found"},
		{"PUT", "/v1/calls", 405, "method_not_allowed"},
		{"GET", "/v1/calls/join", 405, "method_not_allowed"},
		{"OPTIONS", "/v1/session", 405, "method_not_allowed"},
		{"POST", "/healthz", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		r := e.do(req{method: tt.method, path: tt.path, user: "alice"})
		r.wantError(t, tt.status, tt.code)
	}
	h := e.do(req{method: "GET", path: "/healthz"}).mustOK(t)
	if string(h.raw) != "{\"status\":\"ok\"}\n" || h.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("healthz %q %v", h.raw, h.header)
	}
	if head := e.do(req{method: "HEAD", path: "/healthz"}); head.status != 200 {
		t.Fatalf("HEAD /healthz %d", head.status)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, envConfig{})
	allowed, other := "https://app.example.com", "https://evil.example.net"
	tests := []struct {
		name        string
		method      string
		origin      string
		preflight   bool
		status      int
		allowOrigin string
	}{
		{"no origin (mini-program)", "POST", "", false, 200, ""},
		{"allowed origin", "POST", allowed, false, 200, allowed},
		{"disallowed origin served without CORS headers", "POST", other, false, 200, ""},
		{"allowed preflight", "OPTIONS", allowed, true, 204, allowed},
		{"disallowed preflight", "OPTIONS", other, true, 403, ""},
		{"origin case matters", "POST", "https://APP.example.com", false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			if tt.preflight {
				h["Access-Control-Request-Method"] = "POST"
				h["Access-Control-Request-Headers"] = "authorization, content-type"
			}
			r := e.do(req{method: tt.method, path: "/v1/usersig", user: "alice", headers: h})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.status, r.raw)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Fatalf("Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
				t.Fatal("no Vary: Origin")
			}
			switch {
			case tt.status == 204:
				if r.header.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" ||
					r.header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, X-Callsign-User" ||
					r.header.Get("Access-Control-Max-Age") != "600" || len(r.raw) != 0 {
					t.Fatalf("preflight headers %v", r.header)
				}
			case tt.status == 403:
				r.wantError(t, 403, "forbidden")
			case tt.allowOrigin != "":
				if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
					t.Fatal("Retry-After not exposed")
				}
			}
		})
	}
	// Without an allow-list there is no Vary and no CORS at all.
	none := newEnv(t, envConfig{api: func(o *api.Options) { o.AllowedOrigins = nil }})
	r := none.do(req{path: "/v1/usersig", user: "alice", headers: map[string]string{"Origin": allowed}})
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Fatalf("no allow-list: %d %v", r.status, r.header)
	}
}

func TestRequestID(t *testing.T) {
	e := newEnv(t, envConfig{})
	r := e.do(req{path: "/v1/usersig", user: "alice", ctx: api.WithRequestID(context.Background(), "lambda-req-42")}).mustOK(t)
	if r.header.Get("X-Request-Id") != "lambda-req-42" {
		t.Fatalf("X-Request-Id %q", r.header.Get("X-Request-Id"))
	}
	// A client-sent X-Request-Id is not trusted; a hostile platform ID is replaced.
	for _, ctx := range []context.Context{
		context.Background(),
		api.WithRequestID(context.Background(), "bad\nid"),
		api.WithRequestID(context.Background(), strings.Repeat("x", 129)),
	} {
		r := e.do(req{path: "/v1/usersig", user: "bob", ctx: ctx, headers: map[string]string{"X-Request-Id": "client-chosen"}})
		id := r.header.Get("X-Request-Id")
		if len(id) != 26 || id == "client-chosen" {
			t.Fatalf("generated request ID %q", id)
		}
	}
	if api.RequestIDFromContext(context.Background()) != "" {
		t.Fatal("RequestIDFromContext on empty context")
	}
}

func TestRateLimitHeadersOnSuccess(t *testing.T) {
	e := newEnv(t, envConfig{})
	for i := range 3 {
		r := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t)
		if r.header.Get("RateLimit-Limit") != "5" || r.header.Get("RateLimit-Remaining") != strconv.Itoa(4-i) {
			t.Fatalf("request %d: limit %q remaining %q", i, r.header.Get("RateLimit-Limit"), r.header.Get("RateLimit-Remaining"))
		}
	}
}

func TestOperationsFilter(t *testing.T) {
	e := newEnv(t, envConfig{api: func(o *api.Options) { o.Operations = []string{api.OpCallJoin, "bogus"} }})
	e.do(req{path: "/v1/usersig", user: "alice"}).wantError(t, 404, "not_found")
	e.do(req{method: "GET", path: "/v1/usersig", user: "alice"}).wantError(t, 404, "not_found")
	e.do(req{path: "/v1/calls/join", user: "bob", body: `{}`}).wantError(t, 400, "invalid_request")
	e.do(req{method: "GET", path: "/healthz"}).mustOK(t)
	if !strings.Contains(e.logs.String(), `"msg":"ignoring unknown operation in API options","op":"bogus"`) {
		t.Fatalf("unknown operation not logged: %s", e.logs.String())
	}
	out := e.api.Do(context.Background(), api.Action{Name: "usersig", Credentials: identity.Credentials{DevUser: "alice"}})
	if string(out) != `{"ok":false,"error":{"code":"not_found","message":"unknown action"}}` {
		t.Fatalf("disabled action: %s", out)
	}
}

// TestServeHTTPDirect drives the handler with a bodiless request and checks
// Content-Length.
func TestServeHTTPDirect(t *testing.T) {
	e := newEnv(t, envConfig{})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/usersig", nil)
	r.Header.Set("X-Callsign-User", "alice")
	e.api.ServeHTTP(w, r)
	var body map[string]any
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &body) != nil || body["userID"] != "alice" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("Content-Length %q for %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
}

func TestLimiterUnavailableOnAuthFailure(t *testing.T) {
	// A failing limiter never turns a 401 into something else.
	e := newEnv(t, envConfig{svc: func(o *service.Options) { o.Limiter = closedLimiter{} }})
	e.do(req{path: "/v1/usersig", user: "bad user"}).wantError(t, 401, "unauthenticated")
	var _ ratelimit.Limiter = closedLimiter{}
}
