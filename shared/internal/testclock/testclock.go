// Package testclock is an injectable clock for tests: it stands still until
// the test advances it, so time-dependent behaviour is asserted exactly
// instead of by sleeping.
//
// Every test that pins a calendar instant takes it from Epoch, never from a
// literal date. make test runs the packages that use this package once more
// with CALLSIGN_TEST_EPOCH set far in the past and far in the future: a test
// whose fixed instant meets the real clock (a context deadline, a timer, a
// JWT library's own time check, a TTL cache on time.Now) then fails on the
// day it is written rather than on the day its date goes by.
package testclock

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// EpochEnv names the variable that moves Epoch; its value is RFC 3339.
const EpochEnv = "CALLSIGN_TEST_EPOCH"

// DefaultEpoch is Epoch when EpochEnv is unset: an arbitrary instant with
// nothing to do with the day the tests run.
var DefaultEpoch = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Epoch returns the fixed instant tests start their clocks at:
// DefaultEpoch, or the instant in CALLSIGN_TEST_EPOCH. It panics on a
// malformed value, since every test using it would be meaningless.
func Epoch() time.Time {
	v := os.Getenv(EpochEnv)
	if v == "" {
		return DefaultEpoch
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic(fmt.Sprintf("testclock: %s=%q is not RFC 3339: %v", EpochEnv, v, err))
	}
	return t.UTC()
}

// Clock is a manually advanced clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// AtEpoch returns a Clock standing at Epoch().
func AtEpoch() *Clock { return New(Epoch()) }

// Now returns the clock's current time; pass the method value as a
// func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
