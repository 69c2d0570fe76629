package scf_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
	"github.com/callsign-dev/callsign/shared/platform/scf"
)

// The tests drive scf-go-lib's own server (cloudfunction.StartHandler, with
// its Function.Invoke decoding, os.Setenv and panic recovery) over a real
// net/rpc connection built on its messages types. The library serves
// net/rpc's process-wide DefaultServer and cannot be stopped, so TestMain
// starts it once; each test installs its own scf.Handler behind the
// router. Tests in this package therefore do not run in parallel. The
// library listens on 0.0.0.0 (as the platform requires) on a port first
// picked free on loopback; the client dials 127.0.0.1 only.

// router is the cloudfunction.Handler the library serves: it hands every
// invocation to the Handler of the running test.
type router struct{ h atomic.Pointer[scf.Handler] }

func (r *router) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return r.h.Load().Invoke(ctx, payload)
}

var (
	lib    router
	libURL string // 127.0.0.1:port of the library's listener
)

func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "scf test: free port:", err)
		os.Exit(1)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	os.Setenv(scf.EnvServerPort, port)
	lib.h.Store(scf.NewHandler(&apptest.App{}, scf.Options{}))
	go cloudfunction.StartHandler(&lib)
	libURL = "127.0.0.1:" + port
	os.Exit(m.Run())
}

// serve installs a Handler for app and returns a client connected to the
// library's server, closed at the end of the test.
func serve(t testing.TB, app scf.App, opts scf.Options) *rpc.Client {
	t.Helper()
	lib.h.Store(scf.NewHandler(app, opts))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", libURL, time.Second)
		if err == nil {
			c := rpc.NewClient(conn)
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", libURL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testTimeLimitMs is the TimeLimitInMs of the tests' invocations: only a
// safety net, generous enough for 64 concurrent invocations under -race on
// a loaded machine.
const testTimeLimitMs = 30_000

// call invokes with testTimeLimitMs when the request sets no limit.
func call(t *testing.T, c *rpc.Client, req messages.InvokeRequest) messages.InvokeResponse {
	t.Helper()
	var resp messages.InvokeResponse
	if req.Deadline.Seconds == 0 && req.TimeLimitInMs == 0 {
		req.TimeLimitInMs = testTimeLimitMs
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

// libCtx is an invocation context as scf-go-lib hands it to the Handler,
// for tests that call Handler.Invoke directly. It has no deadline, so the
// Handler's timeout is TimeLimitInMs.
func libCtx(fc functioncontext.FunctionContext) context.Context {
	return functioncontext.NewContext(context.Background(), &fc)
}

func TestPing(t *testing.T) {
	c := serve(t, &apptest.App{}, scf.Options{})
	var pong messages.PingResponse
	if err := c.Call("Function.Ping", &messages.PingRequest{}, &pong); err != nil {
		t.Fatalf("Function.Ping: %v", err)
	}
}

// TestCallFunctionIdentityPerInvocation: each step's identity comes from its
// own Environment. scf-go-lib leaves every earlier invocation's variables in
// the process environment (checked at the end, so the test shows the stale
// values were there to be misused), and none of them is ever used.
func TestCallFunctionIdentityPerInvocation(t *testing.T) {
	for _, k := range []string{"WX_OPENID", "WX_APPID", "WX_UNIONID", "SOURCE", "WX_CLIENTIP", "TCB_SOURCE_IP"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	app := &apptest.App{}
	c := serve(t, app, scf.Options{})
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
		{map[string]string{}, nil, ""},
	}
	for i, s := range steps {
		req := messages.InvokeRequest{Payload: payload, RequestId: "req-" + string(rune('a'+i))}
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
	// The library polluted the process environment; the adapter did not
	// read it (steps 2, 3 and 6 would otherwise have found oA or oB).
	want := map[string]string{"WX_OPENID": "oB", "WX_APPID": "wxTEST", "WX_UNIONID": "uA", "SOURCE": "wx_client", "WX_API_TOKEN": "secret"}
	for k, v := range want {
		if got := os.Getenv(k); got != v {
			t.Errorf("process environment %s = %q, want the stale %q scf-go-lib leaves there", k, got, v)
		}
	}
}

// TestConcurrentInvocationsKeepTheirIdentity overlaps 64 invocations on one
// connection, after one that left WX_OPENID in the process environment:
// every answer is for exactly its own caller, and anonymous ones stay
// anonymous.
func TestConcurrentInvocationsKeepTheirIdentity(t *testing.T) {
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		id := "-none-"
		if a.Credentials.CloudBase != nil {
			id = a.Credentials.CloudBase.OpenID
		}
		b, _ := json.Marshal(map[string]string{"openid": id})
		return b
	}}
	c := serve(t, app, scf.Options{})
	if resp := call(t, c, messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `{"WX_OPENID":"oSTALE","WX_APPID":"wxTEST"}`}); string(resp.Payload) != `{"openid":"oSTALE"}` {
		t.Fatalf("first invocation: %s %+v", resp.Payload, resp.Error)
	}
	if os.Getenv("WX_OPENID") != "oSTALE" {
		t.Fatal("scf-go-lib did not leave the stale WX_OPENID in the process environment; the test would prove nothing")
	}
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := "-none-"
			req := messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), RequestId: fmt.Sprintf("conc-%d", i), TimeLimitInMs: testTimeLimitMs}
			switch i % 4 {
			case 0:
				want = fmt.Sprintf("o%d", i)
				req.Environment = `{"WX_OPENID":"` + want + `","WX_APPID":"wxTEST"}`
			case 1:
				req.Environment = `{"SOURCE":"wx_client"}`
			case 2:
				want = ""
				req.Environment = `{"WX_APPID":"wxTEST"}`
			}
			var resp messages.InvokeResponse
			if err := c.Call("Function.Invoke", &req, &resp); err != nil {
				t.Errorf("Invoke %d: %v", i, err)
				return
			}
			if w := `{"openid":"` + want + `"}`; string(resp.Payload) != w || resp.Error != nil {
				t.Errorf("invocation %d got %s %+v, want %s", i, resp.Payload, resp.Error, w)
			}
		}()
	}
	wg.Wait()
	if got := len(app.Calls()); got != n+1 {
		t.Errorf("App saw %d calls, want %d", got, n+1)
	}
}

