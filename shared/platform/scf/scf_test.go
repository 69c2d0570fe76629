package scf_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
	"github.com/callsign-dev/callsign/shared/platform/scf"
)

// The client's own copies of the wire types: different type names, same
// field names and types, as the SCF runtime declares them.
type (
	cPing      struct{}
	cPong      struct{}
	cTimestamp struct{ Seconds, Nanos int64 }
	cRequest   struct {
		Payload []byte
		//lint:ignore ST1003 wire-format field name of the SCF Go1 protocol
		RequestId string
		//lint:ignore ST1003 wire-format field name of the SCF Go1 protocol
		TraceId               string
		Deadline              cTimestamp
		InvokedFunctionUnique string
		ClientContext         []byte
		Namespace             string
		FunctionName          string
		FunctionVersion       string
		MemoryLimitInMb       int32
		TimeLimitInMs         int32
		Environment           string
		TencentcloudRegion    string
		TencentcloudAppID     string
		TencentcloudUin       string
		FunctionTrace         string
	}
	cFrame struct {
		Path  string
		Line  int32
		Label string
	}
	cError struct {
		Message    string
		Type       string
		StackTrace []*cFrame
		ShouldExit bool
	}
	cResponse struct {
		Payload []byte
		Error   *cError
	}
)

// startServer serves app on a loopback listener and returns a connected
// client. Everything is stopped at the end of the test.
func startServer(t testing.TB, app scf.App, opts scf.Options) *rpc.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- scf.Serve(ctx, ln, app, opts) }()
	c, err := rpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return c
}

func call(t *testing.T, c *rpc.Client, req cRequest) cResponse {
	t.Helper()
	var resp cResponse
	if req.Deadline.Seconds == 0 && req.TimeLimitInMs == 0 {
		req.TimeLimitInMs = 3000
	}
	if err := c.Call("Function.Invoke", &req, &resp); err != nil {
		t.Fatalf("Function.Invoke: %v", err)
	}
	return resp
}

func env(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPing(t *testing.T) {
	c := startServer(t, &apptest.App{}, scf.Options{})
	var pong cPong
	if err := c.Call("Function.Ping", &cPing{}, &pong); err != nil {
		t.Fatalf("Function.Ping: %v", err)
	}
}

func TestCallFunctionIdentityPerInvocation(t *testing.T) {
	app := &apptest.App{}
	c := startServer(t, app, scf.Options{})
	payload := []byte(`{"action":"usersig","data":{"userID":"victim"},"userInfo":{"openId":"oVICTIM","appId":"wxEVIL"}}`)
	steps := []struct {
		env  map[string]string
		want *identity.CloudBaseContext
		ip   string
	}{
		{map[string]string{"WX_OPENID": "oA", "WX_APPID": "wxTEST", "WX_UNIONID": "uA", "SOURCE": "wx_client", "WX_CLIENTIP": "198.51.100.1", "WX_API_TOKEN": "secret"},
			&identity.CloudBaseContext{OpenID: "oA", AppID: "wxTEST", UnionID: "uA", Source: "wx_client"}, "198.51.100.1"},
		{nil, nil, ""},
		{map[string]string{"SOURCE": "wx_client"}, nil, ""},
		{map[string]string{"WX_APPID": "wxTEST"}, &identity.CloudBaseContext{AppID: "wxTEST"}, ""},
		{map[string]string{"WX_OPENID": "oB", "TCB_SOURCE_IP": "2001:db8::5"}, &identity.CloudBaseContext{OpenID: "oB"}, "2001:db8::5"},
	}
	for i, s := range steps {
		req := cRequest{Payload: payload, RequestId: "req-" + string(rune('a'+i))}
		if s.env != nil {
			req.Environment = env(t, s.env)
		}
		resp := call(t, c, req)
		if resp.Error != nil || string(resp.Payload) != `{"ok":true,"data":{"action":"usersig"}}` {
			t.Fatalf("step %d: response %+v %s", i, resp.Error, resp.Payload)
		}
		calls := app.Calls()
		got := calls[len(calls)-1]
		if !reflect.DeepEqual(got.Action.Credentials.CloudBase, s.want) {
			t.Errorf("step %d: CloudBase = %+v, want %+v", i, got.Action.Credentials.CloudBase, s.want)
		}
		if got.Action.Credentials.ClientIP != s.ip || got.Action.Credentials.Authorization != "" || got.Action.Credentials.GatewayClaims != nil {
			t.Errorf("step %d: credentials = %+v", i, got.Action.Credentials)
		}
		if got.Action.Name != "usersig" || string(got.Action.Data) != `{"userID":"victim"}` || got.Action.RequestID != req.RequestId || got.CtxRequestID != req.RequestId || !got.HasDeadline {
			t.Errorf("step %d: call = %+v", i, got)
		}
	}
	for _, k := range []string{"WX_OPENID", "WX_APPID", "WX_UNIONID", "SOURCE", "WX_API_TOKEN"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("process environment has %s=%q", k, v)
		}
	}
}

