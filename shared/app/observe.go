package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
)

// observer holds an instance's metrics recorder, chosen by platform, and
// wraps the dependencies whose calls it times.
type observer struct {
	rec  metrics.Recorder
	page http.Handler // the local server's counters; nil elsewhere
	now  func() time.Time

	resilient atomic.Pointer[ratelimit.Resilient]
	fallbacks atomic.Uint64 // Resilient fallbacks already reported
}

// newObserver picks the sink by platform: CloudWatch Embedded Metric
// Format lines on Lambda, flat JSON lines for CLS on SCF, and expvar
// counters served at GET /debug/metrics on the local server. Lines go to
// out (stdout when nil), which the platform ships to its log service.
func newObserver(stage string, opts Options, out io.Writer) *observer {
	o := &observer{now: opts.Now}
	if out == nil {
		out = os.Stdout
	}
	switch opts.Platform {
	case PlatformLambda:
		o.rec = metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: out, Stage: stage,
			Function: functionName(opts, "AWS_LAMBDA_FUNCTION_NAME"), Now: opts.Now, Collect: o.collect})
	case PlatformSCF, PlatformWeb:
		o.rec = metrics.NewLines(metrics.LinesOptions{Format: metrics.CLS, Out: out, Stage: stage,
			Function: functionName(opts, "SCF_FUNCTIONNAME"), Now: opts.Now, Collect: o.collect})
	default:
		e := metrics.NewExpvar(o.collect)
		o.rec, o.page = e, e
	}
	return o
}

// functionName is the function dimension: the platform's function name, or
// the operations served when it is unset.
func functionName(opts Options, env string) string {
	if n := opts.Getenv(env); n != "" {
		return n
	}
	if len(opts.Operations) == 0 {
		return "all"
	}
	return strings.Join(opts.Operations, "+")
}

// collect reports the rate-limit fallbacks since the previous call.
func (o *observer) collect(r metrics.Recorder) {
	res := o.resilient.Load()
	if res == nil {
		return
	}
	n := res.Stats().Fallbacks
	if prev := o.fallbacks.Swap(n); n > prev {
		r.Count(metrics.OpStoreRateLimit, "fallback", metrics.StoreFallbacks, float64(n-prev))
	}
}

// outcome is OutcomeOK for a nil error or one of the expected answers in
// ok, OutcomeError otherwise.
func outcome(err error, ok ...error) string {
	if err == nil {
		return metrics.OutcomeOK
	}
	for _, e := range ok {
		if errors.Is(err, e) {
			return metrics.OutcomeOK
		}
	}
	return metrics.OutcomeError
}

// timed records the duration and outcome of one dependency call.
func (o *observer) timed(op, latency, errs string, start time.Time, err error, ok ...error) {
	out := outcome(err, ok...)
	o.rec.Time(op, out, latency, o.now().Sub(start))
	if out == metrics.OutcomeError {
		o.rec.Count(op, out, errs, 1)
	}
}

// limiter times the shared store's decisions (inside the Resilient
// wrapper, so a failure is counted even when a fallback answers).
func (o *observer) limiter(l ratelimit.Limiter) ratelimit.Limiter { return timedLimiter{l, o} }

type timedLimiter struct {
	ratelimit.Limiter
	o *observer
}

// Allow implements ratelimit.Limiter.
func (t timedLimiter) Allow(ctx context.Context, key string, p ratelimit.Policy) (ratelimit.Decision, error) {
	start := t.o.now()
	d, err := t.Limiter.Allow(ctx, key, p)
	t.o.timed(metrics.OpStoreRateLimit, metrics.StoreLatency, metrics.StoreErrors, start, err)
	return d, err
}

// calls times the call-record store.
func (o *observer) calls(s callrecord.Store) callrecord.Store { return timedCalls{s, o} }

type timedCalls struct {
	s callrecord.Store
	o *observer
}

func (t timedCalls) done(start time.Time, err error) {
	t.o.timed(metrics.OpStoreCalls, metrics.StoreLatency, metrics.StoreErrors, start, err, callrecord.ErrNotFound, callrecord.ErrExists)
}

// Create implements callrecord.Store.
func (t timedCalls) Create(ctx context.Context, r callrecord.Record) error {
	start := t.o.now()
	err := t.s.Create(ctx, r)
	t.done(start, err)
	return err
}

// Get implements callrecord.Store.
func (t timedCalls) Get(ctx context.Context, room callrecord.Room) (callrecord.Record, error) {
	start := t.o.now()
	r, err := t.s.Get(ctx, room)
	t.done(start, err)
	return r, err
}

// Update implements callrecord.Store.
func (t timedCalls) Update(ctx context.Context, room callrecord.Room, fn func(*callrecord.Record) error) (callrecord.Record, error) {
	start := t.o.now()
	r, err := t.s.Update(ctx, room, fn)
	t.done(start, err)
	return r, err
}

// Claim implements callrecord.Store.
func (t timedCalls) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	start := t.o.now()
	ok, err := t.s.Claim(ctx, key, ttl)
	t.done(start, err)
	return ok, err
}

// Extend implements callrecord.Store.
func (t timedCalls) Extend(ctx context.Context, key string, ttl time.Duration) error {
	start := t.o.now()
	err := t.s.Extend(ctx, key, ttl)
	t.done(start, err)
	return err
}

// Release implements callrecord.Store.
func (t timedCalls) Release(ctx context.Context, key string) error {
	start := t.o.now()
	err := t.s.Release(ctx, key)
	t.done(start, err)
	return err
}

// AddUserRoom implements callrecord.Store.
func (t timedCalls) AddUserRoom(ctx context.Context, userID string, room callrecord.Room, until time.Time) error {
	start := t.o.now()
	err := t.s.AddUserRoom(ctx, userID, room, until)
	t.done(start, err)
	return err
}

// UserRooms implements callrecord.Store.
func (t timedCalls) UserRooms(ctx context.Context, userID string) ([]callrecord.Room, error) {
	start := t.o.now()
	rooms, err := t.s.UserRooms(ctx, userID)
	t.done(start, err)
	return rooms, err
}

// source times the secret store's fetches (under the cache, so only real
// fetches count) and counts successful ones as refreshes.
func (o *observer) source(s secret.Source) secret.Source { return timedSource{s, o} }

type timedSource struct {
	s secret.Source
	o *observer
}

// Load implements secret.Source.
func (t timedSource) Load(ctx context.Context) (secret.Secret, error) {
	start := t.o.now()
	s, err := t.s.Load(ctx)
	t.o.timed(metrics.OpSecretFetch, metrics.SecretStoreLatency, metrics.SecretStoreErrors, start, err)
	if err == nil {
		t.o.rec.Count(metrics.OpSecretFetch, metrics.OutcomeOK, metrics.SecretRefreshes, 1)
	}
	return s, err
}
