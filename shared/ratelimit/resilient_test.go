package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

// watchdog bounds any single call in these tests: exceeding it is a hang,
// reported as a failure instead of blocking the test binary.
const watchdog = 20 * time.Second

// allowGuarded calls lim.Allow on ctx and fails the test if it does not
// return within the watchdog.
func allowGuarded(t *testing.T, ctx context.Context, lim Limiter, key string, p Policy) (Decision, error) {
	t.Helper()
	type result struct {
		d   Decision
		err error
	}
	ch := make(chan result, 1)
	go func() {
		d, err := lim.Allow(ctx, key, p)
		ch <- result{d, err}
	}()
	select {
	case r := <-ch:
		return r.d, r.err
	case <-time.After(watchdog):
		t.Fatalf("Allow(%q) hung", key)
		return Decision{}, nil
	}
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// lines returns each record as "LEVEL msg k=v …".
func (l *logRecorder) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			s += " " + a.String()
			return true
		})
		out = append(out, s)
	}
	return out
}

// stubStore is a Limiter with programmable behaviour.
type stubStore struct {
	calls atomic.Int64
	allow func(ctx context.Context) (Decision, error)
}

func (s *stubStore) Allow(ctx context.Context, _ string, _ Policy) (Decision, error) {
	s.calls.Add(1)
	return s.allow(ctx)
}

var testPolicy = Policy{Rate: 5, Period: time.Minute, Burst: 2}

// failingStores are the ways a store can fail.
func failingStores(t *testing.T) map[string]*stubStore {
	deaf := make(chan struct{})
	t.Cleanup(func() { close(deaf) })
	return map[string]*stubStore{
		"error": {allow: func(context.Context) (Decision, error) {
			return Decision{}, errors.New("dial tcp 127.0.0.1:1: connection refused")
		}},
		"hangs until ctx done": {allow: func(ctx context.Context) (Decision, error) {
			<-ctx.Done()
			return Decision{}, ctx.Err()
		}},
		"ignores ctx": {allow: func(context.Context) (Decision, error) {
			<-deaf
			return Decision{}, errors.New("released")
		}},
	}
}

// checkMode asserts the documented outcome of three calls on a failed store.
func checkMode(t *testing.T, mode FailureMode, lim Limiter) {
	t.Helper()
	for i := 1; i <= 3; i++ {
		d, err := allowGuarded(t, context.Background(), lim, "usersig:alice", testPolicy)
		switch mode {
		case FailLocal:
			// The in-instance limiter decides: burst 2, then denied.
			want := Decision{Allowed: i <= 2, Limit: 2, Remaining: max(2-i, 0)}
			if err != nil || d.Allowed != want.Allowed || d.Remaining != want.Remaining || d.Limit != 2 {
				t.Fatalf("local, call %d: %+v, %v; want %+v", i, d, err, want)
			}
		case FailOpen:
			want := Decision{Allowed: true, Limit: 2, Remaining: 1, ResetAfter: 12 * time.Second}
			if err != nil || d != want {
				t.Fatalf("open, call %d: %+v, %v; want %+v", i, d, err, want)
			}
		case FailClosed:
			if !errors.Is(err, ErrUnavailable) || d != (Decision{}) {
				t.Fatalf("closed, call %d: %+v, %v; want ErrUnavailable", i, d, err)
			}
		}
	}
}

func TestResilientModes(t *testing.T) {
	for name, store := range failingStores(t) {
		for _, mode := range []FailureMode{FailLocal, FailOpen, FailClosed} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				logs := &logRecorder{}
				clk := newFakeClock()
				lim := NewResilient(store, ResilientOptions{Timeout: 20 * time.Millisecond, Mode: mode, Logger: slog.New(logs), Now: clk.Now})
				checkMode(t, mode, lim)
				lines := logs.lines()
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "ERROR rate-limit store failed failure_mode="+mode.String()+" error=") {
					t.Fatalf("logs = %q, want one ERROR line", lines)
				}
			})
		}
	}
}

// TestResilientUndefinedModeFallsBackLocally: a FailureMode outside the
// three constants behaves as FailLocal instead of panicking on a nil
// fallback limiter.
func TestResilientUndefinedModeFallsBackLocally(t *testing.T) {
	clk := newFakeClock()
	lim := NewResilient(failingStores(t)["error"], ResilientOptions{Mode: FailureMode(7), Logger: slog.New(&logRecorder{}), Now: clk.Now})
	checkMode(t, FailLocal, lim)
}

