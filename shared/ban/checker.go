package ban

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultCacheTTL is how long an instance trusts what it read about a
// user: a ban (or an unban) reaches every instance within this delay plus
// one store round trip.
const DefaultCacheTTL = 3 * time.Second

// MaxCacheTTL bounds CheckerOptions.CacheTTL: the promised propagation
// delay is at most 5 s.
const MaxCacheTTL = 5 * time.Second

// maxCached bounds the per-instance cache; when full it is emptied of
// stale entries, then entirely.
const maxCached = 50_000

// CheckerOptions configures NewChecker.
type CheckerOptions struct {
	// CacheTTL is the per-instance cache lifetime, 0..MaxCacheTTL;
	// 0 means DefaultCacheTTL.
	CacheTTL time.Duration
	// Timeout bounds one store lookup (in addition to the caller's
	// context); 0 means no extra bound.
	Timeout time.Duration
	// FailClosed makes a failed lookup an error; otherwise the last known
	// entry (or "not banned") is used and the failure logged.
	FailClosed bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives store failures; nil discards.
	Logger *slog.Logger
}

// Checker answers ban lookups from a per-instance cache in front of a
// Store. It is safe for concurrent use.
type Checker struct {
	store      Store
	ttl        time.Duration
	timeout    time.Duration
	failClosed bool
	now        func() time.Time
	log        *slog.Logger

	mu         sync.Mutex
	cache      map[string]cached
	lastLog    time.Time
	suppressed int
}

// logInterval throttles the log line of failed lookups during an outage.
const logInterval = 10 * time.Second

type cached struct {
	e     Entry
	ok    bool
	fresh time.Time // trusted until
}

// NewChecker returns a Checker on s.
func NewChecker(s Store, opts CheckerOptions) *Checker {
	c := &Checker{store: s, ttl: opts.CacheTTL, timeout: opts.Timeout, failClosed: opts.FailClosed,
		now: opts.Now, log: opts.Logger, cache: make(map[string]cached)}
	if c.ttl <= 0 {
		c.ttl = DefaultCacheTTL
	}
	c.ttl = min(c.ttl, MaxCacheTTL)
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Lookup returns the entry of userID (ok false: none), from the cache when
// it is younger than the cache TTL. With FailClosed a store failure is
// returned; otherwise the last known entry is used (none: not banned).
func (c *Checker) Lookup(ctx context.Context, userID string) (Entry, bool, error) {
	now := c.now()
	c.mu.Lock()
	hit, have := c.cache[userID]
	c.mu.Unlock()
	if have && now.Before(hit.fresh) {
		return hit.e, hit.ok, nil
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	e, ok, err := c.store.Get(ctx, userID)
	if err != nil {
		if c.failClosed {
			return Entry{}, false, err
		}
		c.logFailure(ctx, now, err)
		return hit.e, hit.ok, nil
	}
	c.mu.Lock()
	if len(c.cache) >= maxCached {
		for k, v := range c.cache {
			if !now.Before(v.fresh) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCached {
			clear(c.cache)
		}
	}
	c.cache[userID] = cached{e: e, ok: ok, fresh: now.Add(c.ttl)}
	c.mu.Unlock()
	return e, ok, nil
}

// Banned reports whether userID is banned now (for the call callbacks).
func (c *Checker) Banned(ctx context.Context, userID string) (bool, error) {
	e, ok, err := c.Lookup(ctx, userID)
	return ok && e.Active(c.now()), err
}

// logFailure logs a failed lookup at most once per logInterval, with the
// number of failures since the previous line.
func (c *Checker) logFailure(ctx context.Context, now time.Time, err error) {
	c.mu.Lock()
	c.suppressed++
	if !c.lastLog.IsZero() && now.Sub(c.lastLog) < logInterval {
		c.mu.Unlock()
		return
	}
	n := c.suppressed
	c.lastLog, c.suppressed = now, 0
	c.mu.Unlock()
	c.log.LogAttrs(ctx, slog.LevelError, "ban lookup failed; using the last known state",
		slog.Int("failures", n), slog.String("error", err.Error()))
}
