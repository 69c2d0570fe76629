package ratelimit

import "time"

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, as the
// Retry-After header and the callFunction retryAfterSeconds field carry it:
// 0 when the request was allowed, at least 1 when it was denied (a client
// told "retry after 0 seconds" would retry at once and be denied again).
func (d Decision) RetryAfterSeconds() int {
	if d.Allowed {
		return 0
	}
	return max(ceilSeconds(d.RetryAfter), 1)
}

// ResetAfterSeconds is ResetAfter rounded up to whole seconds (never
// negative), for a RateLimit-Reset header.
func (d Decision) ResetAfterSeconds() int {
	return ceilSeconds(d.ResetAfter)
}

// ceilSeconds rounds d up to whole seconds; non-positive d gives 0.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int(s)
}
