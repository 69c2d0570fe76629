//go:build callsign.noredis

package ratelimit

import "testing"

// redisLimiter skips the test: this build has no Redis limiter.
func redisLimiter(tb testing.TB, _, _ string) Limiter {
	tb.Helper()
	requireRedis(tb)
	return nil
}

// requireRedis skips the test: this build has no Redis limiter.
func requireRedis(tb testing.TB) {
	tb.Helper()
	tb.Skip("built without Redis (build tag callsign.noredis)")
}
