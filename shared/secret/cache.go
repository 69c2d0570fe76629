package secret

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Cache defaults (see CacheOptions).
const (
	// DefaultCacheTTL is how long a fetched secret is served.
	DefaultCacheTTL = 10 * time.Minute
	// DefaultFetchTimeout bounds one fetch from the store.
	DefaultFetchTimeout = 5 * time.Second
	// DefaultRefreshWait is how long the Load that starts a refresh of a
	// cached value waits for it (see CacheOptions.RefreshWait).
	DefaultRefreshWait = 500 * time.Millisecond
	// DefaultMinBackoff is the wait after a first failed fetch.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the doubling backoff after failed fetches.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultLogInterval is the minimum time between failure log records.
	DefaultLogInterval = time.Minute
)

// CacheOptions configures NewCache. Zero values select the defaults.
type CacheOptions struct {
	// TTL is how long a fetched secret is served before the next Load
	// refreshes it. Default 10m.
	TTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives failure and recovery records (never a value).
	// Default slog.Default().
	Logger *slog.Logger
	// Check, if set, runs after every successful fetch; a secret it
	// rejects is refused like a failed fetch. Wire it to "sign and verify
	// one UserSig". Its error text is logged (with any of the secret's
	// values scrubbed), so it should not contain values in the first place.
	Check func(Secret) error
	// FetchTimeout bounds one fetch, even from a source that ignores its
	// context, and with it how long a caller without a cached value waits.
	// The fetch does not inherit the triggering caller's cancellation
	// (other callers wait for it too), only its values. Default 5s.
	FetchTimeout time.Duration
	// RefreshWait is how long the one Load that starts a refresh of a
	// cached (expired) value waits for the fetch before it serves the
	// cached value; every other Load serves it at once. The wait lets a
	// healthy store's answer (tens of milliseconds) arrive within the
	// invocation that asked for it: on Lambda and SCF an instance is frozen
	// as soon as its invocation returns, so a purely background fetch
	// would rarely finish before its deadline. Default 500ms; a negative
	// value never waits.
	RefreshWait time.Duration
	// MinBackoff is the wait after the first failed fetch before the store
	// is asked again; it doubles per consecutive failure up to MaxBackoff.
	// Defaults 1s and 30s.
	MinBackoff time.Duration
	// MaxBackoff caps the backoff; see MinBackoff.
	MaxBackoff time.Duration
	// LogInterval is the minimum time between two failure log records.
	// Default 1m.
	LogInterval time.Duration
}

// Cache is a Source that caches another Source's secret across warm
// invocations. It is safe for concurrent use.
//
//   - A fresh value (younger than TTL) is returned without I/O.
//   - Otherwise exactly one fetch runs at a time, bounded by FetchTimeout.
//   - With a cached value, an expired one included, a slow or hung store
//     delays no request beyond RefreshWait: the Load that starts the one
//     refresh waits at most RefreshWait for it, every other Load returns
//     the cached value at once, and the fetch carries on in the background.
//   - Without a cached value (cold start), callers wait for the one fetch
//     (a cold-start burst causes one store request, not a hundred), at
//     most FetchTimeout, then get an error wrapping ErrUnavailable.
//   - A failed or refused refresh keeps serving the previous value
//     (stale-on-error) and retries after a backoff of MinBackoff, doubling
//     to MaxBackoff. Without a previous value, Load returns an error
//     wrapping ErrUnavailable, and calls during the backoff return that
//     error at once without contacting the store.
//   - A cold caller whose context ends while waiting for the fetch gets an
//     error wrapping ErrUnavailable and the context's error. The fetch
//     continues for the other callers.
type Cache struct {
	src          Source
	ttl          time.Duration
	fetchTimeout time.Duration
	refreshWait  time.Duration
	minBackoff   time.Duration
	maxBackoff   time.Duration
	logInterval  time.Duration
	now          func() time.Time
	log          *slog.Logger
	check        func(Secret) error

	mu       sync.Mutex
	val      Secret
	have     bool
	expires  time.Time
	flight   *flight
	lastErr  error
	failures int
	retryAt  time.Time
	lastLog  time.Time
}

