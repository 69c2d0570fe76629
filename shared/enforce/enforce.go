// Package enforce turns callsign's invitations into enforcement for every
// client, TUICallKit included: it handles the signed TRTC room callbacks
// (POST /v1/callbacks/trtc), keeps the call records current, and removes
// from the room, through the TRTC cloud API, anyone who enters a call's
// room without being its caller or an invitee, or after the call ended.
//
// The handler acts at most once per Tencent event (retries and duplicates
// are claimed in the shared store), answers within Tencent's 5 s, and in
// audit mode only logs what it would do.
package enforce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/trtcapi"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// Mode is CALLSIGN_CALL_ENFORCEMENT.
type Mode string

// Enforcement modes.
const (
	// ModeOff verifies and acknowledges callbacks and keeps the records
	// current, but makes no verdicts.
	ModeOff Mode = "off"
	// ModeAudit logs every verdict and removes no one.
	ModeAudit Mode = "audit"
	// ModeEnforce removes offending users (and dismisses unknown rooms
	// when UnknownRoom is UnknownDismiss).
	ModeEnforce Mode = "enforce"
)

// UnknownRoom is what happens on 101/103 for a room callsign never
// allocated (or whose record expired): CALLSIGN_CALL_UNKNOWN_ROOM.
type UnknownRoom string

// Unknown-room policies.
const (
	UnknownIgnore  UnknownRoom = "ignore"
	UnknownAudit   UnknownRoom = "audit"
	UnknownDismiss UnknownRoom = "dismiss"
)

// Remover acts on rooms; *trtcapi.Client implements it.
type Remover interface {
	RemoveUsers(ctx context.Context, sdkAppID uint32, room trtcapi.Room, userIDs []string) error
	DismissRoom(ctx context.Context, sdkAppID uint32, room trtcapi.Room) error
}

// Defaults.
const (
	// DefaultBudget bounds the handling of one callback, well inside
	// Tencent's 5 s.
	DefaultBudget = 4 * time.Second
	// DefaultAttempts is how often one removal is tried.
	DefaultAttempts = 3
	// DefaultBackoff is the wait before the second attempt; it doubles.
	DefaultBackoff = 250 * time.Millisecond
	// DefaultActiveTTL is how long a record lives after its last member
	// event at least.
	DefaultActiveTTL = 2 * time.Hour
	// claimLease is how long an instance holds an event while it acts on
	// it: longer than the budget, shorter than Tencent's 10 s retry gap, so
	// a crashed instance's claim is free again for the next retry.
	claimLease = 8 * time.Second
	// doneTTL keeps a handled event claimed past Tencent's one-minute
	// retry window.
	doneTTL = 2 * time.Minute
)

// Options configures New.
type Options struct {
	// Store holds the call records; required.
	Store callrecord.Store
	// Secrets yields the SDKAppID and the callback key; required.
	Secrets secret.Source
	// Remover removes users; required with ModeEnforce.
	Remover Remover
	// Calls confirms and ends TUICallKit calls (HandleCall); nil leaves
	// those callbacks unanswered by action.
	Calls CallEngine
	// Banned reports whether a user is banned (HandleCall ends a banned
	// caller's calls); nil bans no one.
	Banned func(ctx context.Context, userID string) (bool, error)
	// Mode is off, audit (default) or enforce.
	Mode Mode
	// UnknownRoom is ignore (default), audit or dismiss.
	UnknownRoom UnknownRoom
	// ServiceUsers are server-side participants (cloud recording, relay
	// bots) that may enter any room; their entries are never judged. They
	// must never be issued to end users (service.Options.ReservedUserIDs).
	ServiceUsers []string
	// Logger receives verdicts and failures; nil discards.
	Logger *slog.Logger
	// Metrics counts verdicts and removals; nil discards. Verdicts and
	// removals are also written to the audit trail of the callback's
	// context (audit.Record).
	Metrics metrics.Recorder
	// Now is the clock for record times; nil means time.Now.
	Now func() time.Time
	// Sleep waits between removal attempts; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Budget, Attempts, Backoff, ActiveTTL: zero means the default.
	Budget    time.Duration
	Attempts  int
	Backoff   time.Duration
	ActiveTTL time.Duration
}

// Enforcer handles TRTC room callbacks. It is safe for concurrent use.
type Enforcer struct {
	store     callrecord.Store
	secrets   secret.Source
	remover   Remover
	calls     CallEngine
	banned    func(ctx context.Context, userID string) (bool, error)
	mode      Mode
	unknown   UnknownRoom
	service   map[string]bool
	log       *slog.Logger
	metrics   metrics.Recorder
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error
	budget    time.Duration
	attempts  int
	backoff   time.Duration
	activeTTL time.Duration
}

