// Package scf serves callsign as a Tencent SCF event function on the Go1
// runtime, which is also how CloudBase runs Go cloud functions for
// wx.cloud.callFunction. The runtime protocol (Go net/rpc on
// 0.0.0.0:$_LAMBDA_SERVER_PORT, Function.Ping and Function.Invoke with the
// cloudfunction/messages wire types) is served by Tencent's own runtime
// library, github.com/tencentyun/scf-go-lib: Start hands a Handler to
// cloudfunction.StartHandler, and the library calls Handler.Invoke once per
// invocation with a context carrying that invocation's
// functioncontext.FunctionContext.
//
// The Handler sits at that layer, behind the library's decoding, because
// three things the library does must not reach callsign:
//
//   - It copies every invocation's Environment into the process with
//     os.Setenv and never removes it, so a warm instance still holds the
//     previous caller's WX_OPENID when the next invocation carries none.
//     The Handler reads identity only from the Environment map of the
//     invocation's own FunctionContext (decoded fresh by the library for
//     each call) and never from the process environment.
//   - It builds the invocation context with context.WithDeadline from the
//     request's Deadline even when that is zero, which gives an already
//     expired context. The Handler detaches from that context's
//     cancellation (keeping its values) and applies its own timeout: the
//     time left until the Deadline on the adapter's clock, else
//     TimeLimitInMs, else DefaultTimeout (see Timeout).
//   - It answers a panic with the panic value printed into the error
//     message. The Handler recovers every panic of the App itself and
//     panics again with a PanicError, whose text names only the value's
//     type; the library then answers with that text, a stack trace and
//     ShouldExit set, so the instance is recycled.
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
// Any other payload is an invocation error of type "EventError". The event
// body is caller-controlled in every case: HTTP events carry no CloudBase
// identity (only their Authorization header), and only the callFunction path
// reads the Environment.
//
// An invocation whose Environment carries WX_OPENID comes from a
// mini-program through callFunction, so its whole payload is the client's
// "data". Such a payload is served only as a callFunction: an HTTP-shaped
// one is refused with an EventError, because its requestContext.sourceIp,
// x-scf-remote-addr and other "platform" members would be chosen by the
// client (and would key the per-IP limits on failed authentication).
//
// The library's events package is used for the API Gateway request context.
// Its APIGatewayRequest and APIGatewayResponse are not: they carry one value
// per header, reject numeric query values, drop isBase64Encoded on requests,
// and cannot answer repeated response headers; the library has no Function
// URL type.
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
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
	"github.com/tencentyun/scf-go-lib/events"
	"github.com/tencentyun/scf-go-lib/functioncontext"

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

// EnvServerPort is the process variable holding the TCP port the runtime
// connects to; scf-go-lib reads it from the process environment itself.
const EnvServerPort = "_LAMBDA_SERVER_PORT"

// DefaultTimeout bounds an invocation whose request carries neither a
// Deadline nor a TimeLimitInMs; it is SCF's maximum event-function timeout.
const DefaultTimeout = 900 * time.Second

// EventError reports a payload the adapter cannot serve. Its message never
// contains payload content. scf-go-lib reports it with Type "EventError".
type EventError struct {
	// Reason says what is wrong, in fixed words.
	Reason string
}

// Error implements error.
func (e *EventError) Error() string { return "scf: " + e.Reason }

// DeadlineError reports an invocation that ran past its timeout; the
// adapter answers with it even when the App does not return. scf-go-lib
// reports it with Type "DeadlineError".
type DeadlineError struct{}

// Error implements error.
func (*DeadlineError) Error() string { return "scf: invocation deadline exceeded" }

// PanicError is the value the Handler panics with after recovering a panic
// of the App, so that scf-go-lib answers with ShouldExit set. It names the
// recovered value's type, never the value. scf-go-lib reports it with Type
// "PanicError".
type PanicError struct {
	// ValueType is the type of the recovered panic value.
	ValueType string
}

// Error implements error; scf-go-lib prints the panic value with %v, which
// uses this text.
func (e *PanicError) Error() string {
	return "scf: the function panicked (panic value of type " + e.ValueType + ")"
}

