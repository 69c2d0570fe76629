//go:build callsign.noredis

package ratelimit

import "testing"

// redisLimiter skips the test: this build has no Redis limiter.
func redisLimiter(tb testing.TB, _, _ string) Limiter {
	tb.Helper()
	requireRedis(tb)
	return nil
}

// redisSuiteLimiter skips the test: this build has no Redis limiter.
func redisSuiteLimiter(tb testing.TB) (Limiter, clock) {
	tb.Helper()
	requireRedis(tb)
	return nil, nil
}

// requireRedis skips the test: this build has no Redis limiter.
func requireRedis(tb testing.TB) {
	tb.Helper()
	tb.Skip("built without Redis (build tag callsign.noredis)")
}
