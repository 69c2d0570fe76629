// Package awslambda serves callsign on AWS Lambda (provided.al2023, Runtime
// API) with github.com/aws/aws-lambda-go. One handler takes every event the
// function can receive and tells them apart by shape:
//
//   - HTTP API, payload format 2.0: "version":"2.0" with requestContext.http
//     and a routeKey, on a domain that is not a Function URL domain;
//   - Function URL: "version":"2.0" with requestContext.http and either no
//     routeKey or a requestContext.domainName containing ".lambda-url."
//     (AWS's own Function URL events carry routeKey "$default", so the
//     domain is the reliable mark; events without routeKey are treated as
//     Function URL events too). Both shapes answer in the same JSON format,
//     so a misclassification could only affect gateway claims, which are
//     read for HTTP API events alone;
//   - REST API (v1 proxy) and HTTP API payload 1.0: a top-level "httpMethod";
//   - direct invocation: a top-level "action", {"action": NAME, "data": {...},
//     "authorization": "Bearer ..."} ("authorization" optional).
//
// HTTP events become an *http.Request served by the App through an
// in-memory ResponseWriter; the response goes back in the event's own
// response shape. A direct invocation goes to App.Do and its envelope JSON is
// returned as the raw result. Anything else is an invocation error, which
// the Runtime API reports with errorMessage and errorType.
//
// Identity crosses this boundary only as transport facts: the Authorization
// header, the client IP (RemoteAddr "ip:0"), and, for HTTP API 2.0 events
// only, the JWT authorizer claims (identity.WithGatewayClaims). Anyone allowed
// lambda:InvokeFunction can forge any event, including authorizer claims, so
// enable the gateway verifier only when the function's resource policy admits
// API Gateway alone.
//
// Build Lambda binaries with -tags lambda.norpc.
package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

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

// EventKind is the shape of an incoming Lambda event.
type EventKind int

// Event kinds recognised by Classify.
const (
	// EventUnknown is any payload the adapter does not serve.
	EventUnknown EventKind = iota
	// EventHTTPAPI is an API Gateway HTTP API event, payload format 2.0.
	EventHTTPAPI
	// EventFunctionURL is a Lambda Function URL event.
	EventFunctionURL
	// EventREST is an API Gateway REST API proxy event (also HTTP API 1.0).
	EventREST
	// EventInvoke is a direct invocation {"action": ..., "data": ...}.
	EventInvoke
)

// String names the kind for logs.
func (k EventKind) String() string {
	switch k {
	case EventHTTPAPI:
		return "http-api-v2"
	case EventFunctionURL:
		return "function-url"
	case EventREST:
		return "rest-v1"
	case EventInvoke:
		return "invoke"
	default:
		return "unknown"
	}
}

// EventError reports an event the adapter cannot serve. Its message never
// contains event content. The Runtime API reports it with errorType
// "EventError".
type EventError struct {
	// Reason says what is wrong, in fixed words.
	Reason string
}

// Error implements error.
func (e *EventError) Error() string { return "awslambda: " + e.Reason }

// probe holds just enough of an event to classify it.
type probe struct {
	Version        string          `json:"version"`
	RouteKey       *string         `json:"routeKey"`
	HTTPMethod     *string         `json:"httpMethod"`
	Action         json.RawMessage `json:"action"`
	RequestContext *struct {
		DomainName string          `json:"domainName"`
		HTTP       json.RawMessage `json:"http"`
	} `json:"requestContext"`
}

// Classify tells the event shapes apart (see the package documentation for
// the rules). It returns an *EventError for anything that is not a JSON
// object of a known shape.
func Classify(event []byte) (EventKind, error) {
	var p probe
	if err := json.Unmarshal(event, &p); err != nil {
		return EventUnknown, &EventError{Reason: "event is not a JSON object of a known shape"}
	}
	if p.Version == "2.0" && p.RequestContext != nil && len(p.RequestContext.HTTP) > 0 && !isNull(p.RequestContext.HTTP) {
		if p.RouteKey == nil || strings.Contains(p.RequestContext.DomainName, ".lambda-url.") {
			return EventFunctionURL, nil
		}
		return EventHTTPAPI, nil
	}
	if p.HTTPMethod != nil && *p.HTTPMethod != "" {
		return EventREST, nil
	}
	if len(p.Action) > 0 && !isNull(p.Action) {
		return EventInvoke, nil
	}
	return EventUnknown, &EventError{Reason: "unrecognised event: expected an HTTP API 2.0, Function URL, REST API or direct-invoke payload"}
}

