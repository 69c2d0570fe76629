package awslambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/platform/awslambda"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
)

func lambdaCtx(id string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
}

const (
	v2Event = `{"version":"2.0","routeKey":"POST /v1/usersig","rawPath":"/v1/usersig","rawQueryString":"a=1&b=2",
 "cookies":["c1=v1","c2=v2"],
 "headers":{"content-type":"application/json","authorization":"Bearer t","host":"api.example.com"},
 "requestContext":{"requestId":"gw-1","domainName":"api.example.com",
   "http":{"method":"POST","path":"/v1/usersig","sourceIp":"203.0.113.9"},
   "authorizer":{"jwt":{"claims":{"sub":"user-1","iat":1700000000,"groups":["a","b"]},"scopes":null}}},
 "body":"eyJ0dGxTZWNvbmRzIjo2MH0=","isBase64Encoded":true}`
	urlEvent = `{"version":"2.0","routeKey":"$default","rawPath":"/v1/usersig","rawQueryString":"",
 "headers":{"authorization":"Bearer u","host":"abc.lambda-url.us-east-1.on.aws"},
 "requestContext":{"requestId":"url-1","domainName":"abc.lambda-url.us-east-1.on.aws",
   "authorizer":{"jwt":{"claims":{"sub":"forged"}}},
   "http":{"method":"POST","path":"/v1/usersig","sourceIp":"2001:db8::1"}},
 "body":"{}","isBase64Encoded":false}`
	urlNoRouteKey = `{"version":"2.0","rawPath":"/healthz","headers":{},"requestContext":{"http":{"method":"GET","sourceIp":"198.51.100.7"}}}`
	v1Event       = `{"resource":"/{proxy+}","path":"/v1/calls","httpMethod":"POST",
 "headers":{"Content-Type":"application/json","X-Single":"one"},
 "multiValueHeaders":{"Content-Type":["application/json"],"X-Multi":["a","b"],"Authorization":["Bearer r"]},
 "queryStringParameters":{"q":"z"},
 "multiValueQueryStringParameters":{"q":["x","y"]},
 "requestContext":{"requestId":"rest-1","domainName":"x.execute-api.eu-west-1.amazonaws.com",
   "identity":{"sourceIp":"192.0.2.10"},"authorizer":{"claims":{"sub":"forged"},"principalId":"p"}},
 "body":"{\"type\":\"video\"}","isBase64Encoded":false}`
	invokeEvent = `{"action":"usersig","data":{"ttlSeconds":60,"userID":"someone-else"},"authorization":"Bearer s"}`
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  awslambda.EventKind
		err   bool
	}{
		{"http api v2", v2Event, awslambda.EventHTTPAPI, false},
		{"function url with $default route", urlEvent, awslambda.EventFunctionURL, false},
		{"function url without routeKey", urlNoRouteKey, awslambda.EventFunctionURL, false},
		{"rest v1", v1Event, awslambda.EventREST, false},
		{"http api payload 1.0", `{"version":"1.0","httpMethod":"GET","path":"/healthz"}`, awslambda.EventREST, false},
		{"direct invoke", invokeEvent, awslambda.EventInvoke, false},
		{"2.0 without requestContext.http", `{"version":"2.0","routeKey":"$default","requestContext":{}}`, awslambda.EventUnknown, true},
		{"empty object", `{}`, awslambda.EventUnknown, true},
		{"null action", `{"action":null}`, awslambda.EventUnknown, true},
		{"array", `[1,2]`, awslambda.EventUnknown, true},
		{"string", `"hello"`, awslambda.EventUnknown, true},
		{"requestContext not an object", `{"version":"2.0","requestContext":"x"}`, awslambda.EventUnknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awslambda.Classify([]byte(tt.event))
			if got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
			var ee *awslambda.EventError
			if tt.err != errors.As(err, &ee) {
				t.Errorf("Classify error = %v, want EventError: %v", err, tt.err)
			}
		})
	}
}

