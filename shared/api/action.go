package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/service"
)

// actionResult is the callFunction / direct-invoke reply:
// {"ok":true,"data":{...}} or {"ok":false,"error":{...}}.
type actionResult struct {
	// OK reports success.
	OK bool `json:"ok"`
	// Data is the operation's response on success.
	Data any `json:"data,omitempty"`
	// Error describes the failure otherwise.
	Error *errorDetail `json:"error,omitempty"`
}

// Do runs one callFunction or direct-invoke action and returns the JSON
// reply. Actions are "usersig", "call.create" and "call.join" (the same
// request bodies as the HTTP routes, in a.Data); "session", disabled
// operations and unknown names answer not_found. Identity comes only from
// a.Credentials, never from a.Data. Do never panics and never returns an
// error: failures are {"ok":false,"error":{"code","message"[,
// "retryAfterSeconds"]}} with the codes of the HTTP API.
func (a *API) Do(ctx context.Context, act Action) (out []byte) {
	start := time.Now()
	id := act.RequestID
	if id == "" {
		id = RequestIDFromContext(ctx)
	}
	x := &exchange{id: requestID(id), op: "unknown"}
	ctx = WithRequestID(ctx, x.id)
	ctx = service.WithTrace(ctx, &x.trace)
	ctx = context.WithValue(ctx, exchangeKey{}, x)
	if a.audit != nil {
		ctx = audit.NewContext(ctx, a.audit, x.id)
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.LogAttrs(ctx, slog.LevelError, "panic serving action",
				slog.String("requestID", x.id),
				slog.String("panicType", panicType(p)),
				slog.String("stack", string(debug.Stack())))
			out = a.actionError(x, service.NewError(service.CodeInternal, "internal error"))
		}
		elapsed := time.Since(start)
		a.logLine(ctx, "action", x, elapsed)
		a.observe(x, elapsed)
	}()
	if !a.actionEnabled(act.Name) {
		return a.actionError(x, service.NewError(service.CodeNotFound, "unknown action"))
	}
	x.op = act.Name
	if int64(len(act.Data)) > a.maxBody {
		return a.actionError(x, tooLarge(a.maxBody))
	}
	resp, e := a.invoke(ctx, act.Name, act.Credentials, act.Data)
	if e != nil {
		return a.actionError(x, e)
	}
	a.issued(ctx, x, resp)
	b, err := json.Marshal(actionResult{OK: true, Data: resp})
	if err != nil {
		return a.actionError(x, service.AsError(err))
	}
	x.status = 200
	return b
}

// actionEnabled reports whether name is an action this instance serves.
func (a *API) actionEnabled(name string) bool {
	switch name {
	case OpUserSig, OpCallCreate, OpCallJoin:
		return a.ops[name]
	}
	return false
}

// actionError renders e as an action reply and records it for the log.
func (a *API) actionError(x *exchange, e *service.Error) []byte {
	x.code, x.status = e.Code, e.Status()
	d := detail(e)
	b, err := json.Marshal(actionResult{Error: &d})
	if err != nil {
		return []byte(`{"ok":false,"error":{"code":"internal","message":"internal error"}}`)
	}
	return b
}
