package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the default cap on keys a Memory limiter tracks.
const DefaultMaxKeys = 100_000

// minSweepGap is the shortest time between two eviction sweeps, so that a
// sweep (linear in the number of keys) costs at most one pass per second.
const minSweepGap = time.Second

// MemoryOptions configures NewMemory. The zero value is ready to use.
type MemoryOptions struct {
	// Now returns the time decisions are made at; default time.Now.
	Now func() time.Time
	// MaxKeys caps the number of keys tracked at once; default
	// DefaultMaxKeys. See Memory for what happens when it is reached.
	MaxKeys int
}

// Memory is an in-instance Limiter: one golang.org/x/time/rate token bucket
// per key, decided at MemoryOptions.Now and never blocking. It is the
// default backend for a single instance and the fallback of Resilient.
//
// Memory is bounded without a background goroutine (serverless instances are
// frozen between invocations). Eviction is inline and lossless: at most once
// per second, and only when some bucket may have refilled, Allow deletes the
// buckets that are full again (idle for at least Burst × Interval). A full
// bucket decides exactly like the fresh bucket that replaces it, so eviction
// never changes a decision.
//
// When MaxKeys buckets are tracked and none is full, a new key is denied
// (existing keys keep their exact decisions) with RetryAfter set to when the
// next bucket can be evicted. This fails closed on purpose: evicting a
// non-full bucket would hand its owner a fresh burst, so flooding the limiter
// with keys (for example many client IPs for OpAuthFail) would reset other
// users' limits. Reaching the cap means one instance saw more than MaxKeys
// distinct active users within one refill window, which is an attack rather
// than traffic.
//
// Memory ignores the context: it never waits. If a key is used with a
// different policy than before, its bucket is recreated (full).
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	entries map[string]*memEntry
	// lastSweep is when the last sweep ran.
	lastSweep time.Time
	// nextSweep is when a bucket may first be full again; zero when no
	// sweep is due (no entries since the last sweep).
	nextSweep time.Time
	// noSweep disables eviction (tests build a reference limiter with it).
	noSweep bool
}

// memEntry is one key's bucket and the policy it was built for.
type memEntry struct {
	lim    *rate.Limiter
	policy Policy
}

// NewMemory returns an empty Memory limiter.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	return &Memory{
		now:     opts.Now,
		maxKeys: opts.MaxKeys,
		entries: make(map[string]*memEntry),
	}
}

// Len reports how many keys are tracked.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Allow decides one request for key under p at the limiter's current time.
// The only error is an invalid policy.
func (m *Memory) Allow(_ context.Context, key string, p Policy) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	now := m.now()

	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.noSweep && !m.nextSweep.IsZero() && !now.Before(m.nextSweep) {
		m.sweepLocked(now)
	}
	e, ok := m.entries[key]
	if !ok || e.policy != p {
		if !ok && len(m.entries) >= m.maxKeys {
			if !m.noSweep && now.Sub(m.lastSweep) >= minSweepGap {
				m.sweepLocked(now)
			}
			if len(m.entries) >= m.maxKeys {
				return m.overflowDecision(now, p), nil
			}
		}
		e = &memEntry{lim: rate.NewLimiter(rate.Every(p.Interval()), p.Burst), policy: p}
		m.entries[key] = e
	}
	d := e.decide(now)
	if !m.noSweep {
		m.scheduleLocked(now.Add(d.ResetAfter))
	}
	return d, nil
}

// decide takes one token at now if one is available.
func (e *memEntry) decide(now time.Time) Decision {
	p := e.policy
	r := e.lim.ReserveN(now, 1) // always OK: Burst >= 1
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return Decision{
			Limit:      p.Burst,
			RetryAfter: max(wait.Round(time.Microsecond), time.Microsecond),
			ResetAfter: resetAfter(p, e.lim.TokensAt(now)),
		}
	}
	tokens := e.lim.TokensAt(now)
	return Decision{
		Allowed: true,
		Limit:   p.Burst,
		// The epsilon absorbs float error: rate.Limiter itself allows a
		// token that is short by less than a nanosecond of refill.
		Remaining:  max(int(math.Floor(tokens+1e-9)), 0),
		ResetAfter: resetAfter(p, tokens),
	}
}

// resetAfter is how long tokens take to refill to p.Burst.
func resetAfter(p Policy, tokens float64) time.Duration {
	missing := float64(p.Burst) - tokens
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing * float64(p.Interval())).Round(time.Microsecond)
}

// full reports whether e's bucket is full at now, so that deleting it
// changes no decision.
func (e *memEntry) full(now time.Time) bool {
	return e.lim.TokensAt(now) >= float64(e.policy.Burst)
}

// scheduleLocked makes sure a sweep runs no later than at (but never sooner
// than minSweepGap after the last one).
func (m *Memory) scheduleLocked(at time.Time) {
	if earliest := m.lastSweep.Add(minSweepGap); at.Before(earliest) {
		at = earliest
	}
	if m.nextSweep.IsZero() || at.Before(m.nextSweep) {
		m.nextSweep = at
	}
}

// sweepLocked deletes every full bucket and schedules the next sweep for
// when the first remaining bucket becomes full.
func (m *Memory) sweepLocked(now time.Time) {
	m.lastSweep = now
	m.nextSweep = time.Time{}
	for key, e := range m.entries {
		if e.full(now) {
			delete(m.entries, key)
			continue
		}
		m.scheduleLocked(now.Add(resetAfter(e.policy, e.lim.TokensAt(now))))
	}
}

// overflowDecision denies a new key while MaxKeys non-full buckets are
// tracked, until the next sweep can free a slot.
func (m *Memory) overflowDecision(now time.Time, p Policy) Decision {
	wait := minSweepGap
	if !m.nextSweep.IsZero() {
		wait = m.nextSweep.Sub(now)
	}
	wait = max(wait, time.Millisecond)
	return Decision{Limit: p.Burst, RetryAfter: wait, ResetAfter: wait}
}