func TestAPIGatewayEvent(t *testing.T) {
	app := &apptest.App{HTTP: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":"unauthenticated","message":"m"}}`))
	}}
	c := serve(t, app, scf.Options{})
	payload := `{"requestContext":{"serviceId":"service-1","path":"/","httpMethod":"POST","requestId":"gw-1","identity":{"secretId":"x"},"sourceIp":"203.0.113.5","stage":"release"},
 "headers":{"content-type":"application/json","authorization":"Bearer abc","host":"service-1.gz.apigw.tencentcs.com"},
 "body":"` + base64.StdEncoding.EncodeToString([]byte(`{"ttlSeconds":5}`)) + `","isBase64Encoded":true,
 "pathParameters":{},"queryStringParameters":{},"headerParameters":{},"stageVariables":{"stage":"release"},
 "path":"/v1/usersig","queryString":{"x":"y","a":["b","c"],"flag":true,"n":7,"off":false},"httpMethod":"POST"}`
	resp := call(t, c, messages.InvokeRequest{Payload: []byte(payload), RequestId: "scf-1", Environment: `{"WX_APPID":"wxSHOULDNOTAPPEAR","SCF_NAMESPACE":"default"}`})
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
	c := serve(t, app, scf.Options{})
	payload := `{"body":"{}","headers":{"x-scf-remote-addr":"198.51.100.20","authorization":"Bearer u"},"httpMethod":"POST","path":"/v1/usersig","queryString":{}}`
	resp := call(t, c, messages.InvokeRequest{Payload: []byte(payload), RequestId: "url-1"})
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
	c2 := serve(t, bin, scf.Options{})
	resp = call(t, c2, messages.InvokeRequest{Payload: []byte(`{"httpMethod":"GET","path":"/x","headers":{}}`)})
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
	c := serve(t, app, scf.Options{})
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
			resp := call(t, c, messages.InvokeRequest{Payload: []byte(tt.payload), Environment: wx})
			want := messages.InvokeResponse_Error{Message: "scf: HTTP event in a callFunction invocation from a mini-program: the payload must carry an action", Type: "EventError"}
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
	c := serve(t, app, scf.Options{})
	tests := []struct{ payload, want string }{
		{`{"requestContext":{},"httpMethod":"GET","path":"/healthz"}`, `{"isBase64Encoded":false,"statusCode":200,"headers":{},"body":""}`},
		{`{"httpMethod":"GET","path":"/healthz"}`, `{"statusCode":200,"headers":{},"body":""}`},
	}
	for _, tt := range tests {
		if got := call(t, c, messages.InvokeRequest{Payload: []byte(tt.payload)}); string(got.Payload) != tt.want {
			t.Errorf("payload %s, want %s", got.Payload, tt.want)
		}
	}
}