func isNull(m json.RawMessage) bool { return string(bytes.TrimSpace(m)) == "null" }

// Handler is the Lambda handler. It is safe for concurrent use.
type Handler struct {
	app    App
	logger *slog.Logger
}

// A *Handler is started as a lambda.Handler (see Invoke).
var _ lambda.Handler = (*Handler)(nil)

// NewHandler returns a handler serving app. A nil logger discards logs.
func NewHandler(app App, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{app: app, logger: logger}
}

// Start runs the Lambda Runtime API loop with app until ctx is done, then
// returns nil. A failure talking to the Runtime API ends the process inside
// aws-lambda-go, which is how Lambda expects a runtime to fail.
func Start(ctx context.Context, app App, logger *slog.Logger) error {
	h := NewHandler(app, logger)
	go lambda.StartWithOptions(h, lambda.WithContext(ctx))
	<-ctx.Done()
	return nil
}

// Invoke serves one event and returns the JSON result for the Runtime API.
// With this signature a *Handler is an aws-lambda-go lambda.Handler: the
// library hands over the payload as the Runtime API delivered it and posts
// the result as returned, with no reflection and no second JSON pass over
// either (the library's path for handler functions decodes the event and
// encodes the result again, which also costs every cold start its first
// use of the JSON decoder and encoder on those types).
func (h *Handler) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	kind, err := Classify(event)
	if err != nil {
		h.logger.WarnContext(ctx, "lambda event rejected", "requestID", lambdaRequestID(ctx, ""), "reason", err.Error())
		return nil, err
	}
	h.logger.DebugContext(ctx, "lambda event", "kind", kind.String(), "requestID", lambdaRequestID(ctx, ""))
	switch kind {
	case EventHTTPAPI:
		return h.httpAPI(ctx, event)
	case EventFunctionURL:
		return h.functionURL(ctx, event)
	case EventREST:
		return h.rest(ctx, event)
	default:
		return h.invoke(ctx, event)
	}
}

// lambdaRequestID is the Lambda invocation's request ID, else fallback.
func lambdaRequestID(ctx context.Context, fallback string) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return fallback
}

