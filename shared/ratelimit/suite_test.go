package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// backend is one Limiter implementation under the behavioural suite.
type backend struct {
	name string
	// exact backends decide at an injected clock, so every duration is
	// asserted exactly; the others (Redis: server time) are asserted
	// within the time that passed on the clock the backend decides at.
	exact bool
	// build returns a fresh limiter with its own key space and the clock
	// that drives it.
	build func(t *testing.T) (Limiter, clock)
}

// backends lists every backend; Redis and DynamoDB need their servers.
func backends() []backend {
	return []backend{
		{name: "memory", exact: true, build: func(t *testing.T) (Limiter, clock) {
			c := newFakeClock()
			return NewMemory(MemoryOptions{Now: c.Now}), c
		}},
		{name: "redis", build: func(t *testing.T) (Limiter, clock) {
			return redisSuiteLimiter(t)
		}},
		{name: "dynamodb", exact: true, build: func(t *testing.T) (Limiter, clock) {
			c := newFakeClock()
			return NewDynamoDB(sharedDynamoDB(t), limitsTable, uniquePrefix(t), WithDynamoDBClock(c.Now)), c
		}},
		{name: "dynamodb-all-old", exact: true, build: func(t *testing.T) (Limiter, clock) {
			// Behaves like real DynamoDB: the failed condition carries the
			// old item, so the GetItem fallback must not run.
			c := newFakeClock()
			api := &allOldAPI{Client: sharedDynamoDB(t)}
			t.Cleanup(func() {
				if n := api.gets.Load(); n != 0 {
					t.Errorf("GetItem called %d times although the old item was returned", n)
				}
			})
			return NewDynamoDB(api, limitsTable, uniquePrefix(t), WithDynamoDBClock(c.Now)), c
		}},
		{name: "resilient-closed(dynamodb)", exact: true, build: func(t *testing.T) (Limiter, clock) {
			// The deny cache must not change any decision.
			c := newFakeClock()
			store := NewDynamoDB(sharedDynamoDB(t), limitsTable, uniquePrefix(t), WithDynamoDBClock(c.Now))
			return NewResilient(store, ResilientOptions{Timeout: 10 * time.Second, Mode: FailClosed, Now: c.Now}), c
		}},
	}
}

// TestLimiterBehaviour runs the one behavioural suite against every backend.
func TestLimiterBehaviour(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { runSuite(t, b) })
	}
}

