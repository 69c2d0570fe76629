package service

import (
	"strconv"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
)

func TestBlocklist(t *testing.T) {
	t0 := testclock.Epoch()
	var b blocklist
	if _, ok := b.blocked("a", t0); ok {
		t.Fatal("empty list blocks")
	}
	b.block("a", t0, 10*time.Second)
	b.block("zero", t0, 0)
	if left, ok := b.blocked("a", t0.Add(4*time.Second)); !ok || left != 6*time.Second {
		t.Fatalf("blocked(a) = %v, %v; want 6s, true", left, ok)
	}
	if _, ok := b.blocked("zero", t0); ok {
		t.Fatal("a zero duration blocked")
	}
	if _, ok := b.blocked("a", t0.Add(10*time.Second)); ok {
		t.Fatal("still blocked at the deadline")
	}
	if len(b.until) != 0 {
		t.Fatalf("expired entry kept: %v", b.until)
	}

	// Full: expired entries make room; live ones are never evicted.
	for i := range maxBlockedIPs {
		b.block(strconv.Itoa(i), t0, time.Minute)
	}
	b.block("late", t0, time.Minute)
	if _, ok := b.blocked("late", t0); ok {
		t.Fatal("listed past the cap while every entry is live")
	}
	if _, ok := b.blocked("0", t0.Add(59*time.Second)); !ok {
		t.Fatal("a live entry was evicted")
	}
	b.block("late", t0.Add(time.Minute), time.Minute)
	if _, ok := b.blocked("late", t0.Add(time.Minute)); !ok {
		t.Fatal("expired entries did not make room")
	}
	if len(b.until) != 1 {
		t.Fatalf("len = %d after purge, want 1", len(b.until))
	}
}