// Options configure a Handler.
type Options struct {
	// Logger receives one debug line per invocation and warnings for
	// rejected payloads; nil discards. Payloads and the Environment are
	// never logged.
	Logger *slog.Logger
	// Now is the adapter's clock, which turns a request's Deadline into a
	// timeout; nil means time.Now.
	Now func() time.Time
}

// Handler serves invocations for scf-go-lib; it implements
// cloudfunction.Handler. It is safe for concurrent use: the runtime may
// issue overlapping calls on one connection.
type Handler struct {
	app    App
	logger *slog.Logger
	now    func() time.Time
	// draining is read-locked by every invocation and write-locked by
	// drain, which so waits for the running ones and holds back new ones.
	draining sync.RWMutex
}

var _ cloudfunction.Handler = (*Handler)(nil)

// NewHandler returns the Handler serving app.
func NewHandler(app App, opts Options) *Handler {
	h := &Handler{app: app, logger: opts.Logger, now: opts.Now}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// unsetDeadline is the deadline scf-go-lib gives the invocation context
// when the request's Deadline is zero: time.Unix(0, 0).
var unsetDeadline = time.Unix(0, 0)

// Timeout is how long an invocation may run from now. deadline is the
// request's absolute Deadline as scf-go-lib put it on the invocation
// context; the zero time or the Unix epoch means the request carried none.
// Then TimeLimitInMs applies when positive, else DefaultTimeout. A deadline
// already past gives a timeout <= 0. now must come from the adapter's
// clock: the result goes to context.WithTimeout, so that one clock measures
// the time left.
func Timeout(deadline time.Time, timeLimitInMs int32, now time.Time) time.Duration {
	if !deadline.IsZero() && !deadline.Equal(unsetDeadline) {
		return deadline.Sub(now)
	}
	if timeLimitInMs > 0 {
		return time.Duration(timeLimitInMs) * time.Millisecond
	}
	return DefaultTimeout
}

// outcome is what the goroutine running the App reports.
type outcome struct {
	payload   []byte
	err       error
	panicType string
}

// Invoke serves one invocation; scf-go-lib calls it with a context
// carrying the invocation's FunctionContext. Failures are returned as
// errors, which the library answers as InvokeResponse_Error{Message, Type};
// a panic of the App is re-raised as a *PanicError (see the package
// documentation).
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	h.draining.RLock()
	defer h.draining.RUnlock()
	fc, ok := functioncontext.FromContext(ctx)
	if !ok {
		return nil, &EventError{Reason: "invocation without a function context"}
	}
	deadline, _ := ctx.Deadline()
	timeout := Timeout(deadline, fc.TimeLimitInMs, h.now())
	// WithoutCancel keeps the FunctionContext but drops the library's
	// deadline, which is already past when the request had none.
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if fc.RequestID != "" {
		ictx = api.WithRequestID(ictx, fc.RequestID)
	}
	// fc.Environment is this invocation's own map, decoded by the library
	// for this call; the process environment is never consulted.
	env := fc.Environment

	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				h.logger.Error("scf invocation panicked", "requestID", fc.RequestID, "panicType", typeName(v), "stack", stack())
				done <- outcome{panicType: typeName(v)}
			}
		}()
		p, err := h.handle(ictx, fc.RequestID, payload, env, timeout)
		done <- outcome{payload: p, err: err}
	}()
	select {
	case o := <-done:
		if o.panicType != "" {
			panic(&PanicError{ValueType: o.panicType})
		}
		return o.payload, o.err
	case <-ictx.Done():
		h.logger.Warn("scf invocation deadline exceeded", "requestID", fc.RequestID)
		return nil, &DeadlineError{}
	}
}

// drain waits for the invocations in flight and holds every later one
// back for good: the process is about to exit, and scf-go-lib's listener
// cannot be closed.
func (h *Handler) drain() { h.draining.Lock() }

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