func TestConcurrentInvocationsKeepTheirIdentity(t *testing.T) {
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		id := ""
		if a.Credentials.CloudBase != nil {
			id = a.Credentials.CloudBase.OpenID
		}
		b, _ := json.Marshal(map[string]string{"openid": id})
		return b
	}}
	c := startServer(t, app, scf.Options{})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			openid := ""
			req := cRequest{Payload: []byte(`{"action":"usersig"}`), TimeLimitInMs: 3000}
			if i%2 == 0 {
				openid = "o" + strings.Repeat("x", i+1)
				req.Environment = `{"WX_OPENID":"` + openid + `"}`
			}
			var resp cResponse
			if err := c.Call("Function.Invoke", &req, &resp); err != nil {
				t.Errorf("Invoke: %v", err)
				return
			}
			if want := `{"openid":"` + openid + `"}`; string(resp.Payload) != want {
				t.Errorf("call %d got %s, want %s", i, resp.Payload, want)
			}
		}()
	}
	wg.Wait()
}

func TestAPIGatewayEvent(t *testing.T) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":"unauthenticated","message":"m"}}`))
	}}
	c := startServer(t, app, scf.Options{})
	payload := `{"requestContext":{"serviceId":"service-1","path":"/","httpMethod":"POST","requestId":"gw-1","identity":{"secretId":"x"},"sourceIp":"203.0.113.5","stage":"release"},
 "headers":{"content-type":"application/json","authorization":"Bearer abc","host":"service-1.gz.apigw.tencentcs.com"},
 "body":"` + base64.StdEncoding.EncodeToString([]byte(`{"ttlSeconds":5}`)) + `","isBase64Encoded":true,
 "pathParameters":{},"queryStringParameters":{},"headerParameters":{},"stageVariables":{"stage":"release"},
 "path":"/v1/usersig","queryString":{"x":"y","a":["b","c"],"flag":true,"n":7,"off":false},"httpMethod":"POST"}`
	resp := call(t, c, cRequest{Payload: []byte(payload), RequestId: "scf-1", Environment: `{"WX_APPID":"wxSHOULDNOTAPPEAR","SCF_NAMESPACE":"default"}`})
	if resp.Error != nil {
		t.Fatalf("Error = %+v", resp.Error)
	}
	want := `{"isBase64Encoded":false,"statusCode":401,"headers":{"Content-Type":"application/json","Vary":["Origin","Accept"]},` +
		`"body":"{\"error\":{\"code\":\"unauthenticated\",\"message\":\"m\"}}"}`
	if string(resp.Payload) != want {
		t.Errorf("payload\n%s\nwant\n%s", resp.Payload, want)
	}
	got := app.Requests()[0]
	wantSeen := apptest.Seen{
		Method:     "POST",
		Path:       "/v1/usersig",
		RawQuery:   "a=b&a=c&flag&n=7&x=y",
		Host:       "service-1.gz.apigw.tencentcs.com",
		Header:     map[string][]string{"Authorization": {"Bearer abc"}, "Content-Type": {"application/json"}},
		Body:       `{"ttlSeconds":5}`,
		RemoteAddr: "203.0.113.5:0",
		RequestID:  "scf-1",
	}
	if !reflect.DeepEqual(got, wantSeen) {
		t.Errorf("app saw\n%+v\nwant\n%+v", got, wantSeen)
	}
	if len(app.Calls()) != 0 {
		t.Error("HTTP event reached Do")
	}
}

