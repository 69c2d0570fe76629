package api

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"slices"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/enforce"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/service"
)

// Operation names, for Options.Operations, callFunction actions and logs.
// They equal the rate-limit operation names, except OpCallbackTRTC, which
// Tencent calls and which is authenticated by its Sign, not per user.
const (
	// OpUserSig is POST /v1/usersig and action "usersig".
	OpUserSig = ratelimit.OpUserSig
	// OpCallCreate is POST /v1/calls and action "call.create".
	OpCallCreate = ratelimit.OpCallCreate
	// OpCallJoin is POST /v1/calls/join and action "call.join".
	OpCallJoin = ratelimit.OpCallJoin
	// OpSession is POST /v1/session (HTTP only).
	OpSession = ratelimit.OpSession
	// OpCallbackTRTC is POST /v1/callbacks/trtc (HTTP only): TRTC room
	// event callbacks, served when Options.Enforcer is set.
	OpCallbackTRTC = enforce.OpCallback
	// OpCallbackCall is POST /v1/callbacks/call (HTTP only): TUICallKit
	// Call.* callbacks, served when Options.Enforcer is set.
	OpCallbackCall = enforce.OpCallCallback
)

// DefaultMaxBodyBytes is the default request body limit (16 KiB).
const DefaultMaxBodyBytes = 16 << 10

// Operations returns every operation name the API serves, in a fixed order.
func Operations() []string {
	return []string{OpUserSig, OpCallCreate, OpCallJoin, OpSession, OpCallbackTRTC, OpCallbackCall}
}

// Options configures New.
type Options struct {
	// Logger receives one JSON-able line per request or action; nil
	// discards.
	Logger *slog.Logger
	// AllowedOrigins is the CORS allow-list, matched exactly against the
	// Origin header (scheme://host[:port]); "*" is not a wildcard. Empty:
	// no cross-origin browser access. Requests without Origin (mini-program
	// wx.request, servers) are never affected.
	AllowedOrigins []string
	// Operations lists the operations this instance serves (see
	// Operations()); nil or empty serves all. Routes and actions of other
	// operations answer 404 not_found, so each cloud function can serve
	// only its group. Unknown names are ignored (and logged by New).
	Operations []string
	// MaxBodyBytes limits request bodies and action data; 0 or negative
	// means DefaultMaxBodyBytes. Larger bodies get 413 payload_too_large.
	MaxBodyBytes int64
	// LoopbackOnly serves HTTP requests only when they come from a loopback
	// peer (RemoteAddr) and name a loopback host (Host: localhost,
	// 127.0.0.1, [::1]); every other request gets 403 forbidden before
	// routing. It is set whenever the dev verifier is on, so that neither a
	// listener on a public interface nor a web page using DNS rebinding
	// from the developer's browser can use the header that names the user.
	LoopbackOnly bool
	// Enforcer handles POST /v1/callbacks/trtc and /v1/callbacks/call;
	// nil leaves the routes unserved (404).
	Enforcer *enforce.Enforcer
	// Metrics receives the figures of every request (requests, latency,
	// errors, rate-limit denials, credentials issued) and is flushed at
	// the end of each when it is a metrics.Flusher; nil discards.
	Metrics metrics.Recorder
	// Audit receives one line per credential issued; code below the API
	// records through audit.Record with the request's context. nil writes
	// no audit lines.
	Audit *audit.Logger
	// MetricsHandler, if set, is served at GET /debug/metrics to loopback
	// peers only (the local server's counters).
	MetricsHandler http.Handler
}

// API is the HTTP handler and the action dispatcher over one Service. It is
// safe for concurrent use.
type API struct {
	svc     *service.Service
	log     *slog.Logger
	origins map[string]bool
	ops     map[string]bool
	maxBody int64
	local   bool
	mux     *http.ServeMux
	enf     *enforce.Enforcer
	metrics metrics.Recorder
	audit   *audit.Logger

	metricsPageHandler http.Handler
}

// New returns the API for svc.
func New(svc *service.Service, opts Options) *API {
	a := &API{
		svc:     svc,
		log:     opts.Logger,
		origins: make(map[string]bool, len(opts.AllowedOrigins)),
		ops:     make(map[string]bool, 4),
		maxBody: opts.MaxBodyBytes,
		local:   opts.LoopbackOnly,
		mux:     http.NewServeMux(),
		enf:     opts.Enforcer,
		metrics: opts.Metrics,
		audit:   opts.Audit,

		metricsPageHandler: opts.MetricsHandler,
	}
	if a.metrics == nil {
		a.metrics = metrics.Discard
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	for _, o := range opts.AllowedOrigins {
		if o != "" {
			a.origins[o] = true
		}
	}
	if len(opts.Operations) == 0 {
		for _, op := range Operations() {
			a.ops[op] = true
		}
	}
	for _, op := range opts.Operations {
		if !slices.Contains(Operations(), op) {
			a.log.Warn("ignoring unknown operation in API options", slog.String("op", truncate(op, 64)))
			continue
		}
		a.ops[op] = true
	}
	a.routes()
	return a
}

// routes registers the enabled operations. Every known path also gets a
// method-less pattern that answers 405 with the JSON error body, and "/"
// answers 404 not_found.
func (a *API) routes() {
	for _, r := range []struct{ op, path string }{
		{OpUserSig, "/v1/usersig"},
		{OpCallCreate, "/v1/calls"},
		{OpCallJoin, "/v1/calls/join"},
		{OpSession, "/v1/session"},
	} {
		if !a.ops[r.op] {
			continue
		}
		a.mux.Handle("POST "+r.path, a.opHandler(r.op))
		a.mux.Handle(r.path, methodNotAllowed(a, http.MethodPost))
	}
	if a.ops[OpCallbackTRTC] && a.enf != nil {
		a.mux.HandleFunc("POST /v1/callbacks/trtc", a.trtcCallback)
		a.mux.Handle("/v1/callbacks/trtc", methodNotAllowed(a, http.MethodPost))
	}
	if a.metricsPageHandler != nil {
		a.mux.HandleFunc("GET /debug/metrics", a.metricsPage)
	}
	if a.ops[OpCallbackCall] && a.enf != nil {
		a.mux.HandleFunc("POST /v1/callbacks/call", a.callCallback)
		a.mux.Handle("/v1/callbacks/call", methodNotAllowed(a, http.MethodPost))
	}
	a.mux.HandleFunc("GET /healthz", a.health)
	a.mux.Handle("/healthz", methodNotAllowed(a, "GET, HEAD"))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, service.NewError(service.CodeNotFound, "no such route"))
	})
}

// health answers GET /healthz with {"status":"ok"}. It reveals no
// configuration and touches no dependency.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	exchangeFrom(r.Context()).op = "healthz"
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
	}{"ok"})
}

// methodNotAllowed answers 405 method_not_allowed with an Allow header.
func methodNotAllowed(a *API, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.writeError(w, r, service.NewError(service.CodeMethodNotAllowed, "method not allowed; use "+allow))
	})
}

// maxRequestIDLen bounds a platform-supplied request ID.
const maxRequestIDLen = 128

// requestID returns a usable request ID: id when it is 1..128 printable
// ASCII characters, otherwise a new random one.
func requestID(id string) string {
	if id != "" && len(id) <= maxRequestIDLen {
		ok := true
		for i := 0; i < len(id); i++ {
			if id[i] <= ' ' || id[i] > '~' {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return rand.Text()
}

// truncate shortens client-supplied text quoted in messages and logs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
