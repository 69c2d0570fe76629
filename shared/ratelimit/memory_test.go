package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryEvictionIsLossless drives 10 000 keys through an evicting
// limiter and a reference that never evicts, and requires identical
// decisions while idle keys are evicted.
func TestMemoryEvictionIsLossless(t *testing.T) {
	const keys = 10_000
	p := Policy{Rate: 5, Period: time.Minute, Burst: 5} // window 60s
	clk := newFakeClock()
	evicting := NewMemory(MemoryOptions{Now: clk.Now, MaxKeys: 2 * keys})
	reference := NewMemory(MemoryOptions{Now: clk.Now, MaxKeys: 2 * keys})
	reference.noSweep = true

	both := func(key string) {
		t.Helper()
		got, err := evicting.Allow(context.Background(), key, p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := reference.Allow(context.Background(), key, p)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("key %s at %v: evicting limiter decided %+v, reference %+v", key, clk.Now(), got, want)
		}
	}
	key := func(i int) string { return fmt.Sprintf("usersig:u%05d", i) }

	// Key i takes i%6 tokens (0..5; 5 empties the bucket, 6 would be denied).
	for i := range keys {
		for range i % 6 {
			both(key(i))
		}
	}

	tests := []struct {
		advance time.Duration
		// wantLen is how many keys remain after one more decision on a
		// fresh key: the keys that are not yet full, plus that key.
		wantLen int
	}{
		// After 30s a key that took n tokens has 5-n+2.5: full iff n <= 2.
		// Keys with n = 0 were never created; n = 1 and 2 are evicted,
		// n = 3, 4, 5 (i%6 >= 3: 1667+1666+1666 keys) remain.
		{advance: 30 * time.Second, wantLen: 4999 + 1},
		// A full window after the last use every bucket is full: all
		// evicted but the new probe.
		{advance: 90 * time.Second, wantLen: 1},
	}
	for step, tc := range tests {
		clk.Advance(tc.advance)
		both(fmt.Sprintf("probe%d", step))
		if got := evicting.Len(); got != tc.wantLen {
			t.Fatalf("step %d: %d keys tracked, want %d", step, got, tc.wantLen)
		}
		if got := reference.Len(); got < keys*5/6 {
			t.Fatalf("step %d: reference tracks %d keys, want all", step, got)
		}
		// Every key decides as if nothing had been evicted; drain half of
		// them so the next step sees mixed states again.
		for i := range keys {
			if i%2 == 0 {
				both(key(i))
			}
		}
	}
}

// TestMemoryKeyCap fills the cap with non-full buckets: new keys are denied
// until a bucket is full again, existing keys are unaffected.
func TestMemoryKeyCap(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clk.Now, MaxKeys: 3})
	p := Policy{Rate: 5, Period: time.Minute, Burst: 5}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if d, _ := m.Allow(ctx, k, p); !d.Allowed {
			t.Fatalf("%s: %+v, want allowed", k, d)
		}
	}
	clk.Advance(time.Second)
	d, err := m.Allow(ctx, "d", p)
	if err != nil {
		t.Fatal(err)
	}
	// a, b, c each took one token at t0 and are full at t0+12s.
	want := Decision{Limit: 5, RetryAfter: 11 * time.Second, ResetAfter: 11 * time.Second}
	if d != want {
		t.Fatalf("new key over the cap: %+v, want %+v", d, want)
	}
	if d, _ := m.Allow(ctx, "a", p); !d.Allowed || d.Remaining != 3 {
		t.Fatalf("existing key at the cap: %+v, want allowed with Remaining 3", d)
	}
	clk.Advance(11 * time.Second) // b and c are full; a took a second token
	if d, _ := m.Allow(ctx, "d", p); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("new key after the sweep: %+v, want allowed with Remaining 4", d)
	}
	if got := m.Len(); got != 2 {
		t.Fatalf("%d keys tracked, want 2 (a and d)", got)
	}
}

// TestMemoryPolicyChange recreates a key's bucket when its policy changes.
func TestMemoryPolicyChange(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clk.Now})
	ctx := context.Background()
	small := Policy{Rate: 1, Period: time.Minute, Burst: 1}
	big := Policy{Rate: 10, Period: time.Minute, Burst: 10}
	if d, _ := m.Allow(ctx, "k", small); !d.Allowed {
		t.Fatalf("first: %+v", d)
	}
	if d, _ := m.Allow(ctx, "k", small); d.Allowed {
		t.Fatalf("second under the small policy: %+v, want denied", d)
	}
	if d, _ := m.Allow(ctx, "k", big); !d.Allowed || d.Remaining != 9 || d.Limit != 10 {
		t.Fatalf("under the new policy: %+v, want allowed, Remaining 9, Limit 10", d)
	}
}

// TestMemoryConcurrentExact: 50 goroutines × 20 calls on one key with burst
// 100 admit exactly 100.
func TestMemoryConcurrentExact(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clk.Now})
	p := Policy{Rate: 100, Period: time.Minute, Burst: 100}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				if d, err := m.Allow(context.Background(), "hot", p); err == nil && d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 100 {
		t.Fatalf("allowed %d, want exactly 100", got)
	}
}

// TestMemoryClockBackwards: a clock stepping back refills nothing and
// denies nothing it should not.
func TestMemoryClockBackwards(t *testing.T) {
	clk := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clk.Now})
	p := Policy{Rate: 1, Period: time.Minute, Burst: 2}
	ctx := context.Background()
	m.Allow(ctx, "k", p)
	m.Allow(ctx, "k", p)
	clk.Advance(-time.Hour)
	if d, _ := m.Allow(ctx, "k", p); d.Allowed {
		t.Fatalf("after the clock went back: %+v, want denied", d)
	}
}

func TestDecisionSeconds(t *testing.T) {
	tests := []struct {
		d           Decision
		retry, rset int
	}{
		{Decision{Allowed: true, ResetAfter: 12 * time.Second}, 0, 12},
		{Decision{RetryAfter: 12 * time.Second, ResetAfter: time.Minute}, 12, 60},
		{Decision{RetryAfter: 11*time.Second + time.Microsecond, ResetAfter: 1}, 12, 1},
		{Decision{RetryAfter: time.Millisecond}, 1, 0},
		{Decision{RetryAfter: 0}, 1, 0},
		{Decision{RetryAfter: -time.Second, ResetAfter: -time.Second}, 1, 0},
		{Decision{Allowed: true, RetryAfter: time.Hour}, 0, 0},
		{Decision{RetryAfter: time.Duration(1<<63 - 1)}, 9223372037, 0},
	}
	for _, tc := range tests {
		if got := tc.d.RetryAfterSeconds(); got != tc.retry {
			t.Errorf("%+v: RetryAfterSeconds = %d, want %d", tc.d, got, tc.retry)
		}
		if got := tc.d.ResetAfterSeconds(); got != tc.rset {
			t.Errorf("%+v: ResetAfterSeconds = %d, want %d", tc.d, got, tc.rset)
		}
	}
}