func TestResilientLogThrottle(t *testing.T) {
	logs := &logRecorder{}
	clk := newFakeClock()
	store := failingStores(t)["error"]
	lim := NewResilient(store, ResilientOptions{Mode: FailOpen, Logger: slog.New(logs), Now: clk.Now, LogInterval: time.Minute})
	for range 3 {
		allowGuarded(t, context.Background(), lim, "k", testPolicy)
	}
	clk.Advance(59 * time.Second)
	allowGuarded(t, context.Background(), lim, "k", testPolicy)
	clk.Advance(time.Second)
	allowGuarded(t, context.Background(), lim, "k", testPolicy)
	want := []string{
		"ERROR rate-limit store failed failure_mode=open error=dial tcp 127.0.0.1:1: connection refused fallbacks=1 fallbacks_total=1",
		"ERROR rate-limit store failed failure_mode=open error=dial tcp 127.0.0.1:1: connection refused fallbacks=4 fallbacks_total=5",
	}
	if got := logs.lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestResilientCountsEveryFallback: every decision the failure mode makes
// is counted, in Stats and in the logs: a throttled failure line carries
// the count since the previous line, and once the store answers again a
// recovery line reports the fallbacks no line has reported yet. A flapping
// store is still logged at most once per interval, and the lines' counts
// add up to every fallback.
func TestResilientCountsEveryFallback(t *testing.T) {
	for _, mode := range []FailureMode{FailLocal, FailOpen, FailClosed} {
		t.Run(mode.String(), func(t *testing.T) {
			logs := &logRecorder{}
			clk := newFakeClock()
			var down atomic.Bool
			store := &stubStore{allow: func(context.Context) (Decision, error) {
				if down.Load() {
					// The client's own deadline: too slow.
					return Decision{}, fmt.Errorf("ratelimit: dynamodb: %w", context.DeadlineExceeded)
				}
				return Decision{Allowed: true, Limit: 1000, Remaining: 999}, nil
			}}
			lim := NewResilient(store, ResilientOptions{Mode: mode,
				Logger: slog.New(logs), Now: clk.Now, LogInterval: time.Minute})
			policy := Policy{Rate: 1000, Period: time.Minute, Burst: 1000}
			allow := func(n int) {
				for i := range n {
					if _, err := allowGuarded(t, context.Background(), lim, "usersig:u"+strconv.Itoa(i), policy); err != nil && mode != FailClosed {
						t.Fatalf("Allow: %v", err)
					}
					clk.Advance(time.Second)
				}
			}
			allow(3) // t=0..2: healthy
			down.Store(true)
			allow(90) // t=3..92, slow store: lines at t=3 and t=63
			down.Store(false)
			allow(40) // t=93..132, recovered: one line at t=123 with the 29 fallbacks since t=63
			want := ResilientStats{StoreDecisions: 43, Fallbacks: 90, Timeouts: 90}
			if got := lim.Stats(); got != want {
				t.Fatalf("Stats() = %+v, want %+v", got, want)
			}
			prefix := "ERROR rate-limit store failed failure_mode=" + mode.String() + " error=ratelimit: dynamodb: context deadline exceeded"
			wantLines := []string{
				prefix + " fallbacks=1 fallbacks_total=1",
				prefix + " fallbacks=60 fallbacks_total=61",
				"WARN rate-limit store answering again failure_mode=" + mode.String() + " fallbacks=29 fallbacks_total=90",
			}
			if got := logs.lines(); strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
				t.Fatalf("logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
			}

			// Flapping for 3 minutes (t=133..312, every other decision
			// fails), then healthy: one line a minute (t=183, 243, 303 and
			// the recovery at t=363), and the lines report every fallback.
			for i := range 180 {
				down.Store(i%2 == 0)
				allow(1)
			}
			down.Store(false)
			allow(61)
			wantFlapping := []string{
				prefix + " fallbacks=26 fallbacks_total=116",
				prefix + " fallbacks=30 fallbacks_total=146",
				prefix + " fallbacks=30 fallbacks_total=176",
				"WARN rate-limit store answering again failure_mode=" + mode.String() + " fallbacks=4 fallbacks_total=180",
			}
			if got := logs.lines()[len(wantLines):]; strings.Join(got, "\n") != strings.Join(wantFlapping, "\n") {
				t.Fatalf("flapping logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFlapping, "\n"))
			}
			reported := 0
			for _, l := range logs.lines() {
				f := strings.Fields(l[strings.Index(l, " fallbacks="):])[0]
				n, err := strconv.Atoi(strings.TrimPrefix(f, "fallbacks="))
				if err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				reported += n
			}
			if st := lim.Stats(); reported != 180 || st.Fallbacks != 180 {
				t.Fatalf("lines report %d fallbacks, Stats %d; want 180 (90 + 90 flapping)", reported, st.Fallbacks)
			}
		})
	}
}

func TestResilientDenyCache(t *testing.T) {
	clk := newFakeClock()
	store := &stubStore{allow: func(context.Context) (Decision, error) {
		return Decision{Limit: 2, RetryAfter: 10 * time.Second, ResetAfter: 30 * time.Second}, nil
	}}
	lim := NewResilient(store, ResilientOptions{Mode: FailClosed, Now: clk.Now})
	ctx := context.Background()
	if d, _ := lim.Allow(ctx, "k", testPolicy); d.Allowed || store.calls.Load() != 1 {
		t.Fatalf("first: %+v after %d store calls", d, store.calls.Load())
	}
	clk.Advance(4 * time.Second)
	d, err := lim.Allow(ctx, "k", testPolicy)
	if want := (Decision{Limit: 2, RetryAfter: 6 * time.Second, ResetAfter: 26 * time.Second}); err != nil || d != want || store.calls.Load() != 1 {
		t.Fatalf("cached: %+v, %v after %d store calls; want %+v from the cache", d, err, store.calls.Load(), want)
	}
	// Another key and another policy go to the store.
	lim.Allow(ctx, "other", testPolicy)
	lim.Allow(ctx, "k", Policy{Rate: 1, Period: time.Minute, Burst: 1})
	if store.calls.Load() != 3 {
		t.Fatalf("%d store calls, want 3", store.calls.Load())
	}
	clk.Advance(10 * time.Second) // other's denial (at +4s, RetryAfter 10s) has expired
	lim.Allow(ctx, "other", testPolicy)
	if store.calls.Load() != 4 {
		t.Fatalf("%d store calls after RetryAfter, want 4", store.calls.Load())
	}

	// Disabled cache: every call reaches the store.
	store.calls.Store(0)
	off := NewResilient(store, ResilientOptions{Mode: FailClosed, Now: clk.Now, DenyCacheSize: -1})
	off.Allow(ctx, "k", testPolicy)
	off.Allow(ctx, "k", testPolicy)
	if store.calls.Load() != 2 {
		t.Fatalf("%d store calls with the cache disabled, want 2", store.calls.Load())
	}
}

func TestResilientDenyCacheBounded(t *testing.T) {
	clk := newFakeClock()
	store := &stubStore{allow: func(context.Context) (Decision, error) {
		return Decision{Limit: 2, RetryAfter: 10 * time.Second}, nil
	}}
	r := NewResilient(store, ResilientOptions{Mode: FailClosed, Now: clk.Now, DenyCacheSize: 2})
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		r.Allow(ctx, k, testPolicy)
	}
	if len(r.denied) != 2 {
		t.Fatalf("%d cached denials, want 2", len(r.denied))
	}
	clk.Advance(10 * time.Second) // a and b expire
	r.Allow(ctx, "c", testPolicy)
	if _, ok := r.denied["c"]; !ok || len(r.denied) != 1 {
		t.Fatalf("cache after expiry: %v, want only c", r.denied)
	}
}

func TestResilientCallerContext(t *testing.T) {
	store := failingStores(t)["hangs until ctx done"]
	logs := &logRecorder{}
	lim := NewResilient(store, ResilientOptions{Timeout: 10 * time.Second, Mode: FailClosed, Logger: slog.New(logs)})

	// A caller deadline shorter than Timeout bounds the store call; the
	// failure mode then applies.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := allowGuarded(t, ctx, lim, "k", testPolicy); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("past the caller's deadline: %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}

	// A cancelled caller gets its cancellation back and nothing is logged.
	logs.records = nil
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := allowGuarded(t, ctx, lim, "k", testPolicy); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	if got := logs.lines(); len(got) != 0 {
		t.Fatalf("logged %q for a cancelled caller", got)
	}
}

func TestResilientInvalidPolicy(t *testing.T) {
	store := &stubStore{allow: func(context.Context) (Decision, error) { return Decision{Allowed: true}, nil }}
	lim := NewResilient(store, ResilientOptions{Mode: FailOpen})
	if _, err := lim.Allow(context.Background(), "k", Policy{}); !errors.Is(err, ErrInvalidPolicy) || store.calls.Load() != 0 {
		t.Fatalf("err = %v after %d store calls, want ErrInvalidPolicy and no store call", err, store.calls.Load())
	}
}

// TestResilientStoreKilled kills a real store process mid-run: decisions
// before come from the store, after from the failure mode, none hangs.
func TestResilientStoreKilled(t *testing.T) {
	stores := []struct {
		name  string
		start func(t *testing.T) (*teststore.Server, Limiter)
	}{
		{"redis", func(t *testing.T) (*teststore.Server, Limiter) {
			requireRedis(t)
			s, err := teststore.StartRedisServer()
			if err != nil {
				teststore.SkipOrFail(t, err)
			}
			return s, redisLimiter(t, teststore.RedisURL(s.Addr), "callsign:test:")
		}},
		{"dynamodb", func(t *testing.T) (*teststore.Server, Limiter) {
			s, err := teststore.StartDynaliteServer()
			if err != nil {
				teststore.SkipOrFail(t, err)
			}
			client := teststore.DynamoDBClient(s.URL)
			ctx, cancel := context.WithTimeout(context.Background(), watchdog)
			defer cancel()
			if err := teststore.CreateLimitsTable(ctx, client, limitsTable); err != nil {
				s.Stop()
				t.Fatal(err)
			}
			return s, NewDynamoDB(client, limitsTable, "callsign:test:")
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			server, store := st.start(t)
			t.Cleanup(func() {
				if err := server.Stop(); err != nil {
					t.Error(err)
				}
			})
			modes := []FailureMode{FailLocal, FailOpen, FailClosed}
			lims := make([]Limiter, len(modes))
			logs := make([]*logRecorder, len(modes))
			for i, mode := range modes {
				logs[i] = &logRecorder{}
				// The store timeout is only a safety net: before the kill
				// the store must decide however slow a loaded machine is,
				// and after it the store fails at once (connection refused).
				lims[i] = NewResilient(store, ResilientOptions{Timeout: watchdog, Mode: mode, Logger: slog.New(logs[i])})
				// Before the kill the store decides (one token of key i).
				d, err := allowGuarded(t, context.Background(), lims[i], "before:"+mode.String(), testPolicy)
				if err != nil || !d.Allowed || d.Remaining != 1 {
					t.Fatalf("%v before the kill: %+v, %v", mode, d, err)
				}
			}
			if err := server.Kill(); err != nil {
				t.Fatal(err)
			}
			for i, mode := range modes {
				checkMode(t, mode, lims[i])
				if got := logs[i].lines(); len(got) != 1 {
					t.Fatalf("%v: logs %q, want one line", mode, got)
				}
			}
		})
	}
}

// blackHole accepts TCP connections on 127.0.0.1 and never answers.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestResilientBlackHole points real clients at a listener that accepts
// but never answers: the raw stores fail at the context deadline, and each
// mode behaves as documented.
func TestResilientBlackHole(t *testing.T) {
	addr := blackHole(t)
	stores := map[string]Limiter{
		"redis":    redisLimiter(t, "redis://"+addr, "callsign:test:"),
		"dynamodb": NewDynamoDB(teststore.DynamoDBClient("http://"+addr), limitsTable, "callsign:test:"),
	}
	for name, store := range stores {
		t.Run(name+"/raw", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			d, err := allowGuarded(t, ctx, store, "k", testPolicy)
			if err == nil || d != (Decision{}) || !strings.HasPrefix(err.Error(), "ratelimit: "+name) {
				t.Fatalf("%+v, %v; want a ratelimit: %s error", d, err, name)
			}
		})
		for _, mode := range []FailureMode{FailLocal, FailOpen, FailClosed} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				lim := NewResilient(store, ResilientOptions{Timeout: 50 * time.Millisecond, Mode: mode, Logger: slog.New(&logRecorder{})})
				checkMode(t, mode, lim)
			})
		}
	}
}
