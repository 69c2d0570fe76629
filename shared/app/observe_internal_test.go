package app

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/metrics/emfcheck"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
)

// slowLimiter advances the clock by its latency and fails when told to.
type slowLimiter struct {
	clk  *testclock.Clock
	took time.Duration
	err  error
}

func (l slowLimiter) Allow(context.Context, string, ratelimit.Policy) (ratelimit.Decision, error) {
	l.clk.Advance(l.took)
	return ratelimit.Decision{Allowed: l.err == nil, Limit: 1}, l.err
}

type slowSource struct {
	clk  *testclock.Clock
	took time.Duration
	err  error
}

func (s slowSource) Load(context.Context) (secret.Secret, error) {
	s.clk.Advance(s.took)
	return secret.Secret{SDKAppID: 1400000000, SecretKey: "k"}, s.err
}

// TestObserverFigures: the wrapped dependencies report their latency on
// the injected clock, their errors, and the fallbacks of the Resilient
// limiter; every line is valid EMF.
func TestObserverFigures(t *testing.T) {
	clk := testclock.AtEpoch()
	var out testlog.Buffer
	getenv := func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "callsign-prod-usersig"}[k]
	}
	o := newObserver("prod", Options{Platform: PlatformLambda, Now: clk.Now, Getenv: getenv}, &out)
	ctx := context.Background()

	down := errors.New("store down")
	res := ratelimit.NewResilient(o.limiter(slowLimiter{clk: clk, took: 3 * time.Millisecond, err: down}), ratelimit.ResilientOptions{
		Mode: ratelimit.FailLocal, Local: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now}),
		Logger: slog.New(slog.DiscardHandler), Now: clk.Now, Timeout: time.Minute,
	})
	o.resilient.Store(res)
	p := ratelimit.Policy{Rate: 10, Period: time.Minute, Burst: 10}
	for range 2 {
		if _, err := res.Allow(ctx, "usersig:alice", p); err != nil {
			t.Fatalf("fallback decision: %v", err)
		}
	}
	ok := o.source(slowSource{clk: clk, took: 40 * time.Millisecond})
	bad := o.source(slowSource{clk: clk, took: 2 * time.Second, err: secret.ErrUnavailable})
	_, _ = ok.Load(ctx)
	_, _ = bad.Load(ctx)
	calls := o.calls(callrecord.NewMemory(callrecord.MemoryOptions{Now: clk.Now}))
	if _, err := calls.Get(ctx, callrecord.Room{Str: "c_none"}); !errors.Is(err, callrecord.ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	o.rec.(metrics.Flusher).Flush()

	got, err := emfcheck.Lines([]byte(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]float64{}
	for _, m := range got {
		d := m.Dimensions[0]
		if d["function"] != "callsign-prod-usersig" || d["stage"] != "prod" {
			t.Errorf("dimensions %v", d)
		}
		k := d["operation"] + "/" + d["outcome"] + "/" + m.Name
		values[k] = append(values[k], m.Values...)
	}
	want := map[string][]float64{
		"store.ratelimit/error/StoreLatency":      {3, 3},
		"store.ratelimit/error/StoreErrors":       {2},
		"store.ratelimit/fallback/StoreFallbacks": {2},
		"secret.fetch/ok/SecretStoreLatency":      {40},
		"secret.fetch/ok/SecretRefreshes":         {1},
		"secret.fetch/error/SecretStoreLatency":   {2000},
		"secret.fetch/error/SecretStoreErrors":    {1},
		"store.calls/ok/StoreLatency":             {0},
	}
	if len(values) != len(want) {
		t.Errorf("figures %v\nwant %v", values, want)
	}
	for k, w := range want {
		if g := values[k]; len(g) != len(w) || (len(w) > 0 && !equalFloats(g, w)) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}

	// Fallbacks are reported once: the next flush has none.
	before := len(out.String())
	o.rec.(metrics.Flusher).Flush()
	if after := out.String()[before:]; after != "" {
		t.Errorf("second flush wrote %s", after)
	}
}

func equalFloats(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
