package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
)

// fakeClock is an injectable clock.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock {
	return testclock.AtEpoch()
}

// fakeSource is a Source whose answer the test sets. With a gate, Load
// blocks until the gate is closed or its context ends.
type fakeSource struct {
	mu      sync.Mutex
	calls   int
	val     Secret
	err     error
	panics  bool
	gate    chan struct{}
	started chan struct{}
	// deaf makes a gated Load ignore its context (a client without its
	// own deadline on a connection that never answers).
	deaf bool
}

func (f *fakeSource) Load(ctx context.Context) (Secret, error) {
	f.mu.Lock()
	f.calls++
	gate, started, val, err, panics, deaf := f.gate, f.started, f.val, f.err, f.panics, f.deaf
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if gate != nil && deaf {
		<-gate
	} else if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Secret{}, fmt.Errorf("fake: %w", ctx.Err())
		}
	}
	if panics {
		panic("fake source panic " + testKey)
	}
	return val, err
}

func (f *fakeSource) set(val Secret, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.val, f.err = val, err
}

func (f *fakeSource) setGate(gate, started chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate, f.started = gate, started
}

func (f *fakeSource) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// logBuffer collects JSON log records; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the "level msg" of each record.
func (b *logBuffer) records(t *testing.T) []string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	assertNoSecrets(t, b.buf.String())
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad log line %q: %v", line, err)
		}
		out = append(out, r.Level+" "+r.Msg)
	}
	return out
}

var (
	key1 = Secret{SDKAppID: testAppID, SecretKey: testKey}
	key2 = Secret{SDKAppID: testAppID, SecretKey: testPrevKey, PreviousSecretKey: testKey}
)

// newTestCache returns a Cache on clock whose refreshing Load waits for
// the fetch as long as the watchdog allows, so that a fake store's
// immediate answer is served deterministically by the Load that asked.
func newTestCache(src Source, clock *fakeClock, logs *logBuffer, check func(Secret) error) *Cache {
	return NewCache(src, CacheOptions{
		TTL:         10 * time.Minute,
		Now:         clock.Now,
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		Check:       check,
		RefreshWait: watchdog,
	})
}

// watchdog bounds every wait in these tests: exceeding it is a hang,
// reported as a failure instead of blocking the test binary.
const watchdog = 20 * time.Second

