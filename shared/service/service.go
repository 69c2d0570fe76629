// Package service is callsign's transport-neutral core: it decides who may
// obtain which credential (UserSig, call tickets, session tokens), with
// which lifetime, under which rate limits. Transports (the HTTP API, the
// callFunction dispatcher) decode requests into the types of this package,
// pass along the credentials they saw, and render the results or the
// *Error.
//
// Every operation runs the same pipeline: verify the identity (the
// Verifier, or WeChat code2Session for StartSession) → per-user rate limit
// (key "<op>:<userID>") → load the signing secret → sign. The userID signed
// for is always the verified one; no request field can name it.
package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// Policy defaults and bounds.
const (
	// DefaultUserSigTTL is the UserSig lifetime when none is requested.
	DefaultUserSigTTL = 24 * time.Hour
	// DefaultUserSigMaxTTL caps a requested ttlSeconds.
	DefaultUserSigMaxTTL = 168 * time.Hour
	// MinUserSigTTL is the shortest UserSig lifetime a client may request;
	// a ttlSeconds below it is a 400 (a UserSig that expires before the
	// client can use it is never what the client wants).
	MinUserSigTTL = time.Minute
	// DefaultPrivateMapKeyTTL is the lifetime of call tickets.
	DefaultPrivateMapKeyTTL = 2 * time.Hour
	// DefaultInviteTTL is the lifetime of call tokens (invitations).
	DefaultInviteTTL = 120 * time.Second
	// DefaultSessionTTL is the lifetime of session tokens.
	DefaultSessionTTL = 24 * time.Hour
	// DefaultMaxInvitees is TUICallKit's group-call size.
	DefaultMaxInvitees = 8
	// MaxMaxInvitees bounds Options.MaxInvitees so a call token stays far
	// below token.MaxLength.
	MaxMaxInvitees = 32
	// MaxTokenLeeway bounds Options.TokenLeeway.
	MaxTokenLeeway = 5 * time.Minute
	// MaxGroupIDLen is the longest accepted groupID (the IM group ID limit).
	MaxGroupIDLen = 48
	// MaxCodeLen is the longest accepted wx.login code.
	MaxCodeLen = 128
)

// Room allocation modes (Options.RoomType).
const (
	// RoomTypeString allocates string rooms "c_" + 22 base64url characters
	// (128 random bits); the default.
	RoomTypeString = "string"
	// RoomTypeNumeric allocates numeric rooms uniformly in
	// 1..MaxNumericRoom.
	RoomTypeNumeric = "numeric"
	// MaxNumericRoom is the largest numeric room allocated: TUICallKit
	// accepts numeric rooms in [1, 2147483647] only.
	MaxNumericRoom = 2147483647
)

// AdminUserID is Tencent's conventional IM administrator identifier; it
// is always reserved (see Options.ReservedUserIDs).
const AdminUserID = "administrator"

// Wechat exchanges a wx.login code for the caller's WeChat identity
// (code2Session). *identity.Wechat implements it. Errors wrap the identity
// sentinels (ErrUnauthenticated for a bad code, ErrRateLimited,
// ErrForbidden, ErrUnavailable, ErrMisconfigured).
type Wechat interface {
	Code2Session(ctx context.Context, code string) (identity.WechatSession, error)
}

// Deriver turns a verified subject (an OpenID) into a TRTC userID.
// *identity.Deriver implements it.
type Deriver interface {
	Derive(subject string) (string, error)
}

