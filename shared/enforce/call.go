package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/imapi"
	"github.com/callsign-dev/callsign/shared/metrics"
)

// CallEngine reads and ends TUICallKit calls through the IM REST API;
// *imapi.Client implements it.
type CallEngine interface {
	GetCallInfo(ctx context.Context, callID string) (imapi.CallInfo, error)
	EndCall(ctx context.Context, callID string) error
}

// CommandAfterStartCall is the TUICallKit callback callsign acts on.
const CommandAfterStartCall = "Call.CallbackAfterStartCall"

// CallAck is the answer Tencent expects from a Call.* callback.
var CallAck = []byte(`{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`)

// MaxCallIDLen bounds a CallId taken from an unauthenticated body.
const MaxCallIDLen = 128

// Verdicts of a TUICallKit call, as logged.
const (
	verdictCallOK       = "callsign_call"
	verdictNotOurCall   = "not_a_callsign_call"
	verdictWrongCaller  = "wrong_caller"
	verdictCallerBanned = "caller_banned"
)

// CallCallback is one TUICallKit Call.* callback as received. It carries
// no signature: nothing in it is trusted beyond the CallId, which is
// looked up with get_call_info before anything is done.
type CallCallback struct {
	// SDKAppID is the SdkAppid query parameter.
	SDKAppID string
	// Body is the raw JSON body.
	Body []byte
}

// HandleCall handles Call.CallbackAfterStartCall (other commands are
// acknowledged and ignored). It confirms the call with get_call_info and,
// under ModeEnforce, ends it with end_call when its caller is banned, or
// its room is not a live callsign call of that caller, or a member is not
// on that call. A call Tencent does not know (anymore) is left alone. nil
// means "answer CallAck"; errors wrap ErrUnauthenticated (SdkAppid),
// ErrInvalid or ErrUnavailable.
func (e *Enforcer) HandleCall(ctx context.Context, cb CallCallback) error {
	ctx, cancel := context.WithTimeout(ctx, e.budget)
	defer cancel()
	sec, err := e.secrets.Load(ctx)
	if err != nil {
		return fmt.Errorf("%w: loading the secret: %w", ErrUnavailable, err)
	}
	if cb.SDKAppID != strconv.FormatUint(uint64(sec.SDKAppID), 10) {
		return fmt.Errorf("%w: SdkAppid missing or not this application", ErrUnauthenticated)
	}
	var body struct {
		Command  string `json:"CallbackCommand"`
		CallInfo struct {
			CallID string `json:"CallId"`
		} `json:"CallInfo"`
	}
	if err := json.Unmarshal(cb.Body, &body); err != nil {
		return fmt.Errorf("%w: body is not a JSON callback", ErrInvalid)
	}
	if body.Command != CommandAfterStartCall || e.mode == ModeOff {
		return nil
	}
	callID := body.CallInfo.CallID
	if callID == "" || len(callID) > MaxCallIDLen {
		return fmt.Errorf("%w: CallId missing or too long", ErrInvalid)
	}
	if e.calls == nil {
		e.log.LogAttrs(ctx, slog.LevelError, "TUICallKit callback ignored: no IM REST client is configured")
		return nil
	}
	info, err := e.calls.GetCallInfo(ctx, callID)
	if errors.Is(err, imapi.ErrCallNotFound) {
		e.log.LogAttrs(ctx, slog.LevelInfo, "call enforcement: get_call_info knows no such call; nothing to do", slog.String("callID", callID))
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: get_call_info: %w", ErrUnavailable, err)
	}
	verdict, caller, room, err := e.judgeCall(ctx, info)
	if err != nil {
		return err
	}
	attrs := []slog.Attr{slog.String("verdict", verdict), slog.String("tuiCallID", callID),
		slog.String("room", room), slog.String("caller", caller)}
	e.metrics.Count(OpCallCallback, verdict, metrics.CallbackVerdicts, 1)
	judged := audit.Event{Action: audit.ActionVerdict, Verdict: verdict, Mode: string(e.mode), Room: room, UserID: caller}
	audit.Record(ctx, judged)
	if verdict == verdictCallOK {
		return nil
	}
	if e.mode == ModeAudit {
		e.log.LogAttrs(ctx, slog.LevelWarn, "call enforcement: would end the TUICallKit call (audit)", attrs...)
		return nil
	}
	judged.Action = audit.ActionEndCall
	return e.once(ctx, "endcall:"+callID, "ended the TUICallKit call", judged, attrs, func(ctx context.Context) error {
		return e.calls.EndCall(ctx, callID)
	})
}

// judgeCall compares a confirmed call with callsign's record of its room.
func (e *Enforcer) judgeCall(ctx context.Context, info imapi.CallInfo) (verdict, caller, room string, err error) {
	caller = info.Caller
	if caller == "" {
		// Without Caller_Account the caller is the one member already
		// "Calling" when the call starts (the invitees are "Waiting").
		for _, u := range info.Users {
			if u.Status == "Calling" {
				if caller != "" {
					caller = ""
					break
				}
				caller = u.UserID
			}
		}
	}
	var r callrecord.Room
	switch info.RoomIDType {
	case 1:
		n, perr := strconv.ParseUint(info.RoomID, 10, 32)
		if perr != nil || n == 0 {
			return verdictNotOurCall, caller, info.RoomID, nil
		}
		r.Num = uint32(n)
	default:
		r.Str = info.RoomID
	}
	if !r.Valid() {
		return verdictNotOurCall, caller, info.RoomID, nil
	}
	rec, gerr := e.store.Get(ctx, r)
	switch {
	case errors.Is(gerr, callrecord.ErrNotFound):
		return verdictNotOurCall, caller, r.String(), nil
	case gerr != nil:
		return "", caller, r.String(), fmt.Errorf("%w: reading the call record: %w", ErrUnavailable, gerr)
	case rec.State == callrecord.StateEnded:
		return verdictNotOurCall, caller, r.String(), nil
	case caller != "" && caller != rec.Caller:
		return verdictWrongCaller, caller, r.String(), nil
	}
	for _, u := range info.Users {
		if !rec.Member(u.UserID) && !e.service[u.UserID] {
			return verdictNotInvited, caller, r.String(), nil
		}
	}
	if e.banned != nil {
		banned, berr := e.banned(ctx, rec.Caller)
		if berr != nil {
			return "", caller, r.String(), fmt.Errorf("%w: ban lookup: %w", ErrUnavailable, berr)
		}
		if banned {
			return verdictCallerBanned, rec.Caller, r.String(), nil
		}
	}
	return verdictCallOK, caller, r.String(), nil
}