func TestFunctionURLEvent(t *testing.T) {
	app := &apptest.App{}
	c := startServer(t, app, scf.Options{})
	payload := `{"body":"{}","headers":{"x-scf-remote-addr":"198.51.100.20","authorization":"Bearer u"},"httpMethod":"POST","path":"/v1/usersig","queryString":{}}`
	resp := call(t, c, cRequest{Payload: []byte(payload), RequestId: "url-1"})
	if resp.Error != nil {
		t.Fatalf("Error = %+v", resp.Error)
	}
	var out struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded *bool             `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(resp.Payload, &out); err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || !reflect.DeepEqual(out.Headers, map[string]string{"Content-Type": "application/json"}) || out.IsBase64Encoded != nil {
		t.Errorf("payload %s", resp.Payload)
	}
	var s apptest.Seen
	if err := json.Unmarshal([]byte(out.Body), &s); err != nil {
		t.Fatal(err)
	}
	if s.RemoteAddr != "198.51.100.20:0" || s.Method != "POST" || s.Path != "/v1/usersig" || s.RawQuery != "" || s.Body != "{}" || s.RequestID != "url-1" {
		t.Errorf("app saw %+v", s)
	}

	bin := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte{1, 2, 3})
	}}
	c2 := startServer(t, bin, scf.Options{})
	resp = call(t, c2, cRequest{Payload: []byte(`{"httpMethod":"GET","path":"/x","headers":{}}`)})
	if want := `{"statusCode":200,"headers":{"Content-Type":"application/octet-stream"},"body":"AQID","isBase64Encoded":true}`; string(resp.Payload) != want {
		t.Errorf("binary payload %s, want %s", resp.Payload, want)
	}
}

// TestHTTPEventFromMiniProgramRefused: an invocation carrying WX_OPENID is a
// callFunction, whose whole payload the client chose; an HTTP-shaped payload
// there would let the client pick the "platform" source IP, so it is refused
// without reaching the App.
func TestHTTPEventFromMiniProgramRefused(t *testing.T) {
	app := &apptest.App{}
	c := startServer(t, app, scf.Options{})
	wx := env(t, map[string]string{"WX_OPENID": "oA", "WX_APPID": "wxTEST", "SOURCE": "wx_client"})
	tests := []struct {
		name    string
		payload string
	}{
		{"api gateway shape", `{"requestContext":{"sourceIp":"203.0.113.9"},"httpMethod":"POST","path":"/v1/session","headers":{},"body":"{}"}`},
		{"function url shape", `{"httpMethod":"POST","path":"/v1/session","headers":{"x-scf-remote-addr":"203.0.113.9"},"body":"{}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, c, cRequest{Payload: []byte(tt.payload), Environment: wx})
			want := cError{Message: "scf: HTTP event in a callFunction invocation from a mini-program: the payload must carry an action", Type: "EventError"}
			if resp.Error == nil || !reflect.DeepEqual(*resp.Error, want) || resp.Payload != nil {
				t.Errorf("response %+v %s, want %+v", resp.Error, resp.Payload, want)
			}
		})
	}
	if n := len(app.Requests()) + len(app.Calls()); n != 0 {
		t.Errorf("the App was called %d times for refused invocations", n)
	}
}

func TestHeadersNeverNull(t *testing.T) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {}}
	c := startServer(t, app, scf.Options{})
	tests := []struct{ payload, want string }{
		{`{"requestContext":{},"httpMethod":"GET","path":"/healthz"}`, `{"isBase64Encoded":false,"statusCode":200,"headers":{},"body":""}`},
		{`{"httpMethod":"GET","path":"/healthz"}`, `{"statusCode":200,"headers":{},"body":""}`},
	}
	for _, tt := range tests {
		if got := call(t, c, cRequest{Payload: []byte(tt.payload)}); string(got.Payload) != tt.want {
			t.Errorf("payload %s, want %s", got.Payload, tt.want)
		}
	}
}