func TestEventKindString(t *testing.T) {
	tests := map[awslambda.EventKind]string{
		awslambda.EventUnknown: "unknown", awslambda.EventHTTPAPI: "http-api-v2",
		awslambda.EventFunctionURL: "function-url", awslambda.EventREST: "rest-v1", awslambda.EventInvoke: "invoke",
	}
	for k, want := range tests {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

func invoke(t *testing.T, app awslambda.App, event string) json.RawMessage {
	t.Helper()
	out, err := awslambda.NewHandler(app, nil).Invoke(lambdaCtx("lambda-1"), json.RawMessage(event))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return out
}

func seen(t *testing.T, body string) apptest.Seen {
	t.Helper()
	var s apptest.Seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decoding echoed request %q: %v", body, err)
	}
	return s
}

func TestHTTPAPIv2(t *testing.T) {
	app := &apptest.App{}
	out := invoke(t, app, v2Event)
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.IsBase64Encoded || !reflect.DeepEqual(resp.Headers, map[string]string{"Content-Type": "application/json"}) || len(resp.Cookies) != 0 {
		t.Errorf("response = %+v", resp)
	}
	got := seen(t, resp.Body)
	want := apptest.Seen{
		Method:   "POST",
		Path:     "/v1/usersig",
		RawQuery: "a=1&b=2",
		Host:     "api.example.com",
		Header: map[string][]string{
			"Authorization": {"Bearer t"},
			"Content-Type":  {"application/json"},
			"Cookie":        {"c1=v1; c2=v2"},
		},
		Body:       `{"ttlSeconds":60}`,
		RemoteAddr: "203.0.113.9:0",
		RequestID:  "lambda-1",
		Claims:     map[string]string{"sub": "user-1", "iat": "1700000000", "groups": `["a","b"]`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("app saw\n%+v\nwant\n%+v", got, want)
	}
}

func TestFunctionURLNeverCarriesClaims(t *testing.T) {
	app := &apptest.App{}
	out := invoke(t, app, urlEvent)
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	got := seen(t, resp.Body)
	if got.Claims != nil {
		t.Errorf("Function URL event passed claims %v", got.Claims)
	}
	if got.RemoteAddr != "[2001:db8::1]:0" || got.Host != "abc.lambda-url.us-east-1.on.aws" || got.Body != "{}" || got.RequestID != "lambda-1" {
		t.Errorf("app saw %+v", got)
	}
	if !strings.Contains(string(out), `"cookies":[]`) {
		t.Errorf("cookies not an empty array: %s", out)
	}
}

func TestRESTv1(t *testing.T) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"ok":true}`))
	}}
	out := invoke(t, app, v1Event)
	want := `{"statusCode":201,"headers":{"Content-Type":"application/json","Set-Cookie":"a=1"},` +
		`"multiValueHeaders":{"Content-Type":["application/json"],"Set-Cookie":["a=1","b=2"]},"body":"{\"ok\":true}"}`
	if string(out) != want {
		t.Errorf("response\n%s\nwant\n%s", out, want)
	}
	reqs := app.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d", len(reqs))
	}
	got := reqs[0]
	wantSeen := apptest.Seen{
		Method:   "POST",
		Path:     "/v1/calls",
		RawQuery: "q=x&q=y",
		Host:     "x.execute-api.eu-west-1.amazonaws.com",
		Header: map[string][]string{
			"Authorization": {"Bearer r"},
			"Content-Type":  {"application/json"},
			"X-Multi":       {"a", "b"},
		},
		Body:       `{"type":"video"}`,
		RemoteAddr: "192.0.2.10:0",
		RequestID:  "lambda-1",
	}
	if !reflect.DeepEqual(got, wantSeen) {
		t.Errorf("app saw\n%+v\nwant\n%+v", got, wantSeen)
	}
}

// TestBasePath: events for a named stage or through an API mapping carry
// the base path in front of the route; the App sees its own route.
func TestBasePath(t *testing.T) {
	v2 := func(routeKey, rawPath, stage, domain string) string {
		return `{"version":"2.0","routeKey":"` + routeKey + `","rawPath":"` + rawPath + `","rawQueryString":"",
 "requestContext":{"stage":"` + stage + `","domainName":"` + domain + `","http":{"method":"POST","path":"` + rawPath + `","sourceIp":"192.0.2.1"}}}`
	}
	rest := func(resource, path, stage string) string {
		return `{"httpMethod":"POST","resource":"` + resource + `","path":"` + path + `","requestContext":{"stage":"` + stage + `","requestId":"r"}}`
	}
	const execute = "abc123.execute-api.us-east-1.amazonaws.com"
	tests := []struct {
		name, event, want string
	}{
		{"HTTP API named stage", v2("POST /v1/usersig", "/prod/v1/usersig", "prod", execute), "/v1/usersig"},
		{"HTTP API mapping key", v2("POST /v1/usersig", "/api/v1/usersig", "prod", "api.example.com"), "/v1/usersig"},
		{"HTTP API nested mapping key", v2("POST /v1/calls/join", "/a/b/v1/calls/join", "$default", "api.example.com"), "/v1/calls/join"},
		{"HTTP API default stage unchanged", v2("POST /v1/usersig", "/v1/usersig", "$default", execute), "/v1/usersig"},
		{"HTTP API named stage, $default route", v2("$default", "/prod/v1/usersig", "prod", execute), "/v1/usersig"},
		{"HTTP API named stage, stage root", v2("$default", "/prod", "prod", execute), "/"},
		{"HTTP API stage named like a path segment on a custom domain", v2("$default", "/v1/usersig", "v1", "api.example.com"), "/v1/usersig"},
		{"HTTP API route suffix only at a segment boundary", v2("POST /usersig", "/v1/usersig", "$default", "api.example.com"), "/usersig"},
		{"HTTP API no partial segment", v2("POST /sig", "/v1/usersig", "$default", "api.example.com"), "/v1/usersig"},
		{"HTTP API parameterised route left alone", v2("POST /{proxy+}", "/api/v1/usersig", "$default", "api.example.com"), "/api/v1/usersig"},
		{"REST mapping key", rest("/v1/calls", "/api/v1/calls", "prod"), "/v1/calls"},
		{"REST path without stage", rest("/v1/calls", "/v1/calls", "v1"), "/v1/calls"},
		{"REST proxy resource left alone", rest("/{proxy+}", "/v1/calls", "prod"), "/v1/calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &apptest.App{}
			invoke(t, app, tt.event)
			reqs := app.Requests()
			if len(reqs) != 1 || reqs[0].Path != tt.want {
				t.Fatalf("app saw %+v, want path %q", reqs, tt.want)
			}
		})
	}
}

func TestRESTv1SingleValueFallback(t *testing.T) {
	app := &apptest.App{}
	invoke(t, app, `{"httpMethod":"GET","path":"/healthz","headers":{"X-A":"1"},"queryStringParameters":{"k":"v w"},"requestContext":{"requestId":"r"}}`)
	got := app.Requests()[0]
	if got.RawQuery != "k=v+w" || !reflect.DeepEqual(got.Header, map[string][]string{"X-A": {"1"}}) || got.RemoteAddr != "" {
		t.Errorf("app saw %+v", got)
	}
}

func TestResponseBodies(t *testing.T) {
	bin := []byte{0xff, 0x00, 0xfe}
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantBody    string
		wantB64     bool
	}{
		{"json text", "application/json", []byte(`{"a":"é"}`), `{"a":"é"}`, false},
		{"problem json", "application/problem+json", []byte(`{}`), `{}`, false},
		{"plain text", "text/plain; charset=utf-8", []byte("ok"), "ok", false},
		{"no content type", "", []byte("ok"), "ok", false},
		{"invalid utf-8", "text/plain", bin, base64.StdEncoding.EncodeToString(bin), true},
		{"binary type", "application/octet-stream", []byte("abc"), "YWJj", true},
		{"image", "image/png", []byte("abc"), "YWJj", true},
		{"empty", "application/json", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.Write(tt.body)
			}}
			for _, ev := range []string{v2Event, urlEvent, v1Event} {
				var resp struct {
					Body            string `json:"body"`
					IsBase64Encoded bool   `json:"isBase64Encoded"`
				}
				if err := json.Unmarshal(invoke(t, app, ev), &resp); err != nil {
					t.Fatal(err)
				}
				if resp.Body != tt.wantBody || resp.IsBase64Encoded != tt.wantB64 {
					t.Errorf("body = %q (base64 %v), want %q (%v)", resp.Body, resp.IsBase64Encoded, tt.wantBody, tt.wantB64)
				}
			}
		})
	}
}

func TestHeadersNeverNull(t *testing.T) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }}
	tests := []struct {
		event string
		want  string
	}{
		{v2Event, `{"statusCode":204,"headers":{},"multiValueHeaders":null,"body":"","cookies":[]}`},
		{urlEvent, `{"statusCode":204,"headers":{},"body":"","isBase64Encoded":false,"cookies":[]}`},
		{v1Event, `{"statusCode":204,"headers":{},"multiValueHeaders":{},"body":""}`},
	}
	for _, tt := range tests {
		if got := string(invoke(t, app, tt.event)); got != tt.want {
			t.Errorf("response\n%s\nwant\n%s", got, tt.want)
		}
	}
}

func TestBadRequestBody(t *testing.T) {
	app := &apptest.App{}
	ev := strings.Replace(v2Event, `"eyJ0dGxTZWNvbmRzIjo2MH0="`, `"%%%not base64"`, 1)
	got := string(invoke(t, app, ev))
	want := `{"statusCode":400,"headers":{"Content-Type":"application/json; charset=utf-8"},"multiValueHeaders":null,` +
		`"body":"{\"error\":{\"code\":\"invalid_request\",\"message\":\"request body is not valid base64\"}}","cookies":[]}`
	if got != want {
		t.Errorf("response\n%s\nwant\n%s", got, want)
	}
	if len(app.Requests()) != 0 {
		t.Error("the app saw a request with an undecodable body")
	}
	got = string(invoke(t, app, strings.Replace(v1Event, `"httpMethod":"POST"`, `"httpMethod":"BAD METHOD"`, 1)))
	if !strings.HasPrefix(got, `{"statusCode":400,`) || !strings.Contains(got, "invalid HTTP method") {
		t.Errorf("bad method response %s", got)
	}
}

func TestDirectInvoke(t *testing.T) {
	app := &apptest.App{}
	out := invoke(t, app, invokeEvent)
	if string(out) != `{"ok":true,"data":{"action":"usersig"}}` {
		t.Errorf("result = %s", out)
	}
	calls := app.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %d", len(calls))
	}
	want := apptest.Call{
		Action: api.Action{
			RequestID:   "lambda-1",
			Name:        "usersig",
			Data:        json.RawMessage(`{"ttlSeconds":60,"userID":"someone-else"}`),
			Credentials: identity.Credentials{Authorization: "Bearer s"},
		},
		CtxRequestID: "lambda-1",
	}
	if !reflect.DeepEqual(calls[0], want) {
		t.Errorf("call = %+v\nwant %+v", calls[0], want)
	}

	invoke(t, app, `{"action":"call.join","data":null}`)
	if got := app.Calls()[1].Action; got.Data != nil || got.Name != "call.join" || !reflect.DeepEqual(got.Credentials, identity.Credentials{}) {
		t.Errorf("call = %+v", got)
	}
}

func TestInvokeErrors(t *testing.T) {
	app := &apptest.App{}
	h := awslambda.NewHandler(app, nil)
	for _, ev := range []string{`{}`, `{"action":5}`, `{"version":"2.0","routeKey":"x","requestContext":{"http":{"method":1}}}`, `[]`} {
		_, err := h.Invoke(lambdaCtx("e"), json.RawMessage(ev))
		var ee *awslambda.EventError
		if !errors.As(err, &ee) {
			t.Errorf("Invoke(%s) error = %v, want *EventError", ev, err)
		}
		if strings.Contains(err.Error(), ev) && ev != `{}` && ev != `[]` {
			t.Errorf("error quotes the event: %v", err)
		}
	}
	if len(app.Requests())+len(app.Calls()) != 0 {
		t.Error("the app was called for a rejected event")
	}
}

// TestRuntimeContract drives the handler through aws-lambda-go's own
// handler wrapping, as Start gives it to the Runtime API loop: a
// lambda.Handler, whose payload and result pass unchanged.
func TestRuntimeContract(t *testing.T) {
	h := lambda.NewHandler(awslambda.NewHandler(&apptest.App{}, nil))
	out, err := h.Invoke(lambdaCtx("c-1"), []byte(invokeEvent))
	if err != nil || string(out) != `{"ok":true,"data":{"action":"usersig"}}` {
		t.Errorf("Invoke = %s, %v", out, err)
	}
	_, err = h.Invoke(lambdaCtx("c-2"), []byte(`not json`))
	var ee *awslambda.EventError
	if !errors.As(err, &ee) || err.Error() != "awslambda: event is not a JSON object of a known shape" {
		t.Errorf("malformed event error = %T %v, want the EventError", err, err)
	}
	_, err = h.Invoke(lambdaCtx("c-3"), []byte(`{"hello":"world"}`))
	if !errors.As(err, &ee) || err.Error() != "awslambda: unrecognised event: expected an HTTP API 2.0, Function URL, REST API or direct-invoke payload" {
		t.Errorf("unknown event error = %v", err)
	}
}

func FuzzLambdaEvent(f *testing.F) {
	for _, s := range []string{v2Event, urlEvent, urlNoRouteKey, v1Event, invokeEvent, `{}`, `null`, `{"action":"x"}`,
		`{"version":"2.0","routeKey":"r","requestContext":{"http":{"method":"GET"}},"rawPath":"%zz","isBase64Encoded":true,"body":"!"}`,
		`{"httpMethod":"GET","path":"","multiValueHeaders":{"":[""]}}`} {
		f.Add([]byte(s))
	}
	h := awslambda.NewHandler(&apptest.App{}, nil)
	f.Fuzz(func(t *testing.T, event []byte) {
		kind, cerr := awslambda.Classify(event)
		out, err := h.Invoke(lambdaCtx("fuzz"), json.RawMessage(event))
		if cerr != nil {
			if err == nil {
				t.Fatalf("Classify failed (%v) but Invoke succeeded", cerr)
			}
			return
		}
		if err != nil {
			var ee *awslambda.EventError
			if !errors.As(err, &ee) {
				t.Fatalf("Invoke error %T %v is not an EventError", err, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%v: output is not JSON: %q", kind, out)
		}
		if kind != awslambda.EventInvoke {
			var resp struct {
				StatusCode int             `json:"statusCode"`
				Headers    json.RawMessage `json:"headers"`
			}
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode < 100 || string(resp.Headers) == "null" {
				t.Fatalf("%v: bad response %s", kind, out)
			}
		}
	})
}

// BenchmarkInvoke measures the adapter's own cost per event (decode,
// request synthesis, in-memory response, encode) around a trivial App.
func BenchmarkInvoke(b *testing.B) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sdkAppID":1400000000,"userID":"u","userSig":"eJy"}`))
	}}
	h := awslambda.NewHandler(app, nil)
	for _, bc := range []struct{ name, event string }{
		{"http-api-v2", v2Event}, {"function-url", urlEvent}, {"rest-v1", v1Event}, {"invoke", invokeEvent},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := lambdaCtx("bench")
			ev := json.RawMessage(bc.event)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Invoke(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
