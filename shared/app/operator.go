package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/callpolicy"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/imapi"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/trtcapi"
)

// reservedUserIDs are the identifiers never issued to an end user: the IM
// administrator callsign signs as, the configured administrators and the
// server-side room participants.
func reservedUserIDs(cfg config.Config) []string {
	ids := append(slices.Clone(cfg.IMAdminIDs), cfg.CallServiceUsers...)
	if cfg.IMAdminUser != "" {
		ids = append(ids, cfg.IMAdminUser)
	}
	return ids
}

// newBanChecker puts the per-instance ban cache in front of the shared
// store. It fails closed only when the limiter does
// (CALLSIGN_LIMITER_FAILURE=closed).
func newBanChecker(cfg config.Config, opts Options, st stores) *ban.Checker {
	return ban.NewChecker(st.bans, ban.CheckerOptions{
		Timeout:    cfg.StoreTimeout(),
		FailClosed: cfg.LimiterFailure == "closed",
		Now:        opts.Now,
		Logger:     opts.Logger,
	})
}

// newCallPolicy builds the call-policy webhook client, or nil when
// CALLSIGN_CALL_POLICY_URL is unset.
func newCallPolicy(cfg config.Config, opts Options, secrets secret.Source) (*callpolicy.Client, error) {
	if cfg.CallPolicyURL == "" {
		return nil, nil
	}
	c, err := callpolicy.New(callpolicy.Options{
		URL: cfg.CallPolicyURL,
		Key: func(ctx context.Context) ([]byte, error) {
			s, err := secrets.Load(ctx)
			if err != nil {
				return nil, err
			}
			return []byte(s.CallPolicyKey), nil
		},
		FailOpen: cfg.CallPolicyFailure == "open",
		Now:      opts.Now,
		Logger:   opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("app: %s_CALL_POLICY_URL: %w", config.Prefix, err)
	}
	return c, nil
}

// newIMClient builds the IM REST client, signed as CALLSIGN_IM_ADMIN_USER.
func newIMClient(cfg config.Config, opts Options, secrets secret.Source) (*imapi.Client, error) {
	c, err := imapi.New(imapi.Options{BaseURL: cfg.IMAPIBaseURL, AdminUser: cfg.IMAdminUser, Secrets: secrets, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("app: %s_IM_API_BASE_URL: %w", config.Prefix, err)
	}
	return c, nil
}

// Operator runs the operator commands (callsign ban, unban, admin-usersig)
// against a stage's own store and Tencent APIs.
type Operator struct {
	bans    ban.Store
	calls   callrecord.Store
	secrets secret.Source
	im      *imapi.Client
	trtc    *trtcapi.Client
	now     func() time.Time
	retain  time.Duration
	audit   *audit.Logger
	actor   string
}

// ErrNoSharedStore is returned by NewOperator with CALLSIGN_LIMITER=memory:
// a ban written to this process's memory would reach no instance.
var ErrNoSharedStore = errors.New("app: bans need the stage's shared store (CALLSIGN_LIMITER=redis or dynamodb)")

// NewOperator builds an Operator from the stage's configuration.
func NewOperator(ctx context.Context, cfg config.Config, opts Options) (*Operator, error) {
	if cfg.Limiter == "memory" {
		return nil, ErrNoSharedStore
	}
	opts = operatorDefaults(cfg, opts)
	src, err := secretSource(cfg, opts)
	if err != nil {
		return nil, err
	}
	secrets := secret.NewCache(src, secret.CacheOptions{TTL: cfg.SecretCacheTTL, Now: opts.Now, Logger: opts.Logger})
	st, err := newStores(cfg, opts, newObserver(cfg.Stage, opts, nil))
	if err != nil {
		return nil, err
	}
	im, err := newIMClient(cfg, opts, secrets)
	if err != nil {
		return nil, err
	}
	tc, err := newTRTCClient(cfg, opts, st, secrets)
	if err != nil {
		return nil, err
	}
	actor := opts.Getenv("USER")
	if actor == "" {
		actor = "operator"
	}
	return &Operator{bans: st.bans, calls: st.calls, secrets: secrets, im: im, trtc: tc, now: opts.Now,
		retain: max(cfg.SessionTTL, cfg.PrivateMapKeyTTL, cfg.InviteTTL),
		audit:  audit.New(opts.Logger.Handler(), opts.Now), actor: actor}, nil
}

// BanReport says what a ban did beyond storing it.
type BanReport struct {
	// Entry is the stored ban.
	Entry ban.Entry
	// Kicked is true when the IM login kick succeeded.
	Kicked bool
	// KickErr is the kick's failure, if any.
	KickErr error
	// Removed lists the call rooms the user was removed from.
	Removed []string
	// RemoveErrs are the failures to list or remove, one per room.
	RemoveErrs []error
}

// Ban bans userID for d (0: until lifted), revokes its earlier session
// and call tokens, invalidates its IM login and removes it from every
// active callsign call room. Only storing the ban must succeed; the
// Tencent-side actions are reported.
func (o *Operator) Ban(ctx context.Context, userID string, d time.Duration, reason string) (BanReport, error) {
	e, err := ban.Ban(ctx, o.bans, userID, d, reason, o.now(), o.retain)
	if err != nil {
		return BanReport{}, fmt.Errorf("storing the ban: %w", err)
	}
	ctx = audit.NewContext(ctx, o.audit, "")
	audit.Record(ctx, audit.Event{Action: audit.ActionBan, UserID: userID, ExpiresAt: e.Until, Actor: o.actor, Reason: reason})
	r := BanReport{Entry: e}
	if r.KickErr = o.im.Kick(ctx, userID); r.KickErr == nil {
		r.Kicked = true
	}
	r.Removed, r.RemoveErrs = RemoveFromCalls(ctx, o.calls, o.trtc, o.secrets, userID)
	return r, nil
}

// Unban lifts userID's ban; found is false when it had none.
func (o *Operator) Unban(ctx context.Context, userID string) (bool, error) {
	found, err := ban.Unban(ctx, o.bans, userID, o.now(), o.retain)
	if err == nil && found {
		o.audit.Record(ctx, audit.Event{Action: audit.ActionUnban, UserID: userID, Actor: o.actor})
	}
	return found, err
}

// AdminUserSig mints a UserSig for CALLSIGN_IM_ADMIN_USER valid for ttl
// from the stage's secret (callsign admin-usersig). It needs no shared
// store.
func AdminUserSig(ctx context.Context, cfg config.Config, opts Options, ttl time.Duration) (uint32, string, error) {
	opts = operatorDefaults(cfg, opts)
	src, err := secretSource(cfg, opts)
	if err != nil {
		return 0, "", err
	}
	im, err := newIMClient(cfg, opts, src)
	if err != nil {
		return 0, "", err
	}
	return im.AdminUserSig(ctx, ttl)
}

// operatorDefaults fills the zero fields of opts.
func operatorDefaults(cfg config.Config, opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = NewLogger(cfg)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts
}

// RoomRemover removes users from a room; *trtcapi.Client implements it.
type RoomRemover interface {
	RemoveUsers(ctx context.Context, sdkAppID uint32, room trtcapi.Room, userIDs []string) error
}

// RemoveFromCalls removes userID from the room of every live, not ended
// call in its index (callrecord.Store.UserRooms) of which it is a member.
// It returns the rooms it removed the user from and one error per failure.
// Each removal is written to the audit trail in ctx (audit.NewContext).
func RemoveFromCalls(ctx context.Context, calls callrecord.Store, rm RoomRemover, secrets secret.Source, userID string) ([]string, []error) {
	rooms, err := calls.UserRooms(ctx, userID)
	if err != nil {
		return nil, []error{fmt.Errorf("listing the user's calls: %w", err)}
	}
	if len(rooms) == 0 {
		return nil, nil
	}
	s, err := secrets.Load(ctx)
	if err != nil {
		return nil, []error{fmt.Errorf("loading the secret: %w", err)}
	}
	var (
		removed []string
		errs    []error
	)
	for _, room := range rooms {
		rec, err := calls.Get(ctx, room)
		if errors.Is(err, callrecord.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("room %s: reading the call: %w", room, err))
			continue
		}
		if rec.State == callrecord.StateEnded || !rec.Member(userID) {
			continue
		}
		if err := rm.RemoveUsers(ctx, s.SDKAppID, trtcapi.Room{Str: room.Str, Num: room.Num}, []string{userID}); err != nil {
			errs = append(errs, fmt.Errorf("room %s: %w", room, err))
			continue
		}
		audit.Record(ctx, audit.Event{Action: audit.ActionRemove, UserID: userID, CallID: rec.CallID, Room: room.String(), Reason: "banned"})
		removed = append(removed, room.String())
	}
	return removed, errs
}