func TestInvocationErrors(t *testing.T) {
	app := &apptest.App{}
	c := startServer(t, app, scf.Options{})
	tests := []struct {
		name string
		req  cRequest
		typ  string
		msg  string
	}{
		{"unknown shape", cRequest{Payload: []byte(`{"hello":"x"}`)}, "EventError",
			`scf: unrecognised payload: expected a callFunction {"action":...}, API Gateway or Function URL event`},
		{"not json", cRequest{Payload: []byte(`{oops`)}, "EventError", "scf: payload is not a JSON object of a known shape"},
		{"empty", cRequest{}, "EventError", "scf: payload is not a JSON object of a known shape"},
		{"action not a string", cRequest{Payload: []byte(`{"action":{"x":1}}`)}, "EventError", "scf: malformed callFunction payload: action must be a string"},
		{"bad queryString", cRequest{Payload: []byte(`{"requestContext":{},"httpMethod":"GET","queryString":{"a":{"b":1}}}`)}, "EventError", "scf: malformed API Gateway event"},
		{"bad environment", cRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `{"WX_OPENID":`}, "EnvironmentError", "scf: Environment is not a JSON object"},
		{"environment array", cRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `["WX_OPENID"]`}, "EnvironmentError", "scf: Environment is not a JSON object"},
		{"bad client context", cRequest{Payload: []byte(`{"action":"usersig"}`), ClientContext: []byte("{")}, "ClientContextError", "scf: ClientContext is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := call(t, c, tt.req)
			if resp.Error == nil || resp.Error.Type != tt.typ || resp.Error.Message != tt.msg || resp.Error.ShouldExit || resp.Payload != nil {
				t.Errorf("response %+v %s, want %s %q", resp.Error, resp.Payload, tt.typ, tt.msg)
			}
		})
	}
	if len(app.Calls())+len(app.Requests()) != 0 {
		t.Error("the app was called for a rejected invocation")
	}
}

func TestPanicSetsShouldExit(t *testing.T) {
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte { panic("boom: secret-looking value") }}
	c := startServer(t, app, scf.Options{})
	resp := call(t, c, cRequest{Payload: []byte(`{"action":"usersig"}`)})
	if resp.Error == nil || resp.Error.Message != "scf: the function panicked" || resp.Error.Type != "string" || !resp.Error.ShouldExit || len(resp.Error.StackTrace) == 0 {
		t.Fatalf("Error = %+v", resp.Error)
	}
	found := false
	for _, f := range resp.Error.StackTrace {
		if strings.HasSuffix(f.Path, "scf_test.go") && f.Line > 0 && strings.Contains(f.Label, "TestPanicSetsShouldExit") {
			found = true
		}
	}
	if !found {
		t.Errorf("stack trace lacks the panicking frame: %+v", resp.Error.StackTrace[0])
	}
	// The server keeps serving after a panic.
	var pong cPong
	if err := c.Call("Function.Ping", &cPing{}, &pong); err != nil {
		t.Errorf("Ping after panic: %v", err)
	}
}