// TestInvocationErrors covers the adapter's refusals and the library's own
// (an Environment or ClientContext it cannot decode never reaches the
// Handler).
func TestInvocationErrors(t *testing.T) {
	app := &apptest.App{}
	c := serve(t, app, scf.Options{})
	tests := []struct {
		name string
		req  messages.InvokeRequest
		typ  string
		msg  string
	}{
		{"unknown shape", messages.InvokeRequest{Payload: []byte(`{"hello":"x"}`)}, "EventError",
			`scf: unrecognised payload: expected a callFunction {"action":...}, API Gateway or Function URL event`},
		{"not json", messages.InvokeRequest{Payload: []byte(`{oops`)}, "EventError", "scf: payload is not a JSON object of a known shape"},
		{"empty", messages.InvokeRequest{}, "EventError", "scf: payload is not a JSON object of a known shape"},
		{"action not a string", messages.InvokeRequest{Payload: []byte(`{"action":{"x":1}}`)}, "EventError", "scf: malformed callFunction payload: action must be a string"},
		{"bad queryString", messages.InvokeRequest{Payload: []byte(`{"requestContext":{},"httpMethod":"GET","queryString":{"a":{"b":1}}}`)}, "EventError", "scf: malformed API Gateway event"},
		{"bad requestContext", messages.InvokeRequest{Payload: []byte(`{"requestContext":{"sourceIp":5},"httpMethod":"GET"}`)}, "EventError", "scf: malformed API Gateway event"},
		{"bad environment", messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `{"WX_OPENID":`}, "SyntaxError", "unexpected end of JSON input"},
		{"environment array", messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `["WX_OPENID"]`}, "UnmarshalTypeError", "json: cannot unmarshal array into Go value of type map[string]string"},
		{"environment number", messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Environment: `{"WX_OPENID":"o","N":3}`}, "UnmarshalTypeError", "json: cannot unmarshal number into Go value of type string"},
		{"bad client context", messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), ClientContext: []byte("{")}, "SyntaxError", "unexpected end of JSON input"},
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

// TestInvokeWithoutFunctionContext: the Handler serves only what scf-go-lib
// hands it; a context without the invocation's FunctionContext has no
// Environment to take identity from and is refused.
func TestInvokeWithoutFunctionContext(t *testing.T) {
	app := &apptest.App{}
	h := scf.NewHandler(app, scf.Options{})
	p, err := h.Invoke(context.Background(), []byte(`{"action":"usersig"}`))
	if p != nil || err == nil || err.Error() != "scf: invocation without a function context" {
		t.Errorf("Invoke = %s, %v", p, err)
	}
	if len(app.Calls()) != 0 {
		t.Error("the App was called")
	}
}

// TestPanicAnswersWithoutTheValue: the library would print the panic value
// into the answer; the adapter's PanicError names only its type, the answer
// asks the runtime to recycle the instance, and the server keeps serving.
func TestPanicAnswersWithoutTheValue(t *testing.T) {
	var logs testlog.Buffer
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte { panic("boom: secret-looking value") }}
	c := serve(t, app, scf.Options{Logger: logs.JSONLogger()})
	resp := call(t, c, messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), RequestId: "panic-1"})
	if resp.Error == nil || resp.Error.Message != "scf: the function panicked (panic value of type string)" || resp.Error.Type != "PanicError" ||
		!resp.Error.ShouldExit || len(resp.Error.StackTrace) == 0 || resp.Payload != nil {
		t.Fatalf("Error = %+v, payload %s", resp.Error, resp.Payload)
	}
	for _, f := range resp.Error.StackTrace {
		if strings.Contains(f.Path+f.Label, "boom") {
			t.Errorf("stack frame carries the panic value: %+v", f)
		}
	}
	out := logs.String()
	if strings.Contains(out, "boom") || !strings.Contains(out, `"msg":"scf invocation panicked","requestID":"panic-1","panicType":"string","stack":[`) ||
		!strings.Contains(out, "TestPanicAnswersWithoutTheValue") {
		t.Errorf("log does not locate the panic without its value:\n%s", out)
	}
	var pong messages.PingResponse
	if err := c.Call("Function.Ping", &messages.PingRequest{}, &pong); err != nil {
		t.Errorf("Ping after panic: %v", err)
	}
	if resp := call(t, c, messages.InvokeRequest{Payload: []byte(`{"httpMethod":"GET","path":"/healthz"}`)}); resp.Error != nil {
		t.Errorf("invocation after panic: %+v", resp.Error)
	}
}