// mustLoad calls Load, fails on an error, and then waits for a background
// refresh that Load may have started, so that the next step sees its
// outcome (store calls, logs, the refreshed value).
func mustLoad(t *testing.T, c *Cache) Secret {
	t.Helper()
	s, err := loadGuarded(t, c, context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	awaitRefresh(t, c)
	return s
}

// loadGuarded calls c.Load and fails the test if it does not return
// within the watchdog.
func loadGuarded(t *testing.T, c *Cache, ctx context.Context) (Secret, error) {
	t.Helper()
	type result struct {
		s   Secret
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := c.Load(ctx)
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(watchdog):
		t.Fatalf("Load did not return within %s", watchdog)
		return Secret{}, nil
	}
}

// awaitRefresh waits until the fetch in flight, if any, has finished
// (including its log record).
func awaitRefresh(t *testing.T, c *Cache) {
	t.Helper()
	c.mu.Lock()
	f := c.flight
	c.mu.Unlock()
	if f == nil {
		return
	}
	select {
	case <-f.done:
	case <-time.After(watchdog):
		t.Fatalf("fetch did not finish within %s", watchdog)
	}
}

func TestCacheTTLAndRotation(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	c := newTestCache(src, clock, logs, nil)
	steps := []struct {
		advance   time.Duration
		setVal    *Secret
		want      Secret
		wantCalls int
	}{
		{want: key1, wantCalls: 1},
		{advance: time.Minute, want: key1, wantCalls: 1},
		{setVal: &key2, want: key1, wantCalls: 1}, // rotated in the store, cached here
		{advance: 9*time.Minute - time.Nanosecond, want: key1, wantCalls: 1},
		{advance: time.Nanosecond, want: key2, wantCalls: 2}, // TTL reached: picked up
		{advance: 5 * time.Minute, want: key2, wantCalls: 2},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if st.setVal != nil {
			src.set(*st.setVal, nil)
		}
		if got := mustLoad(t, c); got != st.want {
			t.Fatalf("step %d: got %v, want %v", i, fieldsOf(got), fieldsOf(st.want))
		}
		if n := src.count(); n != st.wantCalls {
			t.Fatalf("step %d: %d fetches, want %d", i, n, st.wantCalls)
		}
	}
	want := []string{"INFO secret: loaded", "INFO secret: rotated"}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

func TestCacheStaleOnError(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	c := newTestCache(src, clock, logs, nil)
	mustLoad(t, c)
	storeDown := &StoreError{Store: StoreAWSSecretsManager, Kind: ErrStoreFailure, Status: 503}
	src.set(Secret{}, storeDown)
	steps := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{advance: 10 * time.Minute, wantCalls: 2}, // expired: refresh fails, stale served
		{advance: 0, wantCalls: 2},                // backoff 1s: no store call
		{advance: time.Second, wantCalls: 3},      // retry, fails; backoff 2s
		{advance: time.Second, wantCalls: 3},      // still backing off
		{advance: time.Second, wantCalls: 4},      // retry; backoff 4s
		{advance: 4 * time.Second, wantCalls: 5},  // retry; backoff 8s
		{advance: 8 * time.Second, wantCalls: 6},  // retry; backoff 16s
		{advance: 16 * time.Second, wantCalls: 7}, // retry; backoff 30s (cap)
		{advance: 30 * time.Second, wantCalls: 8}, // retry; backoff 30s
		{advance: 29 * time.Second, wantCalls: 8}, // capped backoff holds
		{advance: time.Second, wantCalls: 9},      // retry
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if got := mustLoad(t, c); got != key1 {
			t.Fatalf("step %d: stale value not served", i)
		}
		if n := src.count(); n != st.wantCalls {
			t.Fatalf("step %d: %d fetches, want %d", i, n, st.wantCalls)
		}
	}
	// The store comes back.
	src.set(key2, nil)
	clock.Advance(30 * time.Second)
	if got := mustLoad(t, c); got != key2 {
		t.Fatalf("recovered value not served")
	}
	// Failures were logged once per minute: at the first failure (t=10m)
	// and at the first failure a minute or more later.
	want := []string{
		"INFO secret: loaded",
		"WARN secret: refresh failed; serving the cached secret",
		"WARN secret: refresh failed; serving the cached secret",
		"INFO secret: store recovered",
	}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q\nwant %q", got, want)
	}
}

func TestCacheFirstLoadFailureThenRecovery(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	notFound := &StoreError{Store: StoreTencentSSM, Kind: ErrNotFound, Code: "ResourceNotFound"}
	src := &fakeSource{err: notFound}
	c := newTestCache(src, clock, logs, nil)

	for i, advance := range []time.Duration{0, 500 * time.Millisecond} {
		clock.Advance(advance)
		s, err := c.Load(context.Background())
		if s != (Secret{}) {
			t.Fatalf("attempt %d: partial secret returned", i)
		}
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("attempt %d: error %v does not wrap ErrUnavailable and ErrNotFound", i, err)
		}
		if got, want := err.Error(), "secret: tencent-ssm: not found (code ResourceNotFound)"; got != want {
			t.Fatalf("attempt %d: error %q, want %q", i, got, want)
		}
		if n := src.count(); n != 1 {
			t.Fatalf("attempt %d: %d fetches, want 1 (backoff)", i, n)
		}
	}
	if err := c.Prime(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Prime during backoff = %v", err)
	}
	src.set(key1, nil)
	clock.Advance(500 * time.Millisecond)
	if err := c.Prime(context.Background()); err != nil {
		t.Fatalf("Prime after backoff: %v", err)
	}
	if got := mustLoad(t, c); got != key1 || src.count() != 2 {
		t.Fatalf("recovery: got %v after %d fetches", fieldsOf(got), src.count())
	}
	want := []string{"ERROR secret: load failed; requests answer unavailable until it succeeds", "INFO secret: loaded"}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