// v2Request is an HTTP API payload 2.0 event. It is declared here rather
// than using events.APIGatewayV2HTTPRequest because authorizer claims may be
// non-string JSON values, which that type cannot decode.
type v2Request struct {
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Cookies         []string          `json:"cookies"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		RequestID  string `json:"requestId"`
		DomainName string `json:"domainName"`
		Stage      string `json:"stage"`
		HTTP       struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
		Authorizer *struct {
			JWT *struct {
				Claims map[string]json.RawMessage `json:"claims"`
			} `json:"jwt"`
		} `json:"authorizer"`
	} `json:"requestContext"`
}

// claims flattens authorizer claims to strings: JSON strings as their
// value, anything else as its compact JSON text.
func claims(raw map[string]json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if isNull(v) {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			out[k] = s
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err == nil {
			out[k] = buf.String()
		}
	}
	return out
}

func (h *Handler) httpAPI(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var e v2Request
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, &EventError{Reason: "malformed HTTP API 2.0 event"}
	}
	if e.RequestContext.Authorizer != nil && e.RequestContext.Authorizer.JWT != nil {
		if c := claims(e.RequestContext.Authorizer.JWT.Claims); c != nil {
			ctx = identity.WithGatewayClaims(ctx, c)
		}
	}
	parts := v2Parts(e.RawPath, e.RequestContext.HTTP.Path, e.RawQueryString, e.Headers, e.Cookies, e.RequestContext.HTTP.Method, e.RequestContext.HTTP.SourceIP, e.RequestContext.DomainName)
	parts.Path = StripBasePath(parts.Path, routePath(e.RouteKey), stagePrefix(e.RequestContext.Stage, e.RequestContext.DomainName))
	resp := h.serve(ctx, lambdaRequestID(ctx, e.RequestContext.RequestID), parts, e.Body, e.IsBase64Encoded)
	body, b64 := resp.EncodeBody()
	return marshal(events.APIGatewayV2HTTPResponse{
		StatusCode:      resp.Status,
		Headers:         httpevent.SingleHeaders(resp.Header, true),
		Body:            body,
		IsBase64Encoded: b64,
		Cookies:         cookies(resp.Header),
	})
}

func (h *Handler) functionURL(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var e events.LambdaFunctionURLRequest
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, &EventError{Reason: "malformed Function URL event"}
	}
	rc := e.RequestContext
	resp := h.serve(ctx, lambdaRequestID(ctx, rc.RequestID), v2Parts(e.RawPath, rc.HTTP.Path, e.RawQueryString, e.Headers, e.Cookies, rc.HTTP.Method, rc.HTTP.SourceIP, rc.DomainName), e.Body, e.IsBase64Encoded)
	body, b64 := resp.EncodeBody()
	return marshal(events.LambdaFunctionURLResponse{
		StatusCode:      resp.Status,
		Headers:         httpevent.SingleHeaders(resp.Header, true),
		Body:            body,
		IsBase64Encoded: b64,
		Cookies:         cookies(resp.Header),
	})
}

// v2Parts builds request parts from the fields HTTP API 2.0 and Function
// URL events share.
func v2Parts(rawPath, httpPath, rawQuery string, headers map[string]string, cookies []string, method, sourceIP, domain string) httpevent.Parts {
	hdr := make(http.Header, len(headers)+1)
	for k, v := range headers {
		hdr.Set(k, v)
	}
	if len(cookies) > 0 {
		hdr.Set("Cookie", strings.Join(cookies, "; "))
	}
	path := rawPath
	if path == "" {
		path = httpPath
	}
	host := hdr.Get("Host")
	if host == "" {
		host = domain
	}
	return httpevent.Parts{Method: method, Path: path, RawQuery: rawQuery, Header: hdr, Host: host, SourceIP: sourceIP}
}

// StripBasePath removes an API's base path from an event's path, so the App
// sees its own routes ("/v1/usersig") however the API is exposed. API
// Gateway puts the base path in front of the route: a named HTTP API stage
// on the execute-api domain ("/prod/v1/usersig") or an API mapping key on a
// custom domain ("/api/v1/usersig", HTTP API and REST alike).
//
//  1. route is the path of the route API Gateway matched (an HTTP API
//     routeKey's path, a REST resource). When it is a literal path (no
//     "{parameter}") and path is a base path followed by it, the result is
//     route.
//  2. Otherwise, when stage is non-empty and path starts with the segment
//     "/"+stage, that segment is removed.
//
// Any other path is returned unchanged (a "$default" or parameterised route
// behind an API mapping key cannot be told apart from the App's own path).
func StripBasePath(path, route, stage string) string {
	if strings.HasPrefix(route, "/") && !strings.Contains(route, "{") && route != "/" {
		if base, ok := strings.CutSuffix(path, route); ok && base != "" && strings.HasPrefix(base, "/") && !strings.HasSuffix(base, "/") {
			return route
		}
	}
	if stage != "" {
		if path == "/"+stage {
			return "/"
		}
		if rest, ok := strings.CutPrefix(path, "/"+stage+"/"); ok {
			return "/" + rest
		}
	}
	return path
}

// routePath is the path of an HTTP API routeKey ("POST /v1/usersig" →
// "/v1/usersig"; "$default" → "").
func routePath(routeKey string) string {
	_, p, ok := strings.Cut(routeKey, " ")
	if !ok {
		return ""
	}
	return p
}

// stagePrefix is the stage whose name prefixes HTTP API 2.0 paths: a named
// stage ("$default" has none) reached through the execute-api domain, where
// the stage is the URL's first segment. Custom domains map stages without
// it.
func stagePrefix(stage, domain string) string {
	if stage == "" || stage == "$default" || !strings.Contains(domain, ".execute-api.") {
		return ""
	}
	return stage
}

func (h *Handler) rest(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var e events.APIGatewayProxyRequest
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, &EventError{Reason: "malformed REST API event"}
	}
	hdr := make(http.Header, len(e.Headers))
	if len(e.MultiValueHeaders) > 0 {
		for k, vs := range e.MultiValueHeaders {
			for _, v := range vs {
				hdr.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			hdr.Set(k, v)
		}
	}
	query := url.Values{}
	if len(e.MultiValueQueryStringParameters) > 0 {
		for k, vs := range e.MultiValueQueryStringParameters {
			query[k] = append(query[k], vs...)
		}
	} else {
		for k, v := range e.QueryStringParameters {
			query.Set(k, v)
		}
	}
	parts := httpevent.Parts{
		Method:   e.HTTPMethod,
		Path:     StripBasePath(e.Path, e.Resource, ""),
		RawQuery: query.Encode(),
		Header:   hdr,
		Host:     hdr.Get("Host"),
		SourceIP: e.RequestContext.Identity.SourceIP,
	}
	if parts.Host == "" {
		parts.Host = e.RequestContext.DomainName
	}
	resp := h.serve(ctx, lambdaRequestID(ctx, e.RequestContext.RequestID), parts, e.Body, e.IsBase64Encoded)
	body, b64 := resp.EncodeBody()
	// API Gateway merges headers and multiValueHeaders, keeping a pair that
	// appears in both once, so headers carries each name's first value.
	single := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			single[k] = vs[0]
		}
	}
	return marshal(events.APIGatewayProxyResponse{
		StatusCode:        resp.Status,
		Headers:           single,
		MultiValueHeaders: httpevent.MultiHeaders(resp.Header),
		Body:              body,
		IsBase64Encoded:   b64,
	})
}

// serve decodes the body, builds the request and runs the App. Adapter-level
// failures (bad base64, bad method) become 400 responses in the API's error
// shape, never invocation errors.
func (h *Handler) serve(ctx context.Context, requestID string, p httpevent.Parts, body string, isBase64 bool) httpevent.Response {
	b, err := httpevent.DecodeBody(body, isBase64)
	if err != nil {
		return httpevent.ErrorResponse(http.StatusBadRequest, "invalid_request", "request body is not valid base64")
	}
	p.Body = b
	if requestID != "" {
		ctx = api.WithRequestID(ctx, requestID)
	}
	r, err := httpevent.NewRequest(ctx, p)
	if err != nil {
		return httpevent.ErrorResponse(http.StatusBadRequest, "invalid_request", "invalid HTTP method")
	}
	return httpevent.Serve(h.app, r)
}

// invokeEvent is a direct invocation. Authorization, when present, is
// verified exactly like an HTTP Authorization header.
type invokeEvent struct {
	Action        string          `json:"action"`
	Data          json.RawMessage `json:"data"`
	Authorization string          `json:"authorization"`
}

func (h *Handler) invoke(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
	var e invokeEvent
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, &EventError{Reason: "malformed direct invocation: action must be a string"}
	}
	id := lambdaRequestID(ctx, "")
	if id != "" {
		ctx = api.WithRequestID(ctx, id)
	}
	if isNull(e.Data) {
		e.Data = nil
	}
	out := h.app.Do(ctx, api.Action{
		RequestID:   id,
		Name:        e.Action,
		Data:        e.Data,
		Credentials: identity.Credentials{Authorization: e.Authorization},
	})
	return json.RawMessage(out), nil
}

// cookies returns the Set-Cookie values, never nil, for the "cookies"
// member of payload 2.0 and Function URL responses.
func cookies(h http.Header) []string {
	return append([]string{}, h.Values("Set-Cookie")...)
}

func marshal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("awslambda: encoding response: %w", err)
	}
	return b, nil
}
