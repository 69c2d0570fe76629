package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// forbiddenVerifier refuses every identity with ErrForbidden.
type forbiddenVerifier struct{}

func (forbiddenVerifier) Verify(context.Context, identity.Credentials) (identity.Identity, error) {
	return identity.Identity{}, fmt.Errorf("test: %w", identity.ErrForbidden)
}

// bannedAll bans every user.
type bannedAll struct{}

func (bannedAll) Lookup(context.Context, string) (ban.Entry, bool, error) {
	return ban.Entry{Banned: true}, true, nil
}

// refuseAll is a call policy that refuses every call.
type refuseAll struct{}

func (refuseAll) Allow(context.Context, string, []string, string, string) (bool, error) {
	return false, nil
}

// loadSpec loads and validates openapi.yaml (next to this file) and builds
// a router over it.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("openapi.yaml")
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is invalid: %v", err)
	}
	// The spec documents the local server; route on whatever host the
	// test request uses.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

func TestOpenAPIResponses(t *testing.T) {
	doc, router := loadSpec(t)
	errSchema := doc.Components.Schemas["ErrorBody"].Value

	type scenario struct {
		name   string
		cfg    envConfig
		req    func(t *testing.T, e *env) req
		status int
		// validRequest: the request itself must satisfy the spec.
		validRequest bool
	}
	post := func(path, body, user string) func(*testing.T, *env) req {
		return func(*testing.T, *env) req { return req{path: path, body: body, user: user} }
	}
	callToken := func(t *testing.T, e *env) string {
		return e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t).str("callToken")
	}
	scenarios := []scenario{
		{"usersig 200", envConfig{}, post("/v1/usersig", `{"ttlSeconds":3600}`, "alice"), 200, true},
		{"usersig 200 empty body", envConfig{}, post("/v1/usersig", ``, "alice"), 200, true},
		{"usersig 400", envConfig{}, post("/v1/usersig", `{"ttlSeconds":"x"}`, "alice"), 400, false},
		{"usersig 401", envConfig{}, post("/v1/usersig", `{}`, ""), 401, false},
		{"usersig 403", envConfig{svc: func(o *service.Options) { o.Verifier = forbiddenVerifier{} }}, post("/v1/usersig", `{}`, "alice"), 403, false},
		{"usersig 404 disabled", envConfig{api: func(o *api.Options) { o.Operations = []string{api.OpCallJoin} }}, post("/v1/usersig", `{}`, "alice"), 404, true},
		{"usersig 413", envConfig{}, post("/v1/usersig", `{"a":"`+strings.Repeat("a", 17000)+`"}`, "alice"), 413, false},
		{"usersig 429", envConfig{}, func(t *testing.T, e *env) req {
			for range 10 {
				e.do(req{path: "/v1/usersig", user: "alice"}).mustOK(t)
			}
			return req{path: "/v1/usersig", body: `{}`, user: "alice"}
		}, 429, true},
		{"usersig 429 auth failures", envConfig{}, func(t *testing.T, e *env) req {
			for range 10 {
				e.do(req{path: "/v1/usersig", bearer: "x"})
			}
			return req{path: "/v1/usersig", body: `{}`, bearer: "x"}
		}, 429, true},
		{"usersig 500", envConfig{svc: func(o *service.Options) { o.Verifier = panicVerifier{} }}, post("/v1/usersig", `{}`, "alice"), 500, true},
		{"usersig 503", envConfig{svc: func(o *service.Options) { o.Secrets = unavailableSecrets{} }}, post("/v1/usersig", `{}`, "alice"), 503, true},
		{"calls 200 string room", envConfig{}, post("/v1/calls", `{"type":"video","userIDList":["bob","carol"],"groupID":"@TGS#2C5SZEAEF"}`, "alice"), 200, true},
		{"calls 200 numeric room", envConfig{svc: func(o *service.Options) { o.RoomType = service.RoomTypeNumeric }}, post("/v1/calls", `{"type":1,"userIDList":["bob"]}`, "alice"), 200, true},
		{"calls 400", envConfig{}, post("/v1/calls", `{"type":"video","userIDList":["alice"]}`, "alice"), 400, false},
		{"calls 503 limiter", envConfig{svc: func(o *service.Options) { o.Limiter = closedLimiter{} }}, post("/v1/calls", `{"type":"video","userIDList":["bob"]}`, "alice"), 503, true},
		{"join 200", envConfig{}, func(t *testing.T, e *env) req {
			return req{path: "/v1/calls/join", body: `{"callToken":"` + callToken(t, e) + `"}`, user: "bob"}
		}, 200, true},
		{"join 401", envConfig{}, post("/v1/calls/join", `{"callToken":"a.b.c"}`, "bob"), 401, true},
		{"join 403", envConfig{}, func(t *testing.T, e *env) req {
			return req{path: "/v1/calls/join", body: `{"callToken":"` + callToken(t, e) + `"}`, user: "mallory"}
		}, 403, true},
		{"join 410", envConfig{}, func(t *testing.T, e *env) req {
			tok := callToken(t, e)
			e.clock.Advance(10 * time.Minute)
			return req{path: "/v1/calls/join", body: `{"callToken":"` + tok + `"}`, user: "bob"}
		}, 410, true},
		{"session 200", envConfig{wechat: true}, post("/v1/session", `{"code":"good-abc"}`, ""), 200, true},
		{"session 401", envConfig{wechat: true}, post("/v1/session", `{"code":"wrong"}`, ""), 401, true},
		{"session 403", envConfig{wechat: true}, post("/v1/session", `{"code":"blocked"}`, ""), 403, true},
		{"session 404", envConfig{}, post("/v1/session", `{"code":"good-abc"}`, ""), 404, true},
		{"session 429 upstream", envConfig{wechat: true}, post("/v1/session", `{"code":"limited"}`, ""), 429, true},
		{"session 500", envConfig{wechat: true}, post("/v1/session", `{"code":"misconfigured"}`, ""), 500, true},
		{"session 503", envConfig{wechat: true}, post("/v1/session", `{"code":"busy"}`, ""), 503, true},
		{"healthz 200", envConfig{}, func(*testing.T, *env) req { return req{method: "GET", path: "/healthz"} }, 200, true},
		{"trtc callback 200", envConfig{enforce: true}, func(t *testing.T, e *env) req { return enterEvent("c_unknownRoom", "eve", 1764777600000) }, 200, true},
		{"trtc callback 200 removal", envConfig{enforce: true}, func(t *testing.T, e *env) req {
			call := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t)
			return enterEvent(call.body["roomID"].(map[string]any)["str"].(string), "eve", 1764777600000)
		}, 200, true},
		{"trtc callback 400", envConfig{enforce: true}, func(t *testing.T, e *env) req {
			r := enterEvent("c_x", "eve", 1)
			r.body = `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":0}}`
			r.headers["Sign"] = trtcevent.Sign(callbackKey, []byte(r.body))
			return r
		}, 400, false},
		{"trtc callback 401", envConfig{enforce: true}, func(t *testing.T, e *env) req {
			r := enterEvent("c_x", "eve", 1)
			r.headers["Sign"] = "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA="
			return r
		}, 401, true},
		{"trtc callback 404", envConfig{}, func(t *testing.T, e *env) req { return enterEvent("c_x", "eve", 1) }, 404, true},
		{"trtc callback 413", envConfig{enforce: true}, func(t *testing.T, e *env) req {
			r := enterEvent("c_x", "eve", 1)
			r.body = `{"EventGroupId":1,"EventType":103,"EventInfo":{"RoomId":"` + strings.Repeat("x", 17000) + `"}}`
			return r
		}, 413, false},
		{"trtc callback 503", envConfig{enforce: true}, func(t *testing.T, e *env) req {
			e.trtc.SetFailure(func(int, trtcapitest.Call) string { return "InternalError" })
			call := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t)
			return enterEvent(call.body["roomID"].(map[string]any)["str"].(string), "eve", 1764777600000)
		}, 503, true},
	}
	callCallback := func(appID, body string) func(*testing.T, *env) req {
		return func(*testing.T, *env) req {
			return req{path: "/v1/callbacks/call?SdkAppid=" + appID + "&CallbackCommand=Call.CallbackAfterStartCall&contenttype=json&ClientIP=203.0.113.7&OptPlatform=Web",
				body: body, headers: map[string]string{"Content-Type": "application/json"}}
		}
	}
	const afterStart = `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"k1","RoomId":"c_x","RoomIdType":2},"UserList":[{"User_Account":"alice","Status":"Calling"}],"EventTime":1764777600123}`
	scenarios = append(scenarios,
		scenario{"usersig 403 user_banned", envConfig{svc: func(o *service.Options) { o.Bans = bannedAll{} }}, post("/v1/usersig", `{}`, "alice"), 403, true},
		scenario{"calls 403 call_not_allowed", envConfig{svc: func(o *service.Options) { o.Policy = refuseAll{} }}, post("/v1/calls", `{"type":"video","userIDList":["bob"]}`, "alice"), 403, true},
		scenario{"call callback 200", envConfig{enforce: true}, callCallback("1400000000", afterStart), 200, true},
		scenario{"call callback 400", envConfig{enforce: true}, callCallback("1400000000", `[]`), 400, false},
		scenario{"call callback 401", envConfig{enforce: true}, callCallback("1400000001", afterStart), 401, true},
		scenario{"call callback 404", envConfig{}, callCallback("1400000000", afterStart), 404, true},
	)
	documented := map[string]map[int]bool{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t, sc.cfg)
			rq := sc.req(t, e)
			httpReq, res := e.send(rq)
			if res.status != sc.status {
				t.Fatalf("status %d, want %d: %s", res.status, sc.status, res.raw)
			}
			route, params, err := router.FindRoute(httpReq)
			if err != nil {
				t.Fatalf("route: %v", err)
			}
			opts := &openapi3filter.Options{
				IncludeResponseStatus: true,
				AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			}
			in := &openapi3filter.RequestValidationInput{Request: httpReq, PathParams: params, Route: route, Options: opts}
			if sc.validRequest {
				// Re-create the body the handler consumed.
				httpReq.Body = io.NopCloser(strings.NewReader(rq.body))
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Fatalf("request does not satisfy the spec: %v", err)
				}
			}
			if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 res.status,
				Header:                 res.header,
				Body:                   io.NopCloser(bytes.NewReader(res.raw)),
				Options:                opts,
			}); err != nil {
				t.Fatalf("response does not satisfy the spec: %v\n%s", err, res.raw)
			}
			key := route.Method + " " + route.Path
			if documented[key] == nil {
				documented[key] = map[int]bool{}
			}
			documented[key][res.status] = true
		})
	}

	// Responses the router cannot attribute to an operation (unknown
	// routes, wrong methods) still carry the documented error body.
	e := newEnv(t, envConfig{})
	for _, rq := range []req{
		{method: "GET", path: "/nope"},
		{method: "GET", path: "/v1/usersig"},
		{method: "PUT", path: "/v1/calls/join"},
		{method: "POST", path: "/healthz"},
	} {
		res := e.do(rq)
		var v any
		if err := json.Unmarshal(res.raw, &v); err != nil {
			t.Fatal(err)
		}
		if err := errSchema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s %s: error body does not match ErrorBody: %v", rq.method, rq.path, err)
		}
		if res.status == 405 && res.header.Get("Allow") == "" {
			t.Fatalf("%s %s: 405 without Allow", rq.method, rq.path)
		}
	}

	// Every documented status of every operation was exercised above.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			for code := range op.Responses.Map() {
				var status int
				fmt.Sscanf(code, "%d", &status)
				if status == 405 {
					continue // checked above via the schema
				}
				if status == 404 && key != "POST /v1/usersig" && key != "POST /v1/session" {
					continue // the same shared response as POST /v1/usersig
				}
				if !documented[key][status] && !sharedCovered(status) {
					t.Errorf("%s %d is documented but never exercised", key, status)
				}
			}
		}
	}
}

// sharedCovered lists statuses whose response object is shared
// (components/responses) and exercised on at least one operation.
func sharedCovered(status int) bool {
	switch status {
	case 400, 401, 403, 413, 429, 500, 503:
		return true
	}
	return false
}