// TestTimeout pins the timeout arithmetic with a fixed instant from
// testclock; the result is a duration, so the instant never meets a timer.
func TestTimeout(t *testing.T) {
	now := testclock.AtEpoch().Now()
	tests := []struct {
		name     string
		deadline time.Time
		limitMs  int32
		want     time.Duration
	}{
		{"deadline ahead", now.Add(90*time.Second + 7), 3000, 90*time.Second + 7},
		{"deadline wins over the limit", now.Add(time.Second), 900000, time.Second},
		{"deadline passed", now.Add(-2 * time.Second), 3000, -2 * time.Second},
		{"deadline now", now, 3000, 0},
		{"zero Deadline as scf-go-lib passes it: the limit", time.Unix(0, 0).UTC(), 1500, 1500 * time.Millisecond},
		{"zero Deadline in local time", time.Unix(0, 0), 1500, 1500 * time.Millisecond},
		{"no deadline: the limit", time.Time{}, 2, 2 * time.Millisecond},
		{"neither: SCF's maximum", time.Unix(0, 0).UTC(), 0, 900 * time.Second},
		{"negative limit: SCF's maximum", time.Time{}, -1, scf.DefaultTimeout},
		{"one nanosecond after the epoch is a deadline", time.Unix(0, 1), 1500, time.Unix(0, 1).Sub(now)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scf.Timeout(tt.deadline, tt.limitMs, now); got != tt.want {
				t.Errorf("Timeout = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeadlineThroughTheLibrary checks which timeout each request gets
// through scf-go-lib (read exactly from the debug line, in nanoseconds) and
// that the App's context is live: scf-go-lib's own context for a zero
// Deadline is already expired. No wall time decides the outcome: the time
// limits are testTimeLimitMs and SCF's maximum, which only a hang exceeds,
// and the Deadline (with nanoseconds) is an instant on the adapter's clock,
// fixed at testclock's epoch, so that its timeout is exact. Whether the
// library's context for that Deadline has already expired on the real
// clock depends on the epoch; the adapter must not care.
func TestDeadlineThroughTheLibrary(t *testing.T) {
	var logs testlog.Buffer
	type seen struct {
		live, hasDeadline bool
	}
	got := make(chan seen, 1)
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		_, ok := ctx.Deadline()
		got <- seen{live: ctx.Err() == nil, hasDeadline: ok}
		return []byte(`{"ok":true}`)
	}}
	now := testclock.AtEpoch().Now()
	deadline := now.Add(time.Hour + 123456789)
	c := serve(t, app, scf.Options{Logger: logs.JSONLogger(), Now: func() time.Time { return now }})
	tests := []struct {
		name    string
		req     messages.InvokeRequest
		timeout time.Duration // the debug line's "timeout", its last attribute
	}{
		{"zero Deadline: TimeLimitInMs", messages.InvokeRequest{RequestId: "d1", TimeLimitInMs: testTimeLimitMs}, testTimeLimitMs * time.Millisecond},
		{"zero Deadline, no limit: SCF's maximum", messages.InvokeRequest{RequestId: "d2"}, 900 * time.Second},
		{"Deadline wins over TimeLimitInMs", messages.InvokeRequest{RequestId: "d3", TimeLimitInMs: 1, Deadline: messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())}}, time.Hour + 123456789},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Payload = []byte(`{"action":"usersig"}`)
			var resp messages.InvokeResponse
			if err := c.Call("Function.Invoke", &tt.req, &resp); err != nil || resp.Error != nil {
				t.Fatalf("Invoke: %v %+v", err, resp.Error)
			}
			if s := <-got; !s.live || !s.hasDeadline {
				t.Errorf("App context live=%v hasDeadline=%v", s.live, s.hasDeadline)
			}
			line := `"requestID":"` + tt.req.RequestId + `","timeout":` + strconv.FormatInt(int64(tt.timeout), 10) + "}"
			if !strings.Contains(logs.String(), line) {
				t.Errorf("no %s in\n%s", line, logs.String())
			}
		})
	}
}