// Options configures New. Verifier, Limiter and Secrets are required; every
// zero-valued policy field takes the default named in its comment.
type Options struct {
	// Verifier verifies the credentials of usersig, call.create and
	// call.join requests. Required.
	Verifier identity.Verifier
	// Limiter makes the rate-limit decisions. Required.
	Limiter ratelimit.Limiter
	// Policies maps operations to limits; nil means
	// ratelimit.DefaultPolicies(). An operation missing from a non-nil map
	// takes its default policy.
	Policies ratelimit.Policies
	// Secrets yields the signing secret on every request (it is expected to
	// cache). Required.
	Secrets secret.Source
	// Stage is the deployment stage (local, dev, staging, prod). Session and
	// call tokens are signed with keys derived for it (token.KeysFor), so a
	// token never crosses stages even when they share the TRTC key; the
	// session verifier must derive its keys for the same stage. Required.
	Stage string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for call and room IDs; nil means crypto/rand.
	Rand io.Reader
	// Wechat enables StartSession; nil disables it (404 not_found).
	Wechat Wechat
	// Deriver maps the WeChat OpenID to a userID; required with Wechat.
	Deriver Deriver
	// Logger receives operational errors (never credentials); nil discards.
	Logger *slog.Logger

	// UserSigTTL is the default UserSig lifetime (DefaultUserSigTTL).
	UserSigTTL time.Duration
	// UserSigMaxTTL caps requested lifetimes (DefaultUserSigMaxTTL); at
	// most usersig.MaxTTL.
	UserSigMaxTTL time.Duration
	// PrivateMapKeyTTL is the call-ticket lifetime (DefaultPrivateMapKeyTTL).
	PrivateMapKeyTTL time.Duration
	// InviteTTL is the call-token lifetime (DefaultInviteTTL).
	InviteTTL time.Duration
	// SessionTTL is the session-token lifetime (DefaultSessionTTL).
	SessionTTL time.Duration
	// MaxInvitees caps the invitee list (DefaultMaxInvitees), 1..MaxMaxInvitees.
	MaxInvitees int
	// RoomType is RoomTypeString (default) or RoomTypeNumeric.
	RoomType string
	// ScreenShare adds usersig.PresetScreenShare to every call ticket.
	ScreenShare bool
	// TokenLeeway tolerates clock skew when verifying call tokens
	// (0..MaxTokenLeeway).
	TokenLeeway time.Duration

	// Calls stores a record of every call (required): CreateCall writes it
	// before answering, JoinCall reads and updates it, and the TRTC room
	// callbacks enforce it.
	Calls callrecord.Store
	// ReservedUserIDs are IM administrator identifiers that are never
	// issued to an end user (403 forbidden), in addition to AdminUserID.
	ReservedUserIDs []string
	// Bans answers whether a user is banned or their credentials revoked
	// (*ban.Checker); nil bans no one.
	Bans Bans
	// Policy decides who may call whom on call.create; nil allows every
	// call.
	Policy CallPolicy
}

// Bans looks up a user's ban entry; *ban.Checker implements it.
type Bans interface {
	Lookup(ctx context.Context, userID string) (ban.Entry, bool, error)
}

// CallPolicy decides whether a call may be created; *callpolicy.Client
// implements it. An error means no decision could be had (the transport
// answers 503); a policy that fails open returns true and no error.
type CallPolicy interface {
	Allow(ctx context.Context, caller string, invitees []string, callType, groupID string) (bool, error)
}

// Service implements callsign's operations. It is safe for concurrent use.
type Service struct {
	verifier    identity.Verifier
	limiter     ratelimit.Limiter
	policies    ratelimit.Policies
	secrets     secret.Source
	stage       string
	now         func() time.Time
	rand        io.Reader
	wechat      Wechat
	deriver     Deriver
	log         *slog.Logger
	userSigTTL  time.Duration
	userSigMax  time.Duration
	pmkTTL      time.Duration
	inviteTTL   time.Duration
	sessionTTL  time.Duration
	maxInvitees int
	numericRoom bool
	screenShare bool
	leeway      time.Duration
	signers     signerCache
	blocked     blocklist
	calls       callrecord.Store
	reserved    map[string]bool
	bans        Bans
	policy      CallPolicy
}