// flight is one fetch in progress; done is closed when val/err are set.
type flight struct {
	done chan struct{}
	val  Secret
	err  error
}

// NewCache wraps src.
func NewCache(src Source, opts CacheOptions) *Cache {
	c := &Cache{
		src:          src,
		ttl:          orDefault(opts.TTL, DefaultCacheTTL),
		fetchTimeout: orDefault(opts.FetchTimeout, DefaultFetchTimeout),
		refreshWait:  opts.RefreshWait,
		minBackoff:   orDefault(opts.MinBackoff, DefaultMinBackoff),
		maxBackoff:   orDefault(opts.MaxBackoff, DefaultMaxBackoff),
		logInterval:  orDefault(opts.LogInterval, DefaultLogInterval),
		now:          opts.Now,
		log:          opts.Logger,
		check:        opts.Check,
	}
	if c.refreshWait == 0 {
		c.refreshWait = DefaultRefreshWait
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Prime loads the secret now, typically at init so the first request does
// not pay for the fetch. It returns Load's error.
func (c *Cache) Prime(ctx context.Context) error {
	_, err := c.Load(ctx)
	return err
}

// Invalidate marks the cached value expired, so the next Load refetches it
// (the value is still served if that fetch fails). It does not cut short a
// failure backoff, so calling it often cannot hammer a failing store; still,
// wire it to rare events (a failed self-check, a rejected signature
// reported by the operator), never directly to client input.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.expires = time.Time{}
	c.mu.Unlock()
}

// Load implements Source.
func (c *Cache) Load(ctx context.Context) (Secret, error) {
	c.mu.Lock()
	now := c.now()
	if c.have && now.Before(c.expires) {
		v := c.val
		c.mu.Unlock()
		return v, nil
	}
	started := false
	if c.flight == nil {
		if now.Before(c.retryAt) {
			v, have, err := c.val, c.have, c.lastErr
			c.mu.Unlock()
			if have {
				return v, nil
			}
			return Secret{}, err
		}
		c.flight = &flight{done: make(chan struct{})}
		go c.fetch(context.WithoutCancel(ctx), c.flight)
		started = true
	}
	f := c.flight
	if c.have {
		// Stale-while-refresh: the fetch runs in the background.
		v := c.val
		c.mu.Unlock()
		if started && c.refreshWait > 0 {
			return c.awaitRefresh(ctx, f, v), nil
		}
		return v, nil
	}
	c.mu.Unlock()

	// Cold: wait for the fetch, which ends within fetchTimeout.
	select {
	case <-f.done:
		if f.err == nil {
			return f.val, nil
		}
		return Secret{}, f.err
	case <-ctx.Done():
		return Secret{}, fmt.Errorf("%w: gave up waiting for the secret store: %w", ErrUnavailable, ctx.Err())
	}
}

// awaitRefresh waits at most refreshWait (and ctx) for the refresh f: its
// value if it succeeds in time, else the cached value v.
func (c *Cache) awaitRefresh(ctx context.Context, f *flight, v Secret) Secret {
	t := time.NewTimer(c.refreshWait)
	defer t.Stop()
	select {
	case <-f.done:
		if f.err == nil {
			return f.val
		}
	case <-t.C:
	case <-ctx.Done():
	}
	return v
}

// fetch runs one fetch and publishes its result to f and the cache.
func (c *Cache) fetch(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, c.fetchTimeout)
	s, err := c.loadChecked(ctx)
	cancel()

	c.mu.Lock()
	now := c.now()
	prev, had, failures := c.val, c.have, c.failures
	var logFailure bool
	var retryIn time.Duration
	if err == nil {
		c.val, c.have, c.expires = s, true, now.Add(c.ttl)
		c.failures, c.lastErr, c.retryAt = 0, nil, time.Time{}
	} else {
		c.failures++
		retryIn = c.backoff(c.failures)
		c.retryAt = now.Add(retryIn)
		c.lastErr = err
		if c.lastLog.IsZero() || now.Sub(c.lastLog) >= c.logInterval {
			c.lastLog = now
			logFailure = true
		}
	}
	f.val, f.err = s, err
	c.mu.Unlock()
	// Log before ending the flight and waking the waiters, so that a
	// record is written by the time the Load that caused it returns (and
	// before another fetch can start).
	defer func() {
		c.mu.Lock()
		c.flight = nil
		c.mu.Unlock()
		close(f.done)
	}()

	switch {
	case err == nil && !had:
		c.log.Info("secret: loaded", "secret", s)
	case err == nil && failures > 0:
		c.log.Info("secret: store recovered", "failures", failures, "rotated", rotated(prev, s), "secret", s)
	case err == nil && rotated(prev, s):
		c.log.Info("secret: rotated", "secret", s)
	case logFailure && errors.Is(err, ErrCheckFailed):
		c.log.Error("secret: fetched secret failed the self-check and was refused", "error", err.Error(),
			"servingCached", had, "failures", failures+1, "retryIn", retryIn)
	case logFailure && had:
		c.log.Warn("secret: refresh failed; serving the cached secret", "error", err.Error(),
			"failures", failures+1, "retryIn", retryIn)
	case logFailure:
		c.log.Error("secret: load failed; requests answer unavailable until it succeeds", "error", err.Error(),
			"failures", failures+1, "retryIn", retryIn)
	}
}

