// Package apptest provides a recording stand-in for the application the
// platform adapters serve, so adapter tests can assert exactly what crossed
// the boundary (request line, headers, body, client address, request ID,
// gateway claims, callFunction credentials).
package apptest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
)

// Seen is what the App saw of one HTTP request.
type Seen struct {
	Method     string              `json:"method"`
	Path       string              `json:"path"`
	RawQuery   string              `json:"rawQuery"`
	Host       string              `json:"host"`
	Header     map[string][]string `json:"header"`
	Body       string              `json:"body"`
	RemoteAddr string              `json:"remoteAddr"`
	RequestID  string              `json:"requestID"`
	Claims     map[string]string   `json:"claims"`
}

// Call is what the App saw of one Do call.
type Call struct {
	Action       api.Action
	CtxRequestID string
	HasDeadline  bool
}

// App records requests and actions. By default ServeHTTP answers 200 with
// the JSON of Seen and Do answers {"ok":true,"data":{"action":NAME}}; set
// HTTP or Action to change that. It is safe for concurrent use.
type App struct {
	// HTTP, when set, serves requests after they are recorded.
	HTTP http.HandlerFunc
	// Action, when set, answers Do after the call is recorded.
	Action func(ctx context.Context, a api.Action) []byte

	mu       sync.Mutex
	requests []Seen
	calls    []Call
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := Seen{
		Method:     r.Method,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Host:       r.Host,
		Header:     r.Header,
		Body:       string(body),
		RemoteAddr: r.RemoteAddr,
		RequestID:  api.RequestIDFromContext(r.Context()),
		Claims:     identity.GatewayClaimsFromContext(r.Context()),
	}
	a.mu.Lock()
	a.requests = append(a.requests, s)
	a.mu.Unlock()
	if a.HTTP != nil {
		a.HTTP(w, r)
		return
	}
	out, _ := json.Marshal(s)
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

// Do implements the action dispatcher.
func (a *App) Do(ctx context.Context, act api.Action) []byte {
	_, hasDeadline := ctx.Deadline()
	a.mu.Lock()
	a.calls = append(a.calls, Call{Action: act, CtxRequestID: api.RequestIDFromContext(ctx), HasDeadline: hasDeadline})
	a.mu.Unlock()
	if a.Action != nil {
		return a.Action(ctx, act)
	}
	out, _ := json.Marshal(struct {
		OK   bool              `json:"ok"`
		Data map[string]string `json:"data"`
	}{true, map[string]string{"action": act.Name}})
	return out
}

// Requests returns the recorded HTTP requests.
func (a *App) Requests() []Seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Seen(nil), a.requests...)
}

// Calls returns the recorded Do calls.
func (a *App) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}