func TestCacheSingleFetchForConcurrentColdStart(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	src := &fakeSource{val: key1}
	src.setGate(gate, started)
	c := newTestCache(src, clock, logs, nil)

	const n = 100
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := c.Load(ctx)
			if err == nil && s != key1 {
				err = errors.New("wrong secret")
			}
			results <- err
		}()
	}
	<-started // the one fetch is running; callers pile up behind it
	close(gate)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
	}
	if got := src.count(); got != 1 {
		t.Fatalf("%d fetches for %d concurrent cold callers, want 1", got, n)
	}
}

func TestCacheWaiterDeadline(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	gate, started := make(chan struct{}), make(chan struct{}, 1)
	src := &fakeSource{val: key1}
	src.setGate(gate, started)
	c := newTestCache(src, clock, logs, nil)

	// No value yet: the caller's deadline ends its wait with an error.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Load(ctx)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load with expiring ctx = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	<-started
	close(gate) // the fetch carried on without the caller
	if got := mustLoad(t, c); got != key1 || src.count() != 1 {
		t.Fatalf("after release: %v, %d fetches", fieldsOf(got), src.count())
	}

	// With a cached value, a caller whose deadline ends during a refresh
	// gets the cached value.
	gate2 := make(chan struct{})
	src.setGate(gate2, started)
	src.set(key2, nil)
	clock.Advance(10 * time.Minute)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	got, err := c.Load(ctx2)
	if err != nil || got != key1 {
		t.Fatalf("Load during slow refresh = %v, %v; want the cached value", fieldsOf(got), err)
	}
	<-started
	close(gate2)
	awaitRefresh(t, c)
	if got := mustLoad(t, c); got != key2 {
		t.Fatalf("refreshed value not served")
	}
}

func TestCacheFetchTimeout(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	src.setGate(make(chan struct{}), nil) // never released: only the fetch timeout ends it
	c := NewCache(src, CacheOptions{Now: clock.Now, Logger: slog.New(slog.NewJSONHandler(logs, nil)), FetchTimeout: 20 * time.Millisecond})
	_, err := c.Load(context.Background())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Load = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
}

// TestCacheServesCachedValueWhileStoreHangs: once a value is cached, a
// hung store delays no request beyond RefreshWait. The Load that starts the
// refresh waits RefreshWait, every other Load returns the cached value at
// once, exactly one background refresh waits on the store, and the
// refreshed value is served once the store answers.
func TestCacheServesCachedValueWhileStoreHangs(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	// A fetch timeout far beyond the watchdog: a Load that waited for the
	// refresh would be reported as hung.
	c := NewCache(src, CacheOptions{TTL: 10 * time.Minute, Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), FetchTimeout: time.Hour, RefreshWait: 10 * time.Millisecond})
	mustLoad(t, c)

	gate, started := make(chan struct{}), make(chan struct{}, 1)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	src.setGate(gate, started)
	src.set(key2, nil)
	clock.Advance(10 * time.Minute)
	for i := range 20 {
		clock.Advance(3 * time.Second) // 20 requests over a minute
		got, err := loadGuarded(t, c, context.Background())
		if err != nil || got != key1 {
			t.Fatalf("request %d during the refresh = %v, %v; want the cached value", i, fieldsOf(got), err)
		}
	}
	<-started
	if n := src.count(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the first load and exactly one refresh)", n)
	}
	close(gate) // the store answers
	awaitRefresh(t, c)
	if got := mustLoad(t, c); got != key2 || src.count() != 2 {
		t.Fatalf("after the refresh: %v after %d fetches, want the new value after 2", fieldsOf(got), src.count())
	}
	want := []string{"INFO secret: loaded", "INFO secret: rotated"}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