// New validates opts, applies defaults and returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Verifier == nil {
		return nil, errors.New("service: a Verifier is required")
	}
	if opts.Limiter == nil {
		return nil, errors.New("service: a Limiter is required")
	}
	if opts.Secrets == nil {
		return nil, errors.New("service: a secret Source is required")
	}
	if opts.Stage == "" {
		return nil, errors.New("service: a Stage is required (tokens are bound to it)")
	}
	if opts.Calls == nil {
		return nil, errors.New("service: a call-record Store is required")
	}
	if opts.Wechat != nil && opts.Deriver == nil {
		return nil, errors.New("service: a Deriver is required when WeChat sessions are enabled")
	}
	s := &Service{
		verifier:    opts.Verifier,
		limiter:     opts.Limiter,
		secrets:     opts.Secrets,
		stage:       opts.Stage,
		now:         opts.Now,
		rand:        opts.Rand,
		wechat:      opts.Wechat,
		deriver:     opts.Deriver,
		log:         opts.Logger,
		userSigTTL:  orDefault(opts.UserSigTTL, DefaultUserSigTTL),
		userSigMax:  orDefault(opts.UserSigMaxTTL, DefaultUserSigMaxTTL),
		pmkTTL:      orDefault(opts.PrivateMapKeyTTL, DefaultPrivateMapKeyTTL),
		inviteTTL:   orDefault(opts.InviteTTL, DefaultInviteTTL),
		sessionTTL:  orDefault(opts.SessionTTL, DefaultSessionTTL),
		maxInvitees: opts.MaxInvitees,
		screenShare: opts.ScreenShare,
		leeway:      opts.TokenLeeway,
		calls:       opts.Calls,
		reserved:    map[string]bool{AdminUserID: true},
		bans:        opts.Bans,
		policy:      opts.Policy,
	}
	for _, u := range opts.ReservedUserIDs {
		s.reserved[u] = true
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxInvitees == 0 {
		s.maxInvitees = DefaultMaxInvitees
	}
	switch opts.RoomType {
	case "", RoomTypeString:
	case RoomTypeNumeric:
		s.numericRoom = true
	default:
		return nil, fmt.Errorf("service: unknown RoomType %q (want %q or %q)", opts.RoomType, RoomTypeString, RoomTypeNumeric)
	}
	if err := s.checkDurations(); err != nil {
		return nil, err
	}
	if s.maxInvitees < 1 || s.maxInvitees > MaxMaxInvitees {
		return nil, fmt.Errorf("service: MaxInvitees %d must be 1..%d", s.maxInvitees, MaxMaxInvitees)
	}
	if s.leeway < 0 || s.leeway > MaxTokenLeeway {
		return nil, fmt.Errorf("service: TokenLeeway %v must be 0..%v", s.leeway, MaxTokenLeeway)
	}
	s.policies = ratelimit.DefaultPolicies()
	for op, p := range opts.Policies {
		s.policies[op] = p
	}
	if err := s.policies.Validate(); err != nil {
		return nil, fmt.Errorf("service: rate-limit policies: %w", err)
	}
	return s, nil
}

// checkDurations validates the lifetimes: whole seconds (tickets carry
// seconds), within the signing core's range, default ≤ maximum.
func (s *Service) checkDurations() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"UserSigTTL", s.userSigTTL},
		{"UserSigMaxTTL", s.userSigMax},
		{"PrivateMapKeyTTL", s.pmkTTL},
		{"InviteTTL", s.inviteTTL},
		{"SessionTTL", s.sessionTTL},
	} {
		if d.v < time.Second || d.v%time.Second != 0 {
			return fmt.Errorf("service: %s %v must be a positive whole number of seconds", d.name, d.v)
		}
		if d.v > usersig.MaxTTL {
			return fmt.Errorf("service: %s %v exceeds the maximum %v", d.name, d.v, usersig.MaxTTL)
		}
	}
	if s.userSigTTL < MinUserSigTTL {
		return fmt.Errorf("service: UserSigTTL %v is below the minimum %v", s.userSigTTL, MinUserSigTTL)
	}
	if s.userSigTTL > s.userSigMax {
		return fmt.Errorf("service: UserSigTTL %v exceeds UserSigMaxTTL %v", s.userSigTTL, s.userSigMax)
	}
	return nil
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// SessionsEnabled reports whether StartSession is available (a Wechat
// client was configured).
func (s *Service) SessionsEnabled() bool { return s.wechat != nil }

// Trace collects what a transport should log about one operation. Pass one
// with WithTrace; the Service fills it as it learns things, also when the
// operation fails. It holds no credential.
type Trace struct {
	// UserID is the verified userID, once verification succeeded.
	UserID string
	// Provider is the verifier that accepted the credentials.
	Provider string
	// Limit is the per-user rate-limit decision, once one was made (for
	// RateLimit-* headers on success and on refusal).
	Limit *ratelimit.Decision
}

type traceKey struct{}

// WithTrace returns a context that makes the Service record into t. A
// Trace belongs to one operation; do not share it between goroutines.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceFrom returns the Trace in ctx, or a throwaway one.
func traceFrom(ctx context.Context) *Trace {
	if t, ok := ctx.Value(traceKey{}).(*Trace); ok && t != nil {
		return t
	}
	return &Trace{}
}