// TestTimeout: the time an invocation may run is computed on the adapter's
// one clock and handed to the context as a duration, so an injected clock
// never meets the real one.
func TestTimeout(t *testing.T) {
	clock := testclock.AtEpoch()
	f := scf.NewFunction(&apptest.App{}, scf.Options{Now: clock.Now})
	at := func(d time.Duration) scf.InvokeRequest_Timestamp {
		ts := clock.Now().Add(d)
		return scf.InvokeRequest_Timestamp{Seconds: ts.Unix(), Nanos: int64(ts.Nanosecond())}
	}
	tests := []struct {
		name string
		req  scf.InvokeRequest
		want time.Duration
	}{
		{"explicit deadline", scf.InvokeRequest{Deadline: at(time.Hour + 5)}, time.Hour + 5},
		{"deadline wins over the time limit", scf.InvokeRequest{Deadline: at(2 * time.Second), TimeLimitInMs: 9000}, 2 * time.Second},
		{"deadline passed", scf.InvokeRequest{Deadline: at(-time.Second)}, -time.Second},
		{"time limit", scf.InvokeRequest{TimeLimitInMs: 1500}, 1500 * time.Millisecond},
		{"neither", scf.InvokeRequest{}, scf.DefaultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Timeout(&tt.req); got != tt.want {
				t.Errorf("Timeout = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestContextDeadline: the handler's context ends when the invocation's
// time is up, measured on the real clock the context runs on. The bounds
// are the instants read just before and after the call.
func TestContextDeadline(t *testing.T) {
	deadlines := make(chan time.Time, 1)
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		d, _ := ctx.Deadline()
		deadlines <- d
		return []byte(`{"ok":true}`)
	}}
	c := startServer(t, app, scf.Options{})
	far := time.Now().Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		name  string
		req   cRequest
		after time.Duration // the deadline is this long after the call; 0: exactly far
	}{
		{"explicit deadline", cRequest{Deadline: cTimestamp{Seconds: far.Unix(), Nanos: 5}}, 0},
		{"time limit", cRequest{TimeLimitInMs: 1500}, 1500 * time.Millisecond},
		{"neither", cRequest{}, scf.DefaultTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Payload = []byte(`{"action":"usersig"}`)
			var resp cResponse
			before := time.Now()
			if err := c.Call("Function.Invoke", &tt.req, &resp); err != nil || resp.Error != nil {
				t.Fatalf("Invoke: %v %+v", err, resp.Error)
			}
			after := time.Now()
			got := <-deadlines
			lo, hi := before.Add(tt.after), after.Add(tt.after)
			if tt.after == 0 {
				// time.Now().Sub and context.WithTimeout each read the clock
				// once; the deadline is far, give or take the gap between them.
				want := far.Add(5)
				lo, hi = want.Add(-(after.Sub(before))), want.Add(after.Sub(before))
			}
			if got.Before(lo) || got.After(hi) {
				t.Errorf("ctx deadline %v, want within [%v, %v]", got, lo, hi)
			}
		})
	}
}

func TestDeadlineExceeded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		<-release // ignores ctx: the adapter must still answer at the deadline
		return []byte(`{"ok":true}`)
	}}
	f := scf.NewFunction(app, scf.Options{})
	past := time.Now().Add(-time.Second)
	var resp scf.InvokeResponse
	err := f.Invoke(&scf.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Deadline: scf.InvokeRequest_Timestamp{Seconds: past.Unix()}}, &resp)
	if err != nil || resp.Error == nil || resp.Error.Type != "DeadlineExceeded" || resp.Error.Message != "scf: invocation deadline exceeded" || resp.Payload != nil {
		t.Errorf("Invoke = %v, %+v", err, resp.Error)
	}
}

