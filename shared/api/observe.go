package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/service"
)

// observe records the figures of one finished request or action and, when
// the recorder aggregates, writes them: on Lambda and SCF the end of a
// request is the end of the invocation, after which the instance may be
// frozen.
func (a *API) observe(x *exchange, elapsed time.Duration) {
	outcome := x.code
	if outcome == "" {
		outcome = metrics.OutcomeOK
	}
	m := a.metrics
	m.Count(x.op, outcome, metrics.Requests, 1)
	m.Time(x.op, outcome, metrics.Latency, elapsed)
	if x.status >= 500 {
		m.Count(x.op, outcome, metrics.Errors, 1)
	}
	if x.code == service.CodeRateLimited {
		m.Count(x.op, outcome, metrics.RateLimitDenials, 1)
	}
	for _, kind := range x.issued[:x.nIssued] {
		m.Count(x.op, kind, metrics.CredentialsIssued, 1)
	}
	if f, ok := m.(metrics.Flusher); ok {
		f.Flush()
	}
}

// issued writes one audit line per credential in resp and remembers the
// kinds for the figures. The lines carry who, what, where and until when;
// never the credential.
func (a *API) issued(ctx context.Context, x *exchange, resp any) {
	ev := audit.Event{Action: audit.ActionIssue, Provider: x.trace.Provider}
	record := func(kind string, e audit.Event) {
		e.Kind = kind
		if x.nIssued < len(x.issued) {
			x.issued[x.nIssued] = kind
			x.nIssued++
		}
		audit.Record(ctx, e)
	}
	switch r := resp.(type) {
	case *service.UserSigResponse:
		ev.UserID, ev.ExpiresAt = r.UserID, r.ExpiresAt
		record(metrics.KindUserSig, ev)
	case *service.CreateCallResponse:
		ev.UserID, ev.CallID, ev.Room = x.trace.UserID, r.CallID, roomName(r.RoomID)
		pmk := ev
		pmk.Privileges, pmk.ExpiresAt = r.Privileges, r.ExpiresAt
		record(metrics.KindPrivateMapKey, pmk)
		ev.ExpiresAt = r.InviteExpiresAt
		record(metrics.KindCallToken, ev)
	case *service.JoinCallResponse:
		ev.UserID, ev.CallID, ev.Room = x.trace.UserID, r.CallID, roomName(r.RoomID)
		ev.Privileges, ev.ExpiresAt = r.Privileges, r.ExpiresAt
		record(metrics.KindPrivateMapKey, ev)
	case *service.StartSessionResponse:
		ev.UserID, ev.ExpiresAt = r.UserID, r.ExpiresAt
		record(metrics.KindSessionToken, ev)
		ev.ExpiresAt = r.UserSigExpiresAt
		record(metrics.KindUserSig, ev)
	}
}

// roomName renders a room as the logs and call records do.
func roomName(r service.RoomID) string {
	if r.Str != "" {
		return r.Str
	}
	return strconv.FormatUint(uint64(r.Num), 10)
}

// metricsPage serves GET /debug/metrics (Options.MetricsHandler) to
// loopback peers addressing a loopback host only, whatever LoopbackOnly
// says: the counters are for the developer's own machine.
func (a *API) metricsPage(w http.ResponseWriter, r *http.Request) {
	exchangeFrom(r.Context()).op = "metrics"
	if !fromLoopback(r) {
		a.writeError(w, r, service.NewError(service.CodeNotFound, "no such route"))
		return
	}
	a.metricsPageHandler.ServeHTTP(w, r)
}