// authenticate runs the Verifier. A 401 also consumes one token of the
// client's "auth.fail" bucket; when that bucket is empty the answer becomes
// 429, so credential guessing from one address is slowed down.
func (s *Service) authenticate(ctx context.Context, creds identity.Credentials) (identity.Identity, *Error) {
	id, err := s.verifier.Verify(ctx, creds)
	if err != nil {
		e := identityError(err)
		if e.Code == CodeUnauthenticated {
			if limited := s.authFailed(ctx, creds.ClientIP); limited != nil {
				return identity.Identity{}, limited
			}
		}
		s.logCause(ctx, "identity verification failed", e)
		return identity.Identity{}, e
	}
	// Defence in depth: never sign for anything but a valid TRTC userID.
	if !identity.ValidUserID(id.UserID) {
		e := wrapErr(CodeInternal, msgInternal, errors.New("service: verifier returned an invalid userID"))
		s.logCause(ctx, "identity verification failed", e)
		return identity.Identity{}, e
	}
	// An administrator identifier would let its holder act as the app's
	// IM administrator: never sign for one, whatever the userID mode.
	if s.reserved[id.UserID] {
		return identity.Identity{}, &Error{Code: CodeForbidden, Message: msgReservedUserID}
	}
	if e := s.checkBan(ctx, id.UserID, id.IssuedAt); e != nil {
		return identity.Identity{}, e
	}
	t := traceFrom(ctx)
	t.UserID, t.Provider = id.UserID, id.Provider
	return id, nil
}

// authFailed records a failed authentication for the client at ip. It
// returns a 429 when that client's budget is exhausted and nil otherwise
// (including when the limiter fails: the request is refused with 401
// anyway).
//
// The budget is per client address, and only an address the platform
// reported identifies a client. Without one (ip empty: a Web function,
// whose peer is SCF's proxy; an event without a source IP) nothing is
// counted: a bucket shared by every such request would let one client's
// failures lock out all the others.
func (s *Service) authFailed(ctx context.Context, ip string) *Error {
	if ip == "" {
		return nil
	}
	d, err := s.limiter.Allow(ctx, ratelimit.Key(ratelimit.OpAuthFail, ip), s.policies[ratelimit.OpAuthFail])
	if err != nil {
		if !errors.Is(err, ratelimit.ErrUnavailable) {
			// A store outage is logged by the limiter, throttled.
			s.log.LogAttrs(ctx, slog.LevelError, "auth-failure limiter failed", slog.String("error", err.Error()))
		}
		return nil
	}
	if d.Allowed {
		return nil
	}
	s.blocked.block(ip, s.now(), d.RetryAfter)
	return &Error{Code: CodeRateLimited, Message: msgAuthFailLimited, RetryAfter: retryAfter(d), Limit: &d}
}

// checkBlocked refuses a client IP whose failed-authentication budget the
// limiter has already exhausted (see blocklist). StartSession calls it
// before spending a code2Session call; token verification does not, since
// it is cheap and a shared address (NAT) must not lock out the valid users
// behind it. A request without a client address is never refused here
// (see authFailed).
func (s *Service) checkBlocked(ip string) *Error {
	if ip == "" {
		return nil
	}
	left, blocked := s.blocked.blocked(ip, s.now())
	if !blocked {
		return nil
	}
	d := ratelimit.Decision{Limit: s.policies[ratelimit.OpAuthFail].Burst, RetryAfter: left, ResetAfter: left}
	return &Error{Code: CodeRateLimited, Message: msgAuthFailLimited, RetryAfter: retryAfter(d), Limit: &d}
}

// limit applies the per-user policy of op.
func (s *Service) limit(ctx context.Context, op, userID string) *Error {
	d, err := s.limiter.Allow(ctx, ratelimit.Key(op, userID), s.policies[op])
	if err != nil {
		e := wrapErr(CodeUnavailable, msgLimiterDown, err)
		if !errors.Is(err, ratelimit.ErrUnavailable) {
			// A store outage (FailClosed) is logged by the limiter at a
			// throttled rate with its count, not once per refusal.
			s.logCause(ctx, "rate limiter failed", e)
		}
		return e
	}
	traceFrom(ctx).Limit = &d
	if d.Allowed {
		return nil
	}
	return &Error{Code: CodeRateLimited, Message: msgUserLimited, RetryAfter: retryAfter(d), Limit: &d}
}

// retryAfter is the decision's RetryAfter in whole seconds (at least 1 s).
func retryAfter(d ratelimit.Decision) time.Duration {
	return time.Duration(d.RetryAfterSeconds()) * time.Second
}

// logCause logs the cause of a server-side (5xx) error. Client errors are
// logged by the transport's access line only.
func (s *Service) logCause(ctx context.Context, msg string, e *Error) {
	if e.Status() < 500 || e.cause == nil {
		return
	}
	s.log.LogAttrs(ctx, slog.LevelError, msg, slog.String("code", e.Code), slog.String("error", e.cause.Error()))
}