// runSuite is the behavioural contract every Limiter meets.
func runSuite(t *testing.T, b backend) {
	t.Run("burst then deny", func(t *testing.T) {
		lim, clk := b.build(t)
		p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
		start := clk.Now()
		for i := 1; i <= 5; i++ {
			d := allow(t, lim, "u1", p)
			elapsed := clk.Now().Sub(start)
			want := Decision{Allowed: true, Limit: 5, Remaining: 5 - i, ResetAfter: time.Duration(i) * 12 * time.Second}
			checkDecision(t, b, i, d, want, elapsed)
		}
		for i := 6; i <= 8; i++ {
			d := allow(t, lim, "u1", p)
			elapsed := clk.Now().Sub(start)
			want := Decision{Limit: 5, RetryAfter: 12 * time.Second, ResetAfter: time.Minute}
			checkDecision(t, b, i, d, want, elapsed)
			if got := d.RetryAfterSeconds(); got != 12 {
				t.Errorf("call %d: RetryAfterSeconds = %d, want 12", i, got)
			}
		}
	})

	t.Run("refill after RetryAfter and after the window", func(t *testing.T) {
		lim, clk := b.build(t)
		p := Policy{Rate: 4, Period: time.Second, Burst: 2} // one token per 250ms
		if !b.exact {
			// The server's clock runs on between the calls of each step
			// below, and each step holds only while less than one interval
			// has passed: a second rather than 250ms, so that a stall of a
			// loaded machine does not refill a token early.
			p.Rate = 1
		}
		interval := p.Interval()
		start := clk.Now()
		allow(t, lim, "u1", p)
		allow(t, lim, "u1", p)
		denyStart := clk.Now()
		d := allow(t, lim, "u1", p)
		checkDecision(t, b, 3, d, Decision{Limit: 2, RetryAfter: interval, ResetAfter: 2 * interval}, clk.Now().Sub(start))
		if b.exact {
			// One microsecond early: still denied, with exactly that left.
			clk.Advance(d.RetryAfter - time.Microsecond)
			early := allow(t, lim, "u1", p)
			checkDecision(t, b, 4, early, Decision{Limit: 2, RetryAfter: time.Microsecond, ResetAfter: interval + time.Microsecond}, 0)
			clk.Advance(time.Microsecond)
		} else {
			clk.Advance(d.RetryAfter)
		}
		if got := allow(t, lim, "u1", p); !got.Allowed || got.Remaining != 0 {
			t.Fatalf("after RetryAfter: %+v, want allowed with Remaining 0", got)
		}
		if got := allow(t, lim, "u1", p); got.Allowed {
			t.Fatalf("second call after RetryAfter: %+v, want denied", got)
		} else {
			// The refilled token became available RetryAfter after the
			// denial; whatever time passed beyond that shortens the wait.
			checkDur(t, b, "RetryAfter after one refill", got.RetryAfter, interval, clk.Now().Sub(denyStart)-d.RetryAfter)
		}
		// Idle for the whole window: a full burst again.
		clk.Advance(p.window())
		for i := 1; i <= 2; i++ {
			if got := allow(t, lim, "u1", p); !got.Allowed || got.Remaining != 2-i {
				t.Fatalf("after the window, call %d: %+v, want allowed with Remaining %d", i, got, 2-i)
			}
		}
		if got := allow(t, lim, "u1", p); got.Allowed {
			t.Fatalf("after the window, call 3: %+v, want denied", got)
		}
	})

	t.Run("keys are isolated", func(t *testing.T) {
		lim, _ := b.build(t)
		p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
		for range 6 {
			allow(t, lim, "usersig:alice", p)
		}
		for i := 1; i <= 5; i++ {
			if d := allow(t, lim, "usersig:bob", p); !d.Allowed || d.Remaining != 5-i {
				t.Fatalf("bob call %d: %+v, want allowed with Remaining %d", i, d, 5-i)
			}
		}
		if d := allow(t, lim, "call.create:alice", p); !d.Allowed || d.Remaining != 4 {
			t.Fatalf("alice on another operation: %+v, want allowed with Remaining 4", d)
		}
		if d := allow(t, lim, "usersig:alice", p); d.Allowed {
			t.Fatalf("alice after bob: %+v, want still denied", d)
		}
	})

	t.Run("exact total under concurrency", func(t *testing.T) {
		lim, _ := b.build(t)
		p := Policy{Rate: 50, Period: time.Hour, Burst: 50}
		const goroutines, calls = 20, 10
		var allowed, denied atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*calls)
		for range goroutines {
			wg.Go(func() {
				for range calls {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					d, err := lim.Allow(ctx, "hot", p)
					cancel()
					switch {
					case err != nil:
						errs <- err
					case d.Allowed:
						allowed.Add(1)
					default:
						denied.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if allowed.Load() != 50 || denied.Load() != goroutines*calls-50 {
			t.Fatalf("allowed %d, denied %d; want exactly 50 and %d", allowed.Load(), denied.Load(), goroutines*calls-50)
		}
	})

	t.Run("invalid policy is an error", func(t *testing.T) {
		lim, _ := b.build(t)
		_, err := lim.Allow(context.Background(), "u1", Policy{Rate: 0, Period: time.Minute, Burst: 5})
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Fatalf("err = %v, want ErrInvalidPolicy", err)
		}
	})
}

// allow calls lim.Allow with a deadline and fails the test on error.
func allow(t *testing.T, lim Limiter, key string, p Policy) Decision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := lim.Allow(ctx, key, p)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return d
}

// checkDecision compares d with want: exactly for exact backends; for the
// others, durations may be shorter than want by the time that passed since
// the sequence started (GCRA on the server clock), never longer.
func checkDecision(t *testing.T, b backend, call int, d, want Decision, elapsed time.Duration) {
	t.Helper()
	if d.Allowed != want.Allowed || d.Limit != want.Limit || d.Remaining != want.Remaining {
		t.Errorf("call %d: %+v, want Allowed %v Limit %d Remaining %d", call, d, want.Allowed, want.Limit, want.Remaining)
	}
	checkDur(t, b, "RetryAfter", d.RetryAfter, want.RetryAfter, elapsed)
	checkDur(t, b, "ResetAfter", d.ResetAfter, want.ResetAfter, elapsed)
}

// checkDur asserts got == want for exact backends, else
// want − elapsed ≤ got ≤ want, give or take serverSlack.
func checkDur(t *testing.T, b backend, what string, got, want, elapsed time.Duration) {
	t.Helper()
	if b.exact {
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
		return
	}
	if want == 0 {
		if got != 0 {
			t.Errorf("%s = %v, want 0", what, got)
		}
		return
	}
	if got < want-elapsed-serverSlack || got > want+serverSlack {
		t.Errorf("%s = %v, want within [%v, %v]", what, got, want-elapsed, want)
	}
}

// serverSlack is how far a server-clock duration may stray from the exact
// figure: the Redis script keeps its state as a decimal string of 14
// significant digits, seconds since 2017 with 10µs steps, so each stored
// instant may be rounded by up to 5µs, and two of them enter a duration.
const serverSlack = 10 * time.Microsecond

// allOldAPI makes dynalite behave like real DynamoDB: a failed condition
// carries the old item (ReturnValuesOnConditionCheckFailure ALL_OLD), read
// here right after the failure.
type allOldAPI struct {
	*dynamodb.Client
	gets atomic.Int64
}

func (a *allOldAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
	out, err := a.Client.UpdateItem(ctx, in)
	var ccf *dynamodb.ConditionalCheckFailedError
	if errors.As(err, &ccf) && ccf.Item == nil {
		got, gerr := a.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: in.TableName, Key: in.Key, ConsistentRead: true})
		if gerr != nil {
			return nil, gerr
		}
		ccf.Item = got.Item
		if ccf.Item == nil {
			ccf.Item = dynamodb.Item{}
		}
	}
	return out, err
}

func (a *allOldAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
	a.gets.Add(1)
	return a.Client.GetItem(ctx, in)
}