// TestCacheRefreshWait: the Load that starts a refresh of an expired value
// gets the fetched value when the store answers within RefreshWait (on
// Lambda and SCF the instance freezes when the invocation returns, so the
// refresh must not depend on a later invocation); with a negative
// RefreshWait it gets the cached value and the refresh completes in the
// background.
func TestCacheRefreshWait(t *testing.T) {
	tests := []struct {
		name        string
		refreshWait time.Duration
		want        Secret
	}{
		{name: "waits", refreshWait: watchdog, want: key2},
		{name: "never waits", refreshWait: -1, want: key1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock, logs := newFakeClock(), &logBuffer{}
			src := &fakeSource{val: key1}
			c := NewCache(src, CacheOptions{TTL: 10 * time.Minute, Now: clock.Now,
				Logger: slog.New(slog.NewJSONHandler(logs, nil)), RefreshWait: tt.refreshWait})
			mustLoad(t, c)
			gate, started := make(chan struct{}), make(chan struct{}, 1)
			src.setGate(gate, started)
			src.set(key2, nil)
			clock.Advance(10 * time.Minute)
			go func() { <-started; close(gate) }() // the store answers once asked
			got, err := loadGuarded(t, c, context.Background())
			if err != nil || got != tt.want {
				t.Fatalf("Load at expiry = %v, %v; want %v", fieldsOf(got), err, fieldsOf(tt.want))
			}
			awaitRefresh(t, c)
			if got := mustLoad(t, c); got != key2 || src.count() != 2 {
				t.Fatalf("after the refresh: %v after %d fetches", fieldsOf(got), src.count())
			}
		})
	}
}

// TestCacheColdStartHungStore: without a cached value, a store that never
// answers (and a source that ignores its context) still ends the wait
// after FetchTimeout with an error wrapping ErrUnavailable (the API's 503);
// calls during the following backoff get the error at once.
func TestCacheColdStartHungStore(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	gate := make(chan struct{})
	t.Cleanup(func() { close(gate) })
	src := &fakeSource{val: key1, gate: gate, deaf: true}
	c := NewCache(src, CacheOptions{Now: clock.Now, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		FetchTimeout: 50 * time.Millisecond})
	for i := range 2 {
		s, err := loadGuarded(t, c, context.Background())
		if s != (Secret{}) {
			t.Fatalf("call %d: partial secret returned", i)
		}
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call %d: %v, want ErrUnavailable, ErrTimeout and DeadlineExceeded", i, err)
		}
		if got, want := err.Error(), "secret: unavailable: secret: timed out: the store did not answer within 50ms: context deadline exceeded"; got != want {
			t.Fatalf("call %d: error %q, want %q", i, got, want)
		}
		if n := src.count(); n != 1 {
			t.Fatalf("call %d: %d fetches, want 1 (backoff)", i, n)
		}
	}
	want := []string{"ERROR secret: load failed; requests answer unavailable until it succeeds"}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

