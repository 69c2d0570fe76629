// Package ratelimit decides whether a request may proceed under a per-key
// rate and burst. Keys are per verified user and per operation (for example
// "usersig:<userID>"), or per client IP for failed authentication.
//
// Backends (memory, Redis, DynamoDB) implement the same GCRA / token-bucket
// semantics: Policy{Rate: 5, Period: time.Minute, Burst: 5} gives five
// immediate allows, then denies the sixth with RetryAfter 12s and ResetAfter 60s.
//
// The build tag callsign.noredis leaves the Redis backend (and go-redis)
// out.
package ratelimit

import (
	"context"
	"time"
)

// Policy is a rate of Rate events per Period with bursts of up to Burst.
type Policy struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Interval is the emission interval, Period/Rate: the time one token takes
// to refill.
func (p Policy) Interval() time.Duration {
	if p.Rate <= 0 {
		return 0
	}
	return p.Period / time.Duration(p.Rate)
}

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Limit is the policy's burst, for the RateLimit-Limit header.
	Limit int
	// Remaining is how many more requests would be allowed right now. It is
	// advisory (header only); never base a decision on it.
	Remaining int
	// RetryAfter is how long until one request would be allowed; > 0 only
	// when denied.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// Limiter makes rate-limit decisions. Implementations are safe for
// concurrent use and never block past ctx's deadline.
type Limiter interface {
	Allow(ctx context.Context, key string, p Policy) (Decision, error)
}
