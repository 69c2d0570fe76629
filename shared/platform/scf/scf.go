// Package scf serves callsign as a Tencent SCF event function on the Go1
// runtime, which is also how CloudBase runs Go cloud functions for
// wx.cloud.callFunction. It implements the runtime's net/rpc protocol itself
// (tencentyun/scf-go-lib is not available from the module proxy, and it
// copies each invocation's environment into the process with os.Setenv,
// leaking one caller's WeChat identity into the next invocation).
//
// The process listens on 0.0.0.0:$_LAMBDA_SERVER_PORT; the platform calls
// Function.Ping and Function.Invoke. Each invocation's Environment JSON is
// decoded into a map that lives only for that call; nothing is ever written
// to or read from the process environment.
//
// Invoke tells the payload kinds apart by their top-level keys, in order:
//
//  1. "action" present: a CloudBase callFunction payload
//     {"action": "usersig"|"call.create"|"call.join", "data": {...}}, served
//     by App.Do. The WeChat identity comes only from this invocation's
//     Environment (WX_OPENID, WX_APPID, WX_UNIONID, SOURCE); a "userInfo"
//     object that wx-server-sdk or the client adds to the event is ignored.
//     The reply payload is the App's envelope JSON.
//  2. "requestContext" present: an API Gateway trigger event, answered with
//     the integration-response shape
//     {"isBase64Encoded":false,"statusCode":N,"headers":{...},"body":"..."}.
//  3. "httpMethod" present without "requestContext": a Function URL event
//     (client IP in the x-scf-remote-addr header), answered with
//     {"statusCode":N,"headers":{...},"body":"..."} plus
//     "isBase64Encoded":true for binary bodies.
//
// Any other payload is an invocation error (resp.Error, Type "EventError").
// The event body is caller-controlled in every case: HTTP events carry no
// CloudBase identity (only their Authorization header), and only the
// callFunction path reads the Environment.
//
// An invocation whose Environment carries WX_OPENID comes from a
// mini-program through callFunction, so its whole payload is the client's
// "data". Such a payload is served only as a callFunction: an HTTP-shaped
// one is refused with an EventError, because its requestContext.sourceIp,
// x-scf-remote-addr and other "platform" members would be chosen by the
// client (and would key the per-IP limits on failed authentication).
package scf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/rpc"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/platform/internal/httpevent"
)

// App is what the adapter serves: the HTTP routes and the action
// dispatcher. It has the same method set as platform.App.
type App interface {
	http.Handler
	Do(ctx context.Context, a api.Action) []byte
}

// DefaultTimeout bounds an invocation whose request carries neither a
// Deadline nor a TimeLimitInMs; it is SCF's maximum event-function timeout.
const DefaultTimeout = 900 * time.Second

// Error types reported in InvokeResponse_Error.Type.
const (
	// ErrorTypeEvent: the payload is not a shape this function serves.
	ErrorTypeEvent = "EventError"
	// ErrorTypeEnvironment: the request's Environment is not a JSON object.
	ErrorTypeEnvironment = "EnvironmentError"
	// ErrorTypeClientContext: the request's ClientContext is not JSON.
	ErrorTypeClientContext = "ClientContextError"
	// ErrorTypeDeadline: the invocation ran past its deadline.
	ErrorTypeDeadline = "DeadlineExceeded"
)

// EventError reports a payload the adapter cannot serve. Its message never
// contains payload content.
type EventError struct {
	// Reason says what is wrong, in fixed words.
	Reason string
}

// Error implements error.
func (e *EventError) Error() string { return "scf: " + e.Reason }

// Options configure a Function.
type Options struct {
	// Logger receives one debug line per invocation and warnings for
	// rejected payloads; nil discards. Payloads and the Environment are
	// never logged.
	Logger *slog.Logger
	// Now is the clock that turns a request's absolute Deadline into the
	// time left; nil means time.Now. It is the only clock the adapter reads.
	Now func() time.Time
}

// Function is the RPC receiver registered as "Function". It is safe for
// concurrent use: the runtime may issue overlapping calls on one connection.
type Function struct {
	app    App
	logger *slog.Logger
	now    func() time.Time
}