func TestCacheSelfCheck(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	// A careless check that quotes the key: the cache must scrub it.
	check := func(s Secret) error {
		if s.SecretKey == testPrevKey {
			return fmt.Errorf("usersig verify failed with key %s", s.SecretKey)
		}
		return nil
	}
	c := newTestCache(src, clock, logs, check)
	if got := mustLoad(t, c); got != key1 {
		t.Fatalf("good secret not served")
	}
	// The store now holds a secret the check refuses: keep the old one.
	src.set(key2, nil)
	clock.Advance(10 * time.Minute)
	if got := mustLoad(t, c); got != key1 {
		t.Fatalf("refused secret replaced the cached one")
	}
	// A fresh cache (cold start) with the bad secret refuses to serve.
	cold := newTestCache(src, clock, logs, check)
	s, err := cold.Load(context.Background())
	if s != (Secret{}) {
		t.Fatalf("refused secret returned")
	}
	if !errors.Is(err, ErrCheckFailed) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v does not wrap ErrCheckFailed and ErrUnavailable", err)
	}
	if got, want := err.Error(), "secret: fetched secret refused by self-check: usersig verify failed with key [REDACTED]"; got != want {
		t.Fatalf("error = %q, want %q", got, want)
	}
	want := []string{
		"INFO secret: loaded",
		"ERROR secret: fetched secret failed the self-check and was refused",
		"ERROR secret: fetched secret failed the self-check and was refused",
	}
	if got := logs.records(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logs = %q, want %q", got, want)
	}
}

func TestCacheInvalidate(t *testing.T) {
	clock, logs := newFakeClock(), &logBuffer{}
	src := &fakeSource{val: key1}
	c := newTestCache(src, clock, logs, nil)
	mustLoad(t, c)
	src.set(key2, nil)
	c.Invalidate()
	if got := mustLoad(t, c); got != key2 || src.count() != 2 {
		t.Fatalf("after Invalidate: %v after %d fetches", fieldsOf(got), src.count())
	}
	// Invalidate during a failure backoff does not bypass the backoff.
	src.set(Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrThrottled})
	c.Invalidate()
	mustLoad(t, c) // fails, serves key2, backs off
	c.Invalidate()
	if got := mustLoad(t, c); got != key2 || src.count() != 3 {
		t.Fatalf("Invalidate bypassed the backoff: %d fetches", src.count())
	}
}

func TestCacheRefusesBadSources(t *testing.T) {
	tests := []struct {
		name    string
		src     *fakeSource
		wantErr string
	}{
		{name: "incomplete secret", src: &fakeSource{val: Secret{SecretKey: testKey}},
			wantErr: "secret: unavailable: source returned an incomplete secret: secret: invalid value: no SDKAppID: put sdkAppID in the secret or configure the SDKAppID"},
		{name: "panic", src: &fakeSource{panics: true}, wantErr: "secret: unavailable: secret source or check panicked"},
		{name: "plain error", src: &fakeSource{err: errors.New("boom")}, wantErr: "secret: unavailable: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			c := newTestCache(tt.src, newFakeClock(), logs, nil)
			s, err := c.Load(context.Background())
			if s != (Secret{}) || err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Load = %v, %v; want error %q", fieldsOf(s), err, tt.wantErr)
			}
			logs.records(t) // no secret in the logs
		})
	}
}

func TestStatic(t *testing.T) {
	tests := []struct {
		name    string
		s       Secret
		wantErr string
	}{
		{name: "complete", s: key2},
		{name: "no key", s: Secret{SDKAppID: testAppID}, wantErr: "secret: unavailable: env source: secret: invalid value: secretKey is missing"},
		{name: "one-byte token key", s: Secret{SDKAppID: testAppID, SecretKey: testKey, TokenKey: "a"}, wantErr: "secret: unavailable: env source: secret: invalid value: tokenKey must be at least 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Static(tt.s).Load(context.Background())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("Load error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.s {
				t.Fatalf("Load = %v, %v", fieldsOf(got), err)
			}
		})
	}
}

func BenchmarkCacheLoadHit(b *testing.B) {
	c := NewCache(Static(key1), CacheOptions{Logger: slog.New(slog.DiscardHandler)})
	if err := c.Prime(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Load(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCacheColdFetch(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := NewCache(Static(key1), CacheOptions{Logger: slog.New(slog.DiscardHandler)})
		if _, err := c.Load(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	v := `{"sdkAppID":1400000000,"secretKey":"` + testKey + `","previousSecretKey":"` + testPrevKey + `","tokenKey":"` + testTokenKey + `"}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(v, 0); err != nil {
			b.Fatal(err)
		}
	}
}