// loadChecked calls the source, validates the result and runs the Check.
// A panic in either is turned into an error. It returns when ctx ends even
// if the source ignores ctx; such a source call is abandoned.
func (c *Cache) loadChecked(ctx context.Context) (s Secret, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = Secret{}, fmt.Errorf("%w: secret source or check panicked", ErrUnavailable)
		}
	}()
	s, err = c.loadBounded(ctx)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return Secret{}, err
	}
	if err := s.Validate(); err != nil {
		return Secret{}, fmt.Errorf("%w: source returned an incomplete secret: %w", ErrUnavailable, err)
	}
	if c.check != nil {
		if cerr := c.check(s); cerr != nil {
			return Secret{}, &checkError{msg: scrub(cerr.Error(), s), cause: cerr}
		}
	}
	return s, nil
}

// loadBounded calls the source on its own goroutine and stops waiting
// when ctx ends, so a source that ignores its context (a client without
// its own deadline stuck on a connection that never answers) cannot hold
// the fetch, and with it every cold caller, past FetchTimeout.
func (c *Cache) loadBounded(ctx context.Context) (Secret, error) {
	type result struct {
		s      Secret
		err    error
		panics bool
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if recover() != nil {
				ch <- result{panics: true}
			}
		}()
		s, err := c.src.Load(ctx)
		ch <- result{s: s, err: err}
	}()
	select {
	case r := <-ch:
		if r.panics {
			return Secret{}, fmt.Errorf("%w: secret source or check panicked", ErrUnavailable)
		}
		return r.s, r.err
	case <-ctx.Done():
		return Secret{}, fmt.Errorf("%w: the store did not answer within %s: %w", ErrTimeout, c.fetchTimeout, ctx.Err())
	}
}

func (c *Cache) backoff(failures int) time.Duration {
	d := c.minBackoff
	for i := 1; i < failures && d < c.maxBackoff; i++ {
		d *= 2
	}
	return min(d, c.maxBackoff)
}

// rotated reports whether the signing key changed (constant time).
func rotated(prev, next Secret) bool {
	return subtle.ConstantTimeCompare([]byte(prev.SecretKey), []byte(next.SecretKey)) != 1
}

// checkError is a Check refusal; its message is scrubbed of the secret's
// values, and it matches ErrCheckFailed and ErrUnavailable.
type checkError struct {
	msg   string
	cause error
}

// Error implements error.
func (e *checkError) Error() string {
	return "secret: fetched secret refused by self-check: " + e.msg
}

// Unwrap implements multi-error unwrapping for errors.Is/As.
func (e *checkError) Unwrap() []error { return []error{ErrCheckFailed, ErrUnavailable, e.cause} }
