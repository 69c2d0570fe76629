// Package audit writes callsign's audit trail: one JSON line per
// credential issued, per ban or unban, per call-enforcement verdict and
// per removal. A line says who got what, for how long and why, and never
// carries the credential itself (no UserSig, PrivateMapKey, token or
// secret): Event has no field that could hold one.
//
// Lines go to the function's log stream (CloudWatch Logs on Lambda, CLS on
// Tencent) with "log":"audit", so a subscription filter or a CLS index can
// keep them apart from the operational logs; docs/operations.md says how
// long each stage keeps them.
package audit

import (
	"context"
	"log/slog"
	"time"
)

// Actions.
const (
	// ActionIssue: a credential was issued (Kind names it).
	ActionIssue = "issue"
	// ActionVerdict: a TRTC room entry was judged (Verdict names it).
	ActionVerdict = "verdict"
	// ActionRemove: a user was removed from a room.
	ActionRemove = "remove"
	// ActionDismiss: a room was dismissed.
	ActionDismiss = "dismiss"
	// ActionEndCall: a TUICallKit call was ended through the call engine.
	ActionEndCall = "endcall"
	// ActionBan and ActionUnban: an operator banned or unbanned a user.
	ActionBan   = "ban"
	ActionUnban = "unban"
)

// Event is one audit record. Zero fields are left out of the line.
type Event struct {
	// Action is what happened: one of the Action constants.
	Action string
	// Kind is the credential kind of ActionIssue (metrics.Kind*).
	Kind string
	// UserID is the TRTC userID the event is about.
	UserID string
	// Provider is the identity verifier that accepted the caller.
	Provider string
	// CallID and Room name the call and its TRTC room.
	CallID, Room string
	// Privileges is the PrivateMapKey privilege bit map.
	Privileges uint32
	// ExpiresAt is when the credential (or the ban) expires.
	ExpiresAt time.Time
	// Verdict is the enforcement verdict (member, not_invited, call_ended,
	// unknown_room; for TUICallKit calls callsign_call, not_a_callsign_call,
	// wrong_caller, caller_banned).
	Verdict string
	// Mode is the enforcement mode that applied (audit, enforce).
	Mode string
	// Actor is who acted, for operator actions (ban, unban).
	Actor string
	// Reason is a fixed, operator-supplied or code-chosen explanation.
	Reason string
}

// Logger writes audit lines. A nil *Logger drops them.
type Logger struct {
	h   slog.Handler
	now func() time.Time
}

// New returns a Logger writing through h, the handler of the instance's
// logger (so every line names the stage, function and platform the way the
// other log lines do), with "log":"audit" added. Audit lines are written
// whatever the handler's level: Record hands them to h directly. now stamps
// the lines; nil means time.Now.
func New(h slog.Handler, now func() time.Time) *Logger {
	if now == nil {
		now = time.Now
	}
	return &Logger{h: h.WithAttrs([]slog.Attr{slog.String("log", "audit")}), now: now}
}

// Record writes ev with the request ID from ctx (see NewContext).
func (l *Logger) Record(ctx context.Context, ev Event) {
	if l == nil {
		return
	}
	r := slog.NewRecord(l.now(), slog.LevelInfo, "audit", 0)
	attrs := make([]slog.Attr, 0, 12)
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("requestID", requestID(ctx))
	add("action", ev.Action)
	add("kind", ev.Kind)
	add("userID", ev.UserID)
	add("provider", ev.Provider)
	add("callID", ev.CallID)
	add("room", ev.Room)
	if ev.Privileges != 0 {
		attrs = append(attrs, slog.Int64("privileges", int64(ev.Privileges)))
	}
	if !ev.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.String("expiresAt", ev.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	add("verdict", ev.Verdict)
	add("mode", ev.Mode)
	add("actor", ev.Actor)
	add("reason", ev.Reason)
	r.AddAttrs(attrs...)
	// A failed write cannot be reported anywhere better than the stream
	// that just failed.
	_ = l.h.Handle(ctx, r)
}

type scopeKey struct{}

// scope is what NewContext attaches.
type scope struct {
	log       *Logger
	requestID string
}

// NewContext returns a context whose Record calls write to l, stamped with
// requestID (empty outside a request, for instance in the CLI).
func NewContext(ctx context.Context, l *Logger, requestID string) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope{log: l, requestID: requestID})
}

// Record writes ev to the Logger attached to ctx by NewContext; without
// one it writes nothing. Code below the API (the enforcer, the service,
// operator commands) records through it.
func Record(ctx context.Context, ev Event) {
	s, _ := ctx.Value(scopeKey{}).(scope)
	s.log.Record(ctx, ev)
}

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey{}).(scope)
	return s.requestID
}
