package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by the error Resilient returns in FailClosed
// mode when the shared store fails; the API answers 503 "unavailable".
var ErrUnavailable = errors.New("ratelimit: rate-limit store unavailable")

// FailureMode is what Resilient does when the shared store fails or does
// not answer in time.
type FailureMode int

const (
	// FailLocal decides with the in-instance Memory limiter (per instance,
	// so the effective limit is multiplied by the number of warm instances)
	// and logs an error at most once per LogInterval. The default.
	FailLocal FailureMode = iota
	// FailOpen allows the request (logged like FailLocal).
	FailOpen
	// FailClosed returns an error wrapping ErrUnavailable (logged like
	// FailLocal).
	FailClosed
)

// String returns the CALLSIGN_LIMITER_FAILURE spelling: local, open or
// closed.
func (m FailureMode) String() string {
	switch m {
	case FailLocal:
		return "local"
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return fmt.Sprintf("FailureMode(%d)", int(m))
}

// ParseFailureMode parses "local", "open" or "closed" (case-insensitive,
// surrounding spaces ignored); the empty string means FailLocal.
func ParseFailureMode(s string) (FailureMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "local":
		return FailLocal, nil
	case "open":
		return FailOpen, nil
	case "closed":
		return FailClosed, nil
	}
	return FailLocal, fmt.Errorf("ratelimit: unknown failure mode %q (want local, open or closed)", truncate(s, 32))
}

// Defaults of ResilientOptions.
const (
	// DefaultStoreTimeout bounds one shared-store decision.
	DefaultStoreTimeout = 150 * time.Millisecond
	// DefaultLogInterval is the shortest time between two store-failure
	// log lines.
	DefaultLogInterval = time.Minute
	// DefaultDenyCacheSize caps the in-instance "denied until" cache.
	DefaultDenyCacheSize = 10_000
)

// ResilientOptions configures NewResilient. The zero value gives a 150 ms
// timeout, FailLocal with a fresh Memory, slog.Default, one log line per
// minute and a 10 000-key deny cache.
type ResilientOptions struct {
	// Timeout bounds each store decision (context.WithTimeout on the
	// caller's context, which also bounds it); default DefaultStoreTimeout.
	Timeout time.Duration
	// Mode is the failure policy; default FailLocal (an undefined mode also
	// behaves as FailLocal).
	Mode FailureMode
	// Local decides in FailLocal mode; default NewMemory with Now.
	Local *Memory
	// Logger receives store-failure errors; default slog.Default().
	Logger *slog.Logger
	// LogInterval is the shortest time between two failure log lines
	// (failures in between are counted in the next line's "suppressed");
	// default DefaultLogInterval.
	LogInterval time.Duration
	// Now is the instance clock for the deny cache and log throttling;
	// default time.Now.
	Now func() time.Time
	// DenyCacheSize caps the deny cache; default DefaultDenyCacheSize; a
	// negative value disables the cache.
	DenyCacheSize int
}

// Resilient wraps a shared-store Limiter with a per-decision timeout, a
// failure policy (FailureMode) and an in-instance "denied until" cache.
//
// Deny cache: when the store denies key with RetryAfter r, calls for the
// same key and policy within r are denied from memory without reaching the
// store. This changes no decision: GCRA denials do not modify the stored
// state, and while a key is denied every instance is denied, so the store
// would give the same answer; it only saves round trips (and, for
// DynamoDB, write units) under abusive retry loops. The cache is bounded by
// DenyCacheSize; expired entries are removed inline, and when it is full of
// live entries new denials are simply not cached.
//
// The store is called on its own goroutine and abandoned when the timeout
// (or the caller's deadline) expires, so a store client that ignores its
// context still cannot make a request hang; configure clients with their
// own short timeouts (NewRedisClient does) so abandoned calls end soon.
//
// A store failure never reaches the caller in FailLocal and FailOpen modes.
// When the caller's context is cancelled (not merely past its deadline),
// Allow returns the context's error: nobody is waiting for the answer.
type Resilient struct {
	store       Limiter
	timeout     time.Duration
	mode        FailureMode
	local       *Memory
	logger      *slog.Logger
	logInterval time.Duration
	now         func() time.Time
	denySize    int

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int

	denyMu    sync.Mutex
	denied    map[string]denial
	denySweep time.Time
}

// denial is a cached store denial.
type denial struct {
	policy  Policy
	until   time.Time // RetryAfter elapses
	resetAt time.Time // ResetAfter elapses
}

