package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
	// and logs an error at most once per LogInterval, with the number of
	// fallback decisions since the previous line. The default.
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
	// DefaultStoreTimeout bounds one shared-store decision when
	// ResilientOptions.Timeout is unset; it is DefaultRedisTimeout.
	// Callers that know the backend use DefaultTimeout.
	DefaultStoreTimeout = DefaultRedisTimeout
	// DefaultRedisTimeout is the decision deadline for Redis: one round
	// trip in the same VPC (sub-millisecond, measured p99.9 under 2 ms on
	// loopback) plus room for one reconnect; see docs/ratelimit.md.
	DefaultRedisTimeout = 150 * time.Millisecond
	// DefaultDynamoDBTimeout is the decision deadline for DynamoDB: up to
	// three HTTPS requests per decision (conditional update, read, second
	// update), a TLS handshake on a fresh instance and one SDK retry; see
	// docs/ratelimit.md.
	DefaultDynamoDBTimeout = time.Second
	// DefaultLogInterval is the shortest time between two store-failure
	// log lines.
	DefaultLogInterval = time.Minute
	// DefaultDenyCacheSize caps the in-instance "denied until" cache.
	DefaultDenyCacheSize = 10_000
)

// DefaultTimeout returns the decision deadline for a shared-store backend
// ("redis" or "dynamodb"; any other name gets DefaultStoreTimeout).
func DefaultTimeout(backend string) time.Duration {
	if backend == "dynamodb" {
		return DefaultDynamoDBTimeout
	}
	return DefaultStoreTimeout
}

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
	// (each line counts the fallback decisions since the previous one);
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
//
// Every decision the failure mode makes instead of the store (a fallback)
// is counted: Stats returns the totals, each throttled failure line carries
// the count since the previous line, and a store answer after unreported
// fallbacks logs a recovery line with their count (throttled the same way),
// so no fallback goes unreported however short the outage.
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
	unreported int // fallbacks since the last log line

	decisions, fallbacks, timeouts, cachedDenials atomic.Uint64

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

// ResilientStats are a Resilient's counters since it was created.
type ResilientStats struct {
	// StoreDecisions is the number of decisions the store made.
	StoreDecisions uint64
	// CachedDenials is the number of denials answered from the deny cache.
	CachedDenials uint64
	// Fallbacks is the number of decisions made by the failure mode
	// because the store failed or did not answer in time: local decisions
	// (FailLocal), allows (FailOpen) or refusals (FailClosed).
	Fallbacks uint64
	// Timeouts is the part of Fallbacks where the store did not answer
	// within the timeout (or the caller's deadline).
	Timeouts uint64
}

// Stats returns the counters; safe for concurrent use.
func (r *Resilient) Stats() ResilientStats {
	return ResilientStats{
		StoreDecisions: r.decisions.Load(),
		CachedDenials:  r.cachedDenials.Load(),
		Fallbacks:      r.fallbacks.Load(),
		Timeouts:       r.timeouts.Load(),
	}
}

// NewResilient wraps store as described on Resilient.
func NewResilient(store Limiter, opts ResilientOptions) *Resilient {
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
		r.cachedDenials.Add(1)
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
	timedOut := false
	select {
	case res = <-ch:
	case <-sctx.Done():
		res.err = fmt.Errorf("ratelimit: store did not answer in time: %w", sctx.Err())
		timedOut = true
	}
	if res.err == nil {
		r.decisions.Add(1)
		r.logRecovery()
		if !res.d.Allowed {
			r.rememberDenial(key, p, res.d, r.now())
		}
		return res.d, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return Decision{}, fmt.Errorf("ratelimit: request cancelled: %w", ctx.Err())
	}
	r.fallbacks.Add(1)
	if timedOut || errors.Is(res.err, context.DeadlineExceeded) {
		r.timeouts.Add(1)
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

// logFailure counts one fallback decision and logs the store failure at
// most once per logInterval, with the number of fallbacks since the
// previous line (this one included) and in total.
func (r *Resilient) logFailure(err error) {
	now := r.now()
	r.logMu.Lock()
	r.unreported++
	if !r.lastLog.IsZero() && now.Sub(r.lastLog) < r.logInterval {
		r.logMu.Unlock()
		return
	}
	n := r.unreported
	r.lastLog, r.unreported = now, 0
	r.logMu.Unlock()
	r.logger.Error("rate-limit store failed",
		slog.String("failure_mode", r.mode.String()),
		slog.String("error", err.Error()),
		slog.Int("fallbacks", n),
		slog.Uint64("fallbacks_total", r.fallbacks.Load()))
}

// logRecovery logs, after a store answer, the fallbacks no line has
// reported yet, throttled like the failure lines (a flapping store is not
// one line per request; its fallbacks go into the next line). It is one
// lock and a comparison while the store is healthy.
func (r *Resilient) logRecovery() {
	r.logMu.Lock()
	n := r.unreported
	if n == 0 {
		r.logMu.Unlock()
		return
	}
	now := r.now()
	if now.Sub(r.lastLog) < r.logInterval {
		r.logMu.Unlock()
		return
	}
	r.lastLog, r.unreported = now, 0
	r.logMu.Unlock()
	r.logger.Warn("rate-limit store answering again",
		slog.String("failure_mode", r.mode.String()),
		slog.Int("fallbacks", n),
		slog.Uint64("fallbacks_total", r.fallbacks.Load()))
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

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