// NewFunction returns the RPC receiver serving app.
func NewFunction(app App, opts Options) *Function {
	f := &Function{app: app, logger: opts.Logger, now: opts.Now}
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// Ping answers the runtime's liveness check.
func (f *Function) Ping(_ *PingRequest, resp *PingResponse) error {
	*resp = PingResponse{}
	return nil
}

// Invoke serves one invocation. It always returns nil: failures travel in
// resp.Error, and a panic becomes an Error with ShouldExit set.
func (f *Function) Invoke(req *InvokeRequest, resp *InvokeResponse) error {
	*resp = InvokeResponse{}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout(req))
	defer cancel()
	if req.RequestId != "" {
		ctx = api.WithRequestID(ctx, req.RequestId)
	}
	if len(bytes.TrimSpace(req.ClientContext)) > 0 && !json.Valid(req.ClientContext) {
		resp.Error = &InvokeResponse_Error{Message: "scf: ClientContext is not valid JSON", Type: ErrorTypeClientContext}
		return nil
	}
	env, err := DecodeEnvironment(req.Environment)
	if err != nil {
		resp.Error = &InvokeResponse_Error{Message: err.Error(), Type: ErrorTypeEnvironment}
		return nil
	}

	type result struct {
		payload []byte
		err     *InvokeResponse_Error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				f.logger.Error("scf invocation panicked", "requestID", req.RequestId, "panicType", typeName(v))
				done <- result{err: panicError(v)}
			}
		}()
		payload, err := f.handle(ctx, req.RequestId, req.Payload, env)
		if err != nil {
			done <- result{err: &InvokeResponse_Error{Message: err.Error(), Type: errorType(err)}}
			return
		}
		done <- result{payload: payload}
	}()
	select {
	case r := <-done:
		resp.Payload, resp.Error = r.payload, r.err
	case <-ctx.Done():
		f.logger.Warn("scf invocation deadline exceeded", "requestID", req.RequestId)
		resp.Error = &InvokeResponse_Error{Message: "scf: invocation deadline exceeded", Type: ErrorTypeDeadline}
	}
	return nil
}

// timeout is the time this invocation may run: the request's Deadline less
// now, or TimeLimitInMs when it has no Deadline, or DefaultTimeout when it
// has neither.
//
// It is a duration, not an instant, because a context measures deadlines on
// the real clock: an instant computed from an injected clock would expire
// at once (or never) whenever that clock is not the real one. The Deadline,
// an absolute wall-clock time, is therefore read against f.now here, once,
// and everything after that is relative.
func (f *Function) timeout(req *InvokeRequest) time.Duration {
	if req.Deadline.Seconds != 0 || req.Deadline.Nanos != 0 {
		return time.Unix(req.Deadline.Seconds, req.Deadline.Nanos).Sub(f.now())
	}
	if req.TimeLimitInMs > 0 {
		return time.Duration(req.TimeLimitInMs) * time.Millisecond
	}
	return DefaultTimeout
}

// DecodeEnvironment decodes an invocation's Environment (JSON object text)
// into a fresh map. String members are kept; members of other JSON types are
// dropped, since environment values are strings. An empty Environment gives
// an empty map. The error never quotes the input.
func DecodeEnvironment(s string) (map[string]string, error) {
	env := map[string]string{}
	if len(bytes.TrimSpace([]byte(s))) == 0 {
		return env, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil || raw == nil {
		return nil, errors.New("scf: Environment is not a JSON object")
	}
	for k, v := range raw {
		var str string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &str) == nil {
			env[k] = str
		}
	}
	return env, nil
}

// CloudBaseContext returns the trusted CloudBase caller context from one
// invocation's environment, or nil when the invocation carries neither
// WX_OPENID nor WX_APPID (then it is not a callFunction from a
// mini-program and no CloudBase identity applies).
func CloudBaseContext(env map[string]string) *identity.CloudBaseContext {
	if env["WX_OPENID"] == "" && env["WX_APPID"] == "" {
		return nil
	}
	return &identity.CloudBaseContext{
		OpenID:  env["WX_OPENID"],
		AppID:   env["WX_APPID"],
		UnionID: env["WX_UNIONID"],
		Source:  env["SOURCE"],
	}
}

// PayloadKind is the shape of an SCF event payload.
type PayloadKind int

// Payload kinds recognised by ClassifyPayload.
const (
	// PayloadUnknown is any payload the adapter does not serve.
	PayloadUnknown PayloadKind = iota
	// PayloadCallFunction is a CloudBase callFunction payload.
	PayloadCallFunction
	// PayloadAPIGateway is an API Gateway trigger event.
	PayloadAPIGateway
	// PayloadFunctionURL is a Function URL event.
	PayloadFunctionURL
)

// String names the kind for logs.
func (k PayloadKind) String() string {
	switch k {
	case PayloadCallFunction:
		return "callfunction"
	case PayloadAPIGateway:
		return "apigateway"
	case PayloadFunctionURL:
		return "function-url"
	default:
		return "unknown"
	}
}