// TestDeadlineExceeded: a request whose deadline has passed is answered
// with a DeadlineError at once, although the App never returns by itself.
func TestDeadlineExceeded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		<-release // ignores ctx: the adapter must still answer at the deadline
		return []byte(`{"ok":true}`)
	}}
	c := serve(t, app, scf.Options{})
	past := time.Now().Add(-time.Second)
	resp := call(t, c, messages.InvokeRequest{Payload: []byte(`{"action":"usersig"}`), Deadline: messages.InvokeRequest_Timestamp{Seconds: past.Unix()}, TimeLimitInMs: 3000})
	want := messages.InvokeResponse_Error{Message: "scf: invocation deadline exceeded", Type: "DeadlineError"}
	if resp.Error == nil || !reflect.DeepEqual(*resp.Error, want) || resp.Payload != nil {
		t.Errorf("response %+v %s, want %+v", resp.Error, resp.Payload, want)
	}
}

func TestStartNeedsPort(t *testing.T) {
	for _, port := range []string{"", "abc", "0", "70000", "+80", "080"} {
		t.Setenv(scf.EnvServerPort, port)
		err := scf.Start(context.Background(), &apptest.App{}, scf.Options{})
		if err == nil || err.Error() != "scf: _LAMBDA_SERVER_PORT must be set to a TCP port number" {
			t.Errorf("Start with port %q = %v", port, err)
		}
	}
}

func FuzzSCFPayload(f *testing.F) {
	seeds := []struct {
		payload string
		env     map[string]string
	}{
		{`{"action":"usersig","data":{}}`, map[string]string{"WX_OPENID": "o", "WX_APPID": "wx"}},
		{`{"requestContext":{"sourceIp":"1.2.3.4"},"httpMethod":"POST","path":"/v1/usersig","queryString":{"a":["b"],"c":true},"headers":{"h":"v"},"body":"e30=","isBase64Encoded":true}`, nil},
		{`{"httpMethod":"GET","path":"%zz","headers":{"x-scf-remote-addr":"::1"},"queryString":{"x":"y"}}`, map[string]string{}},
		{`{"action":1}`, nil},
		{`null`, nil},
		{`{"requestContext":null,"httpMethod":null,"action":null}`, map[string]string{"A": "1"}},
	}
	for _, s := range seeds {
		openid := s.env["WX_OPENID"]
		f.Add([]byte(s.payload), openid)
	}
	h := scf.NewHandler(&apptest.App{}, scf.Options{})
	f.Fuzz(func(t *testing.T, payload []byte, openid string) {
		kind, cerr := scf.ClassifyPayload(payload)
		fc := functioncontext.FunctionContext{TimeLimitInMs: 5000, Environment: map[string]string{}}
		if openid != "" {
			fc.Environment["WX_OPENID"] = openid
		}
		var (
			out []byte
			err error
		)
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("Invoke panicked: %v", v)
				}
			}()
			out, err = h.Invoke(libCtx(fc), payload)
		}()
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("Classify failed (%v) but Invoke succeeded", cerr)
		}
		if !json.Valid(out) {
			t.Fatalf("%v: payload is not JSON: %q", kind, out)
		}
		if kind != scf.PayloadCallFunction && !strings.Contains(string(out), `"headers":{`) {
			t.Fatalf("%v: headers missing or null: %s", kind, out)
		}
	})
}

// BenchmarkInvoke measures one callFunction invocation: the Handler alone,
// and through scf-go-lib over a loopback net/rpc connection (gob both ways,
// the library's decoding) around a trivial App.
func BenchmarkInvoke(b *testing.B) {
	app := &apptest.App{Action: func(ctx context.Context, a api.Action) []byte { return []byte(`{"ok":true,"data":{}}`) }}
	req := messages.InvokeRequest{Payload: []byte(`{"action":"usersig","data":{}}`), Environment: `{"WX_OPENID":"oA","WX_APPID":"wxTEST"}`, TimeLimitInMs: 3000}
	b.Run("handler", func(b *testing.B) {
		h := scf.NewHandler(app, scf.Options{})
		ctx := libCtx(functioncontext.FunctionContext{TimeLimitInMs: 3000, Environment: map[string]string{"WX_OPENID": "oA", "WX_APPID": "wxTEST"}})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Invoke(ctx, req.Payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scf-go-lib-net-rpc", func(b *testing.B) {
		c := serve(b, app, scf.Options{})
		b.ReportAllocs()
		for b.Loop() {
			var resp messages.InvokeResponse
			if err := c.Call("Function.Invoke", &req, &resp); err != nil || resp.Error != nil {
				b.Fatal(err, resp.Error)
			}
		}
	})
}
