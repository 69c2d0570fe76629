package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/service"
)

// exchange is the per-request record that ends up in the access log line.
type exchange struct {
	id     string
	op     string
	status int
	code   string
	trace  service.Trace
	// issued lists the kinds of the credentials the response carries (at
	// most two), without allocating.
	issued  [2]string
	nIssued int
}

type exchangeKey struct{}

// exchangeFrom returns the request's exchange (a throwaway one outside
// ServeHTTP).
func exchangeFrom(ctx context.Context) *exchange {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		return x
	}
	return &exchange{}
}

// statusWriter remembers whether and with which status a response started.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler: POST /v1/usersig, POST /v1/calls,
// POST /v1/calls/join, POST /v1/session and GET /healthz, with CORS,
// request IDs, body limits, panic recovery and one log line per request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	x := &exchange{id: requestID(RequestIDFromContext(r.Context())), op: "unknown"}
	ctx := WithRequestID(r.Context(), x.id)
	ctx = service.WithTrace(ctx, &x.trace)
	ctx = context.WithValue(ctx, exchangeKey{}, x)
	if a.audit != nil {
		ctx = audit.NewContext(ctx, a.audit, x.id)
	}
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	h := sw.Header()
	h.Set("X-Request-Id", x.id)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	defer func() {
		if p := recover(); p != nil {
			a.log.LogAttrs(ctx, slog.LevelError, "panic serving request",
				slog.String("requestID", x.id),
				slog.String("panicType", panicType(p)),
				slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				a.writeError(sw, r, service.NewError(service.CodeInternal, "internal error"))
			}
		}
		if x.status == 0 {
			x.status = sw.status
		}
		elapsed := time.Since(start)
		a.logLine(ctx, "http", x, elapsed)
		a.observe(x, elapsed)
	}()
	if a.local && !fromLoopback(r) {
		a.writeError(sw, r, service.NewError(service.CodeForbidden, "the local server answers only requests from and addressed to localhost"))
		return
	}
	if a.cors(sw, r, x) {
		return
	}
	if !cleanPath(r.URL.Path) {
		// http.ServeMux would answer with a redirect; a credential API has
		// no use for one.
		a.writeError(sw, r, service.NewError(service.CodeNotFound, "no such route"))
		return
	}
	a.mux.ServeHTTP(sw, r)
}

// fromLoopback reports whether r came from a loopback peer and names a
// loopback host. The Host check defeats DNS rebinding (a page on another
// site whose name resolves to 127.0.0.1 sends its own name); the peer check
// holds even when the listener is bound to a public interface.
func fromLoopback(r *http.Request) bool {
	name := r.Host
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		name = host
	}
	return loopback.Host(name) && loopback.Host(clientIP(r.RemoteAddr))
}

// panicType names the dynamic type of a panic value without printing the
// value itself (it could hold anything).
func panicType(p any) string {
	switch p.(type) {
	case error:
		return "error"
	case string:
		return "string"
	default:
		return "other"
	}
}

// cleanPath reports whether p is already in the canonical form
// http.ServeMux routes without redirecting.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// cors applies the origin allow-list. It returns true when it answered the
// request itself (a preflight).
func (a *API) cors(w http.ResponseWriter, r *http.Request, x *exchange) bool {
	h := w.Header()
	if len(a.origins) > 0 {
		h.Add("Vary", "Origin")
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !a.origins[origin] {
		if preflight {
			x.op = "preflight"
			a.writeError(w, r, service.NewError(service.CodeForbidden, "origin not allowed"))
			return true
		}
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if preflight {
		x.op = "preflight"
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Callsign-User")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-Request-Id")
	return false
}

// opHandler serves one operation's POST route.
func (a *API) opHandler(op string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		exchangeFrom(ctx).op = op
		body, e := a.readBody(w, r)
		if e != nil {
			a.writeError(w, r, e)
			return
		}
		creds := identity.Credentials{
			Authorization: r.Header.Get("Authorization"),
			DevUser:       r.Header.Get("X-Callsign-User"),
			GatewayClaims: identity.GatewayClaimsFromContext(ctx),
			ClientIP:      clientIP(r.RemoteAddr),
		}
		resp, e := a.invoke(ctx, op, creds, body)
		if e != nil {
			a.writeError(w, r, e)
			return
		}
		x := exchangeFrom(ctx)
		a.issued(ctx, x, resp)
		setLimitHeaders(w.Header(), x.trace.Limit)
		writeJSON(w, http.StatusOK, resp)
	})
}