// New validates opts and returns an Enforcer.
func New(opts Options) (*Enforcer, error) {
	e := &Enforcer{
		store: opts.Store, secrets: opts.Secrets, remover: opts.Remover, calls: opts.Calls, banned: opts.Banned,
		mode: opts.Mode, unknown: opts.UnknownRoom, log: opts.Logger, metrics: opts.Metrics, now: opts.Now, sleep: opts.Sleep,
		budget: opts.Budget, attempts: opts.Attempts, backoff: opts.Backoff, activeTTL: opts.ActiveTTL,
		service: make(map[string]bool, len(opts.ServiceUsers)),
	}
	for _, u := range opts.ServiceUsers {
		e.service[u] = true
	}
	switch {
	case e.store == nil:
		return nil, errors.New("enforce: a call-record Store is required")
	case e.secrets == nil:
		return nil, errors.New("enforce: a secret Source is required")
	}
	if e.mode == "" {
		e.mode = ModeAudit
	}
	if e.unknown == "" {
		e.unknown = UnknownIgnore
	}
	switch e.mode {
	case ModeOff, ModeAudit:
	case ModeEnforce:
		if e.remover == nil {
			return nil, errors.New("enforce: enforce mode needs a Remover")
		}
	default:
		return nil, fmt.Errorf("enforce: unknown mode %q", e.mode)
	}
	switch e.unknown {
	case UnknownIgnore, UnknownAudit, UnknownDismiss:
	default:
		return nil, fmt.Errorf("enforce: unknown unknown-room policy %q", e.unknown)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.metrics == nil {
		e.metrics = metrics.Discard
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.sleep == nil {
		e.sleep = trtcapi.Sleep
	}
	e.budget = orDefault(e.budget, DefaultBudget)
	e.backoff = orDefault(e.backoff, DefaultBackoff)
	e.activeTTL = orDefault(e.activeTTL, DefaultActiveTTL)
	if e.attempts <= 0 {
		e.attempts = DefaultAttempts
	}
	return e, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Mode returns the enforcement mode.
func (e *Enforcer) Mode() Mode { return e.mode }

// Callback is one request as received.
type Callback struct {
	// Sign is the Sign header.
	Sign string
	// SDKAppID is the SdkAppId header.
	SDKAppID string
	// Body is the raw body, at most trtcevent.MaxBodyBytes.
	Body []byte
}

// Errors of Handle; the transport maps them to HTTP statuses.
var (
	// ErrUnauthenticated: missing or bad Sign or SdkAppId (401). Nothing
	// was read or written.
	ErrUnauthenticated = errors.New("enforce: callback not authenticated")
	// ErrInvalid: a correctly signed body that is not a callback (400).
	ErrInvalid = errors.New("enforce: invalid callback")
	// ErrUnavailable: the store, the secret or the removal failed (503);
	// Tencent retries, and the retry is handled afresh.
	ErrUnavailable = errors.New("enforce: temporarily unable to handle the callback")
)

// The operations the enforcer's figures are recorded under: the API's
// callback routes.
const (
	// OpCallback is POST /v1/callbacks/trtc (TRTC room callbacks).
	OpCallback = "callback.trtc"
	// OpCallCallback is POST /v1/callbacks/call (TUICallKit Call.* callbacks).
	OpCallCallback = "callback.call"
)

// removalOutcome is the Removals outcome of a successful action.
func removalOutcome(action string) string {
	switch action {
	case audit.ActionDismiss:
		return "dismissed"
	case audit.ActionEndCall:
		return "ended"
	}
	return "removed"
}

// actionOp is the operation an enforcement action's figures are recorded
// under: ending a TUICallKit call answers the call callback, everything
// else the room callback.
func actionOp(action string) string {
	if action == audit.ActionEndCall {
		return OpCallCallback
	}
	return OpCallback
}

// Verdicts, as logged.
const (
	verdictMember     = "member"
	verdictNotInvited = "not_invited"
	verdictCallEnded  = "call_ended"
	verdictUnknown    = "unknown_room"
	verdictBanned     = "user_banned"
)

// Handle verifies and handles one callback. nil means "answer 200
// {"code":0}"; errors wrap ErrUnauthenticated, ErrInvalid or
// ErrUnavailable and never carry the key, the Sign or the body.
func (e *Enforcer) Handle(ctx context.Context, cb Callback) error {
	ctx, cancel := context.WithTimeout(ctx, e.budget)
	defer cancel()
	sec, err := e.secrets.Load(ctx)
	if err != nil {
		return fmt.Errorf("%w: loading the secret: %w", ErrUnavailable, err)
	}
	if sec.TRTCCallbackKey == "" {
		e.log.LogAttrs(ctx, slog.LevelError, "TRTC callback refused: no callback key is configured (trtcCallbackKey / CALLSIGN_TRTC_CALLBACK_KEY)")
		return fmt.Errorf("%w: no callback key configured", ErrUnauthenticated)
	}
	if cb.SDKAppID != strconv.FormatUint(uint64(sec.SDKAppID), 10) {
		return fmt.Errorf("%w: SdkAppId header missing or not this application", ErrUnauthenticated)
	}
	if !trtcevent.Verify(sec.TRTCCallbackKey, cb.Body, cb.Sign) {
		return fmt.Errorf("%w: Sign missing or wrong", ErrUnauthenticated)
	}
	ev, err := trtcevent.Parse(cb.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if ev.GroupID != 1 {
		return nil // media events carry nothing callsign acts on
	}
	room := callrecord.Room{Str: ev.Room.Str, Num: ev.Room.Num}
	switch ev.Type {
	case trtcevent.EnterRoom:
		if ev.UserID == "" {
			return fmt.Errorf("%w: enter event without UserId", ErrInvalid)
		}
		if e.service[ev.UserID] {
			return nil // a recording or relay bot the app runs itself
		}
		return e.enter(ctx, sec.SDKAppID, room, ev)
	case trtcevent.ExitRoom:
		return e.update(ctx, room, func(r *callrecord.Record) error {
			if at, in := r.Participants[ev.UserID]; in && ev.EventMsTs >= at {
				delete(r.Participants, ev.UserID)
			}
			return nil
		})
	case trtcevent.DismissRoom:
		return e.update(ctx, room, func(r *callrecord.Record) error {
			if r.State != callrecord.StateEnded || ev.EventMsTs < r.EndedAtMs {
				r.State, r.EndedAtMs = callrecord.StateEnded, ev.EventMsTs
			}
			r.Participants = nil
			return nil
		})
	case trtcevent.CreateRoom:
		if _, err := e.store.Get(ctx, room); errors.Is(err, callrecord.ErrNotFound) {
			return e.unknownRoom(ctx, sec.SDKAppID, room, ev)
		} else if err != nil {
			return fmt.Errorf("%w: reading the call record: %w", ErrUnavailable, err)
		}
	}
	return nil
}

// update applies fn to the room's record; an unknown room is not an error.
func (e *Enforcer) update(ctx context.Context, room callrecord.Room, fn func(*callrecord.Record) error) error {
	_, err := e.store.Update(ctx, room, fn)
	if err != nil && !errors.Is(err, callrecord.ErrNotFound) {
		return fmt.Errorf("%w: updating the call record: %w", ErrUnavailable, err)
	}
	return nil
}

// enter handles event 103.
func (e *Enforcer) enter(ctx context.Context, sdkAppID uint32, room callrecord.Room, ev trtcevent.Event) error {
	rec, err := e.store.Get(ctx, room)
	if errors.Is(err, callrecord.ErrNotFound) {
		return e.unknownRoom(ctx, sdkAppID, room, ev)
	}
	if err != nil {
		return fmt.Errorf("%w: reading the call record: %w", ErrUnavailable, err)
	}
	verdict := verdictMember
	switch {
	case !rec.Member(ev.UserID):
		verdict = verdictNotInvited
	case rec.State == callrecord.StateEnded && ev.EventMsTs >= rec.EndedAtMs:
		verdict = verdictCallEnded
	case e.banned != nil:
		// A banned member may still hold a UserSig issued before the ban.
		banned, err := e.banned(ctx, ev.UserID)
		if err != nil {
			return fmt.Errorf("%w: ban lookup: %w", ErrUnavailable, err)
		}
		if banned {
			verdict = verdictBanned
		}
	}
	judged := audit.Event{Action: audit.ActionVerdict, Verdict: verdict, Mode: string(e.mode), CallID: rec.CallID, Room: room.String(), UserID: ev.UserID}
	if e.mode != ModeOff {
		e.metrics.Count(OpCallback, verdict, metrics.CallbackVerdicts, 1)
		// Every verdict is audited, admissions included.
		audit.Record(ctx, judged)
	}
	if verdict == verdictMember {
		return e.update(ctx, room, func(r *callrecord.Record) error {
			if r.State == callrecord.StateEnded {
				return nil // a late delivery of an entry from before the end
			}
			if r.State == callrecord.StateCreated {
				r.State = callrecord.StateActive
			}
			if r.Participants == nil {
				r.Participants = map[string]int64{}
			}
			if ev.EventMsTs > r.Participants[ev.UserID] {
				r.Participants[ev.UserID] = ev.EventMsTs
			}
			if until := e.now().Add(e.activeTTL); until.After(r.ExpiresAt) {
				r.ExpiresAt = until
			}
			return nil
		})
	}
	if e.mode == ModeOff {
		return nil
	}
	attrs := []slog.Attr{slog.String("verdict", verdict), slog.String("callID", rec.CallID),
		slog.String("room", room.String()), slog.String("userID", ev.UserID), slog.Int64("eventMsTs", ev.EventMsTs)}
	if e.mode == ModeAudit {
		e.log.LogAttrs(ctx, slog.LevelWarn, "call enforcement: would remove user (audit)", attrs...)
		return nil
	}
	judged.Action = audit.ActionRemove
	return e.once(ctx, "remove:"+ev.Key(), "removed the user", judged, attrs, func(ctx context.Context) error {
		return e.remover.RemoveUsers(ctx, sdkAppID, trtcapi.Room{Str: room.Str, Num: room.Num}, []string{ev.UserID})
	})
}

// unknownRoom applies the unknown-room policy to 101/103.
func (e *Enforcer) unknownRoom(ctx context.Context, sdkAppID uint32, room callrecord.Room, ev trtcevent.Event) error {
	if e.mode == ModeOff || e.unknown == UnknownIgnore {
		return nil
	}
	attrs := []slog.Attr{slog.String("verdict", verdictUnknown), slog.String("room", room.String()),
		slog.Int("eventType", ev.Type), slog.String("userID", ev.UserID)}
	e.metrics.Count(OpCallback, verdictUnknown, metrics.CallbackVerdicts, 1)
	judged := audit.Event{Action: audit.ActionVerdict, Verdict: verdictUnknown, Mode: string(e.mode), Room: room.String(), UserID: ev.UserID}
	audit.Record(ctx, judged)
	if e.mode == ModeAudit || e.unknown == UnknownAudit {
		e.log.LogAttrs(ctx, slog.LevelWarn, "call enforcement: room callsign did not allocate", attrs...)
		return nil
	}
	judged.Action = audit.ActionDismiss
	return e.once(ctx, "dismiss:"+room.Key(), "dismissed the room", judged, attrs, func(ctx context.Context) error {
		return e.remover.DismissRoom(ctx, sdkAppID, trtcapi.Room{Str: room.Str, Num: room.Num})
	})
}

// once runs act (logged as done on success) at most once per key across
// retries, duplicates and instances: it claims the key for claimLease, tries act up to e.attempts
// times (temporary failures only, with doubling backoff), and then keeps
// the key for doneTTL, or releases it on failure so Tencent's next retry
// tries again (the answer is then ErrUnavailable). A key someone else
// holds means the work is done or under way: success.
//
// The action (ev.Action: remove or dismiss) is counted in Removals with
// the outcome removed, dismissed or failed, and written to the audit trail
// when it succeeded.
func (e *Enforcer) once(ctx context.Context, key, done string, ev audit.Event, attrs []slog.Attr, act func(context.Context) error) error {
	ok, err := e.store.Claim(ctx, key, claimLease)
	if err != nil {
		return fmt.Errorf("%w: claiming the event: %w", ErrUnavailable, err)
	}
	if !ok {
		e.log.LogAttrs(ctx, slog.LevelInfo, "call enforcement: duplicate event, already handled", attrs...)
		return nil
	}
	wait := e.backoff
	for attempt := 1; ; attempt++ {
		err = act(ctx)
		if err == nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "call enforcement: "+done, append(attrs, slog.Int("attempt", attempt))...)
			e.metrics.Count(actionOp(ev.Action), removalOutcome(ev.Action), metrics.Removals, 1)
			audit.Record(ctx, ev)
			// The work is done; failing to extend the claim only risks a
			// second, harmless removal on a late retry.
			if xerr := e.store.Extend(context.WithoutCancel(ctx), key, doneTTL); xerr != nil {
				e.log.LogAttrs(ctx, slog.LevelError, "call enforcement: keeping the event claim failed", slog.String("error", xerr.Error()))
			}
			return nil
		}
		e.log.LogAttrs(ctx, slog.LevelError, "call enforcement: cloud API call failed",
			append(attrs, slog.Int("attempt", attempt), slog.String("error", err.Error()))...)
		if attempt >= e.attempts || !trtcapi.IsTemporary(err) {
			break
		}
		if serr := e.sleep(ctx, wait); serr != nil {
			break
		}
		wait *= 2
	}
	e.metrics.Count(OpCallback, "failed", metrics.Removals, 1)
	if rerr := e.store.Release(context.WithoutCancel(ctx), key); rerr != nil {
		e.log.LogAttrs(ctx, slog.LevelError, "call enforcement: releasing the event claim failed", slog.String("error", rerr.Error()))
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