func TestDecodeEnvironment(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"", map[string]string{}, false},
		{"  ", map[string]string{}, false},
		{`{"WX_OPENID":"o1","N":3,"B":true,"X":null}`, map[string]string{"WX_OPENID": "o1"}, false},
		{`null`, nil, true},
		{`[]`, nil, true},
		{`"s"`, nil, true},
	}
	for _, tt := range tests {
		got, err := scf.DecodeEnvironment(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeEnvironment(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestListenAndServeNeedsPort(t *testing.T) {
	for _, port := range []string{"", "abc", "0", "70000"} {
		err := scf.ListenAndServe(context.Background(), port, &apptest.App{}, scf.Options{})
		if err == nil || err.Error() != "scf: _LAMBDA_SERVER_PORT must be set to a TCP port number" {
			t.Errorf("ListenAndServe(%q) = %v", port, err)
		}
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- scf.Serve(ctx, ln, &apptest.App{}, scf.Options{}) }()
	c, err := rpc.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var pong cPong
	if err := c.Call("Function.Ping", &cPing{}, &pong); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if err := c.Call("Function.Ping", &cPing{}, &pong); err == nil {
		t.Error("connection still served after shutdown")
	}
}

func FuzzSCFPayload(f *testing.F) {
	seeds := []struct{ payload, env string }{
		{`{"action":"usersig","data":{}}`, `{"WX_OPENID":"o","WX_APPID":"wx"}`},
		{`{"requestContext":{"sourceIp":"1.2.3.4"},"httpMethod":"POST","path":"/v1/usersig","queryString":{"a":["b"],"c":true},"headers":{"h":"v"},"body":"e30=","isBase64Encoded":true}`, ``},
		{`{"httpMethod":"GET","path":"%zz","headers":{"x-scf-remote-addr":"::1"},"queryString":{"x":"y"}}`, `{}`},
		{`{"action":1}`, `[]`},
		{`null`, `null`},
		{`{"requestContext":null,"httpMethod":null,"action":null}`, `{"A":1}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.payload), s.env)
	}
	fn := scf.NewFunction(&apptest.App{}, scf.Options{})
	f.Fuzz(func(t *testing.T, payload []byte, environment string) {
		kind, cerr := scf.ClassifyPayload(payload)
		var resp scf.InvokeResponse
		if err := fn.Invoke(&scf.InvokeRequest{Payload: payload, Environment: environment, TimeLimitInMs: 5000}, &resp); err != nil {
			t.Fatalf("Invoke returned %v", err)
		}
		if resp.Error != nil {
			if resp.Error.ShouldExit {
				t.Fatalf("panic: %s", resp.Error.Message)
			}
			return
		}
		if cerr != nil {
			t.Fatalf("Classify failed (%v) but Invoke succeeded", cerr)
		}
		if !json.Valid(resp.Payload) {
			t.Fatalf("%v: payload is not JSON: %q", kind, resp.Payload)
		}
		if kind != scf.PayloadCallFunction && !strings.Contains(string(resp.Payload), `"headers":{`) {
			t.Fatalf("%v: headers missing or null: %s", kind, resp.Payload)
		}
	})
}

// BenchmarkInvoke measures one callFunction invocation in process and over
// a loopback net/rpc connection (gob encoding both ways) around a trivial
// App.
func BenchmarkInvoke(b *testing.B) {
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte { return []byte(`{"ok":true,"data":{}}`) }}
	req := cRequest{Payload: []byte(`{"action":"usersig","data":{}}`), Environment: `{"WX_OPENID":"oA","WX_APPID":"wxTEST"}`, TimeLimitInMs: 3000}
	b.Run("in-process", func(b *testing.B) {
		f := scf.NewFunction(app, scf.Options{})
		sreq := &scf.InvokeRequest{Payload: req.Payload, Environment: req.Environment, TimeLimitInMs: req.TimeLimitInMs}
		b.ReportAllocs()
		for b.Loop() {
			var resp scf.InvokeResponse
			f.Invoke(sreq, &resp)
			if resp.Error != nil {
				b.Fatal(resp.Error.Message)
			}
		}
	})
	b.Run("net-rpc", func(b *testing.B) {
		c := startServer(b, app, scf.Options{})
		b.ReportAllocs()
		for b.Loop() {
			var resp cResponse
			if err := c.Call("Function.Invoke", &req, &resp); err != nil || resp.Error != nil {
				b.Fatal(err, resp.Error)
			}
		}
	})
}

// TestWireTypes pins every wire type to the field names and Go types of the
// SCF Go1 protocol (team handbook, runtimes.md §2.2). gob silently drops a
// field whose name differs, so a typo in a field the adapter does not use
// would otherwise go unnoticed.
func TestWireTypes(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[scf.PingRequest](), nil},
		{reflect.TypeFor[scf.PingResponse](), nil},
		{reflect.TypeFor[scf.InvokeRequest_Timestamp](), []string{"Seconds int64", "Nanos int64"}},
		{reflect.TypeFor[scf.InvokeRequest](), []string{
			"Payload []uint8", "RequestId string", "TraceId string", "Deadline scf.InvokeRequest_Timestamp",
			"InvokedFunctionUnique string", "ClientContext []uint8", "Namespace string", "FunctionName string",
			"FunctionVersion string", "MemoryLimitInMb int32", "TimeLimitInMs int32", "Environment string",
			"TencentcloudRegion string", "TencentcloudAppID string", "TencentcloudUin string", "FunctionTrace string",
		}},
		{reflect.TypeFor[scf.InvokeResponse](), []string{"Payload []uint8", "Error *scf.InvokeResponse_Error"}},
		{reflect.TypeFor[scf.InvokeResponse_Error](), []string{
			"Message string", "Type string", "StackTrace []*scf.InvokeResponse_Error_StackFrame", "ShouldExit bool",
		}},
		{reflect.TypeFor[scf.InvokeResponse_Error_StackFrame](), []string{"Path string", "Line int32", "Label string"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.Name(), func(t *testing.T) {
			var got []string
			for i := range tt.typ.NumField() {
				f := tt.typ.Field(i)
				got = append(got, f.Name+" "+f.Type.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

// TestWireRoundTrip sends a request with every field set, encoded from the
// client's own type declarations, and checks that the server's types
// receive each value (and the reverse for a response), as gob does on the
// wire.
func TestWireRoundTrip(t *testing.T) {
	in := cRequest{
		Payload: []byte(`{"action":"usersig"}`), RequestId: "r", TraceId: "t",
		Deadline: cTimestamp{Seconds: 1795780800, Nanos: 7}, InvokedFunctionUnique: "u",
		ClientContext: []byte(`{}`), Namespace: "ns", FunctionName: "fn", FunctionVersion: "$LATEST",
		MemoryLimitInMb: 128, TimeLimitInMs: 3000, Environment: `{"WX_OPENID":"o"}`,
		TencentcloudRegion: "ap-guangzhou", TencentcloudAppID: "1250000000", TencentcloudUin: "100000000001", FunctionTrace: "ft",
	}
	var got scf.InvokeRequest
	gobRoundTrip(t, in, &got)
	want := scf.InvokeRequest{
		Payload: in.Payload, RequestId: "r", TraceId: "t",
		Deadline: scf.InvokeRequest_Timestamp{Seconds: 1795780800, Nanos: 7}, InvokedFunctionUnique: "u",
		ClientContext: in.ClientContext, Namespace: "ns", FunctionName: "fn", FunctionVersion: "$LATEST",
		MemoryLimitInMb: 128, TimeLimitInMs: 3000, Environment: `{"WX_OPENID":"o"}`,
		TencentcloudRegion: "ap-guangzhou", TencentcloudAppID: "1250000000", TencentcloudUin: "100000000001", FunctionTrace: "ft",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("server received\n%+v\nwant\n%+v", got, want)
	}

	out := scf.InvokeResponse{Payload: []byte(`{}`), Error: &scf.InvokeResponse_Error{
		Message: "m", Type: "T", ShouldExit: true,
		StackTrace: []*scf.InvokeResponse_Error_StackFrame{{Path: "p.go", Line: 12, Label: "main.f"}},
	}}
	var back cResponse
	gobRoundTrip(t, out, &back)
	wantBack := cResponse{Payload: []byte(`{}`), Error: &cError{Message: "m", Type: "T", ShouldExit: true,
		StackTrace: []*cFrame{{Path: "p.go", Line: 12, Label: "main.f"}}}}
	if !reflect.DeepEqual(back, wantBack) {
		t.Errorf("client received %+v (error %+v), want %+v", back, back.Error, wantBack)
	}
}

func gobRoundTrip(t *testing.T, in, out any) {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(in); err != nil {
		t.Fatalf("gob encode: %v", err)
	}
	if err := gob.NewDecoder(&buf).Decode(out); err != nil {
		t.Fatalf("gob decode: %v", err)
	}
}