// readBody reads at most maxBody bytes of the request body.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *service.Error) {
	return a.readBodyLimit(w, r, a.maxBody)
}

// readBodyLimit reads at most limit bytes of the request body.
func (a *API) readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *service.Error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(limit)
		}
		return nil, service.NewError(service.CodeInvalidRequest, "could not read the request body")
	}
	return body, nil
}

// tooLarge is the 413 error for a body limit.
func tooLarge(limit int64) *service.Error {
	return service.NewError(service.CodePayloadTooLarge, "request body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
}

// clientIP extracts the host part of RemoteAddr (adapters set it to the
// platform-reported source IP).
func clientIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// errorBody is the error document of DESIGN §7.
type errorBody struct {
	// Error is the error object.
	Error errorDetail `json:"error"`
}

// errorDetail is the "error" member of errorBody and of an action result.
type errorDetail struct {
	// Code is the stable error code.
	Code string `json:"code"`
	// Message is the fixed, client-safe explanation.
	Message string `json:"message"`
	// RetryAfterSeconds is set on rate_limited.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
}

// detail renders e for clients.
func detail(e *service.Error) errorDetail {
	return errorDetail{Code: e.Code, Message: e.Message, RetryAfterSeconds: e.RetryAfterSeconds()}
}

// writeError writes e as the JSON error body with its status and, for 429,
// Retry-After and RateLimit-* headers.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, e *service.Error) {
	x := exchangeFrom(r.Context())
	x.code = e.Code
	h := w.Header()
	if s := e.RetryAfterSeconds(); s > 0 {
		h.Set("Retry-After", strconv.Itoa(s))
	}
	limit := e.Limit
	if limit == nil && e.Code == service.CodeRateLimited {
		limit = x.trace.Limit
	}
	setLimitHeaders(h, limit)
	writeJSON(w, e.Status(), errorBody{Error: detail(e)})
}

// setLimitHeaders writes RateLimit-Limit, -Remaining and -Reset from d.
func setLimitHeaders(h http.Header, d *ratelimit.Decision) {
	if d == nil {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.Itoa(d.ResetAfterSeconds()))
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the package's own response types are marshalled; they
		// cannot fail. Keep the contract anyway.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	b = append(b, '\n')
	_, _ = w.Write(b)
}

// logLine writes the access line of one request or action. It carries no
// credential, no body and no client-chosen text except the request ID.
func (a *API) logLine(ctx context.Context, transport string, x *exchange, elapsed time.Duration) {
	level := slog.LevelInfo
	switch {
	case x.status == http.StatusServiceUnavailable:
		// A dependency is down; the component that failed logs the cause
		// at ERROR, throttled, so an outage is not one ERROR per request.
		level = slog.LevelWarn
	case x.status >= 500:
		level = slog.LevelError
	}
	outcome := x.code
	if outcome == "" {
		outcome = "ok"
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("requestID", x.id),
		slog.String("transport", transport),
		slog.String("op", x.op),
		slog.String("outcome", outcome),
		slog.Int("status", x.status),
		slog.Float64("durationMs", float64(elapsed.Microseconds())/1000),
	)
	if x.trace.UserID != "" {
		attrs = append(attrs, slog.String("userID", x.trace.UserID), slog.String("provider", x.trace.Provider))
	}
	a.log.LogAttrs(ctx, level, "request", attrs...)
}