// ClassifyPayload tells the payload kinds apart (see the package
// documentation for the rules).
func ClassifyPayload(payload []byte) (PayloadKind, error) {
	var p struct {
		Action         json.RawMessage `json:"action"`
		RequestContext json.RawMessage `json:"requestContext"`
		HTTPMethod     json.RawMessage `json:"httpMethod"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return PayloadUnknown, &EventError{Reason: "payload is not a JSON object of a known shape"}
	}
	switch {
	case present(p.Action):
		return PayloadCallFunction, nil
	case present(p.RequestContext):
		return PayloadAPIGateway, nil
	case present(p.HTTPMethod):
		return PayloadFunctionURL, nil
	}
	return PayloadUnknown, &EventError{Reason: "unrecognised payload: expected a callFunction {\"action\":...}, API Gateway or Function URL event"}
}

func present(m json.RawMessage) bool {
	t := bytes.TrimSpace(m)
	return len(t) > 0 && string(t) != "null"
}

func (f *Function) handle(ctx context.Context, requestID string, payload []byte, env map[string]string) ([]byte, error) {
	kind, err := ClassifyPayload(payload)
	if err != nil {
		f.logger.Warn("scf payload rejected", "requestID", requestID, "reason", err.Error())
		return nil, err
	}
	if kind != PayloadCallFunction && env["WX_OPENID"] != "" {
		err := &EventError{Reason: "HTTP event in a callFunction invocation from a mini-program: the payload must carry an action"}
		f.logger.Warn("scf payload rejected", "requestID", requestID, "reason", err.Error())
		return nil, err
	}
	f.logger.Debug("scf invocation", "kind", kind.String(), "requestID", requestID)
	switch kind {
	case PayloadCallFunction:
		return f.callFunction(ctx, requestID, payload, env)
	case PayloadAPIGateway:
		return f.apiGateway(ctx, payload)
	default:
		return f.functionURL(ctx, payload)
	}
}

// callEvent is a callFunction payload. Any other member, notably userInfo,
// is ignored: identity never comes from the event.
type callEvent struct {
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

func (f *Function) callFunction(ctx context.Context, requestID string, payload []byte, env map[string]string) ([]byte, error) {
	var e callEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, &EventError{Reason: "malformed callFunction payload: action must be a string"}
	}
	if !present(e.Data) {
		e.Data = nil
	}
	clientIP := env["WX_CLIENTIP"]
	if clientIP == "" {
		clientIP = env["TCB_SOURCE_IP"]
	}
	if a := httpevent.RemoteAddr(clientIP); a != "" {
		clientIP, _, _ = net.SplitHostPort(a)
	} else {
		clientIP = ""
	}
	return f.app.Do(ctx, api.Action{
		RequestID: requestID,
		Name:      e.Action,
		Data:      e.Data,
		Credentials: identity.Credentials{
			CloudBase: CloudBaseContext(env),
			ClientIP:  clientIP,
		},
	}), nil
}

// flag decodes a JSON bool that may also arrive as the string "true".
type flag bool

// UnmarshalJSON implements json.Unmarshaler; anything but true or "true"
// (case-insensitive) is false.
func (b *flag) UnmarshalJSON(m []byte) error {
	s := string(bytes.ToLower(bytes.TrimSpace(m)))
	*b = s == "true" || s == `"true"`
	return nil
}

// apigwEvent is an SCF API Gateway trigger event.
type apigwEvent struct {
	RequestContext struct {
		RequestID string `json:"requestId"`
		SourceIP  string `json:"sourceIp"`
		Path      string `json:"path"`
	} `json:"requestContext"`
	Headers         httpevent.Values `json:"headers"`
	Body            string           `json:"body"`
	IsBase64Encoded flag             `json:"isBase64Encoded"`
	Path            string           `json:"path"`
	QueryString     httpevent.Values `json:"queryString"`
	HTTPMethod      string           `json:"httpMethod"`
}

// apigwResponse is the integration response the API Gateway expects.
// Header values are a string, or an array for repeated headers.
type apigwResponse struct {
	IsBase64Encoded bool           `json:"isBase64Encoded"`
	StatusCode      int            `json:"statusCode"`
	Headers         map[string]any `json:"headers"`
	Body            string         `json:"body"`
}

func (f *Function) apiGateway(ctx context.Context, payload []byte) ([]byte, error) {
	var e apigwEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, &EventError{Reason: "malformed API Gateway event"}
	}
	path := e.Path
	if path == "" {
		path = e.RequestContext.Path
	}
	hdr := e.Headers.Header()
	resp := serve(ctx, f.app, httpevent.Parts{
		Method:   e.HTTPMethod,
		Path:     path,
		RawQuery: e.QueryString.Encode(),
		Header:   hdr,
		SourceIP: e.RequestContext.SourceIP,
	}, e.Body, bool(e.IsBase64Encoded))
	body, b64 := resp.EncodeBody()
	return marshal(apigwResponse{IsBase64Encoded: b64, StatusCode: resp.Status, Headers: headerValues(resp.Header), Body: body})
}

// urlEvent is an SCF Function URL event for an event function.
type urlEvent struct {
	Body            string           `json:"body"`
	Headers         httpevent.Values `json:"headers"`
	HTTPMethod      string           `json:"httpMethod"`
	Path            string           `json:"path"`
	QueryString     httpevent.Values `json:"queryString"`
	IsBase64Encoded flag             `json:"isBase64Encoded"`
}

// urlResponse is the Function URL response. isBase64Encoded appears only for
// binary bodies (the documented shape has just the other three members).
type urlResponse struct {
	StatusCode      int            `json:"statusCode"`
	Headers         map[string]any `json:"headers"`
	Body            string         `json:"body"`
	IsBase64Encoded bool           `json:"isBase64Encoded,omitempty"`
}

func (f *Function) functionURL(ctx context.Context, payload []byte) ([]byte, error) {
	var e urlEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, &EventError{Reason: "malformed Function URL event"}
	}
	hdr := e.Headers.Header()
	resp := serve(ctx, f.app, httpevent.Parts{
		Method:   e.HTTPMethod,
		Path:     e.Path,
		RawQuery: e.QueryString.Encode(),
		Header:   hdr,
		SourceIP: hdr.Get("X-Scf-Remote-Addr"),
	}, e.Body, bool(e.IsBase64Encoded))
	body, b64 := resp.EncodeBody()
	return marshal(urlResponse{StatusCode: resp.Status, Headers: headerValues(resp.Header), Body: body, IsBase64Encoded: b64})
}

// serve decodes the body, builds the request and runs the App; adapter-level
// input failures become 400 responses in the API's error shape.
func serve(ctx context.Context, app App, p httpevent.Parts, body string, isBase64 bool) httpevent.Response {
	b, err := httpevent.DecodeBody(body, isBase64)
	if err != nil {
		return httpevent.ErrorResponse(http.StatusBadRequest, "invalid_request", "request body is not valid base64")
	}
	p.Body = b
	r, err := httpevent.NewRequest(ctx, p)
	if err != nil {
		return httpevent.ErrorResponse(http.StatusBadRequest, "invalid_request", "invalid HTTP method")
	}
	return httpevent.Serve(app, r)
}

// headerValues renders response headers for SCF: a string per name, or an
// array of strings when a name repeats. Never nil.
func headerValues(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		switch len(vs) {
		case 0:
		case 1:
			out[k] = vs[0]
		default:
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("scf: encoding response: %w", err)
	}
	return b, nil
}

// errorType names an error for InvokeResponse_Error.Type.
func errorType(err error) string {
	var ee *EventError
	if errors.As(err, &ee) {
		return ErrorTypeEvent
	}
	return typeName(err)
}

// typeName is the name of v's type, dereferencing one pointer, as the Go1
// runtime reports error and panic types.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return t.String()
	}
	return t.Name()
}

// panicError converts a recovered panic value into an invocation error that
// asks the runtime to recycle the instance. It carries the value's type and
// the stack, never the value.
func panicError(v any) *InvokeResponse_Error {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var stack []*InvokeResponse_Error_StackFrame
	for {
		fr, more := frames.Next()
		stack = append(stack, &InvokeResponse_Error_StackFrame{Path: fr.File, Line: int32(fr.Line), Label: fr.Function})
		if !more {
			break
		}
	}
	return &InvokeResponse_Error{
		// The panic value itself could hold anything, so it is not echoed.
		Message:    "scf: the function panicked",
		Type:       typeName(v),
		StackTrace: stack,
		ShouldExit: true,
	}
}

// ListenAndServe listens on 0.0.0.0:port (the runtime's
// _LAMBDA_SERVER_PORT) and serves the Go1 protocol until ctx is done. It
// refuses to start when port is empty or not a TCP port number.
func ListenAndServe(ctx context.Context, port string, app App, opts Options) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("scf: _LAMBDA_SERVER_PORT must be set to a TCP port number")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(n)))
	if err != nil {
		return fmt.Errorf("scf: listening: %w", err)
	}
	return Serve(ctx, ln, app, opts)
}

// Serve serves the Go1 protocol on ln with a private rpc.Server (never
// rpc.DefaultServer) until ctx is done; it then closes ln and every
// connection, waits for their handlers, and returns nil. An Accept failure
// other than shutdown is returned.
func Serve(ctx context.Context, ln net.Listener, app App, opts Options) error {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Function", NewFunction(app, opts)); err != nil {
		ln.Close()
		return fmt.Errorf("scf: registering the RPC service: %w", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var retErr error
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				retErr = fmt.Errorf("scf: accepting: %w", err)
				ln.Close()
			}
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			conn.Close()
			break
		}
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ServeConn(conn)
			mu.Lock()
			delete(conns, conn)
			mu.Unlock()
		}()
	}
	mu.Lock()
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	return retErr
}