// NewResilient wraps store as described on Resilient.
func NewResilient(store Limiter, opts ResilientOptions) Limiter {
	r := &Resilient{
		store:       store,
		timeout:     orDefault(opts.Timeout, DefaultStoreTimeout),
		mode:        opts.Mode,
		local:       opts.Local,
		logger:      opts.Logger,
		logInterval: orDefault(opts.LogInterval, DefaultLogInterval),
		now:         opts.Now,
		denySize:    orDefault(opts.DenyCacheSize, DefaultDenyCacheSize),
		denied:      make(map[string]denial),
	}
	if r.timeout < 0 {
		r.timeout = DefaultStoreTimeout
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.local == nil && r.mode != FailOpen && r.mode != FailClosed {
		// FailLocal, and any out-of-range mode, which Allow treats as
		// FailLocal: never leave the fallback nil.
		r.local = NewMemory(MemoryOptions{Now: r.now})
	}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	return r
}

// storeResult carries one store answer across goroutines.
type storeResult struct {
	d   Decision
	err error
}

// Allow decides one request for key under p: from the deny cache, else
// from the store within the timeout, else by the failure mode. An invalid
// policy is an error in every mode.
func (r *Resilient) Allow(ctx context.Context, key string, p Policy) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	if d, ok := r.cachedDenial(key, p, r.now()); ok {
		return d, nil
	}

	sctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ch := make(chan storeResult, 1)
	go func() {
		d, err := r.store.Allow(sctx, key, p)
		ch <- storeResult{d, err}
	}()
	var res storeResult
	select {
	case res = <-ch:
	case <-sctx.Done():
		res.err = fmt.Errorf("ratelimit: store did not answer in time: %w", sctx.Err())
	}
	if res.err == nil {
		if !res.d.Allowed {
			r.rememberDenial(key, p, res.d, r.now())
		}
		return res.d, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return Decision{}, fmt.Errorf("ratelimit: request cancelled: %w", ctx.Err())
	}
	r.logFailure(res.err)
	switch r.mode {
	case FailOpen:
		return Decision{Allowed: true, Limit: p.Burst, Remaining: p.Burst - 1, ResetAfter: p.Interval()}, nil
	case FailClosed:
		return Decision{}, fmt.Errorf("%w: %w", ErrUnavailable, res.err)
	default:
		return r.local.Allow(ctx, key, p)
	}
}

// logFailure logs a store failure at most once per logInterval.
func (r *Resilient) logFailure(err error) {
	now := r.now()
	r.logMu.Lock()
	if !r.lastLog.IsZero() && now.Sub(r.lastLog) < r.logInterval {
		r.suppressed++
		r.logMu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.lastLog, r.suppressed = now, 0
	r.logMu.Unlock()
	r.logger.Error("rate-limit store failed",
		slog.String("failure_mode", r.mode.String()),
		slog.String("error", err.Error()),
		slog.Int("suppressed", suppressed))
}

// cachedDenial answers from the deny cache when key is denied at now.
func (r *Resilient) cachedDenial(key string, p Policy, now time.Time) (Decision, bool) {
	if r.denySize < 0 {
		return Decision{}, false
	}
	r.denyMu.Lock()
	defer r.denyMu.Unlock()
	e, ok := r.denied[key]
	if !ok {
		return Decision{}, false
	}
	if e.policy != p || !now.Before(e.until) {
		delete(r.denied, key)
		return Decision{}, false
	}
	return Decision{
		Limit:      p.Burst,
		RetryAfter: e.until.Sub(now),
		ResetAfter: max(e.resetAt.Sub(now), 0),
	}, true
}

// rememberDenial caches a store denial of key.
func (r *Resilient) rememberDenial(key string, p Policy, d Decision, now time.Time) {
	if r.denySize < 0 || d.RetryAfter <= 0 {
		return
	}
	r.denyMu.Lock()
	defer r.denyMu.Unlock()
	if _, ok := r.denied[key]; !ok && len(r.denied) >= r.denySize {
		if now.Sub(r.denySweep) < minSweepGap {
			return
		}
		r.denySweep = now
		for k, e := range r.denied {
			if !now.Before(e.until) {
				delete(r.denied, k)
			}
		}
		if len(r.denied) >= r.denySize {
			return
		}
	}
	r.denied[key] = denial{policy: p, until: now.Add(d.RetryAfter), resetAt: now.Add(d.ResetAfter)}
}