func (h *Handler) handle(ctx context.Context, requestID string, payload []byte, env map[string]string, timeout time.Duration) ([]byte, error) {
	kind, err := ClassifyPayload(payload)
	if err != nil {
		h.logger.Warn("scf payload rejected", "requestID", requestID, "reason", err.Error())
		return nil, err
	}
	if kind != PayloadCallFunction && env["WX_OPENID"] != "" {
		err := &EventError{Reason: "HTTP event in a callFunction invocation from a mini-program: the payload must carry an action"}
		h.logger.Warn("scf payload rejected", "requestID", requestID, "reason", err.Error())
		return nil, err
	}
	h.logger.Debug("scf invocation", "kind", kind.String(), "requestID", requestID, "timeout", timeout)
	switch kind {
	case PayloadCallFunction:
		return h.callFunction(ctx, requestID, payload, env)
	case PayloadAPIGateway:
		return h.apiGateway(ctx, payload)
	default:
		return h.functionURL(ctx, payload)
	}
}

// callEvent is a callFunction payload. Any other member, notably userInfo,
// is ignored: identity never comes from the event.
type callEvent struct {
	Action string          `json:"action"`
	Data   json.RawMessage `json:"data"`
}

func (h *Handler) callFunction(ctx context.Context, requestID string, payload []byte, env map[string]string) ([]byte, error) {
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
	return h.app.Do(ctx, api.Action{
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

// apigwEvent is an SCF API Gateway trigger event. Its requestContext is
// scf-go-lib's type; the other members need callsign's looser decoding.
type apigwEvent struct {
	RequestContext  events.APIGatewayRequestContext `json:"requestContext"`
	Headers         httpevent.Values                `json:"headers"`
	Body            string                          `json:"body"`
	IsBase64Encoded flag                            `json:"isBase64Encoded"`
	Path            string                          `json:"path"`
	QueryString     httpevent.Values                `json:"queryString"`
	HTTPMethod      string                          `json:"httpMethod"`
}

// apigwResponse is the integration response the API Gateway expects.
// Header values are a string, or an array for repeated headers.
type apigwResponse struct {
	IsBase64Encoded bool           `json:"isBase64Encoded"`
	StatusCode      int            `json:"statusCode"`
	Headers         map[string]any `json:"headers"`
	Body            string         `json:"body"`
}

func (h *Handler) apiGateway(ctx context.Context, payload []byte) ([]byte, error) {
	var e apigwEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, &EventError{Reason: "malformed API Gateway event"}
	}
	path := e.Path
	if path == "" {
		path = e.RequestContext.Path
	}
	hdr := e.Headers.Header()
	resp := serve(ctx, h.app, httpevent.Parts{
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

func (h *Handler) functionURL(ctx context.Context, payload []byte) ([]byte, error) {
	var e urlEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, &EventError{Reason: "malformed Function URL event"}
	}
	hdr := e.Headers.Header()
	resp := serve(ctx, h.app, httpevent.Parts{
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

// typeName is the name of v's type, dereferencing one pointer.
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

// stack lists the panicking goroutine's frames as "function file:line",
// from inside a deferred recover: code locations only, no values.
func stack() []string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	for {
		fr, more := frames.Next()
		out = append(out, fr.Function+" "+fr.File+":"+strconv.Itoa(fr.Line))
		if !more {
			return out
		}
	}
}

// started guards Start: scf-go-lib registers its receiver on net/rpc's
// process-wide DefaultServer, which accepts one "Function" service.
var started atomic.Bool

// Start serves app as a Go1 event function until ctx is done, then waits
// for the invocations in flight, holds back any later one, and returns nil. It refuses to start when
// _LAMBDA_SERVER_PORT (read from the process environment, as scf-go-lib
// reads it) is not a TCP port number, and when called a second time in the
// process. The listener belongs to scf-go-lib (cloudfunction.StartHandler
// on 0.0.0.0:$_LAMBDA_SERVER_PORT, rpc.DefaultServer); it cannot be closed,
// and a failure to listen ends the process inside the library with a
// log.Fatal line.
func Start(ctx context.Context, app App, opts Options) error {
	port := os.Getenv(EnvServerPort)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return errors.New("scf: " + EnvServerPort + " must be set to a TCP port number")
	}
	if !started.CompareAndSwap(false, true) {
		return errors.New("scf: the Go1 runtime is already serving in this process")
	}
	h := NewHandler(app, opts)
	go cloudfunction.StartHandler(h)
	<-ctx.Done()
	h.drain()
	return nil
}
