//go:build callsign.noredis

package callrecord

import (
	"testing"
	"time"
)

// redisStore skips the test: this build has no Redis store.
func redisStore(tb testing.TB, _ string, _ func() time.Time) Store {
	tb.Helper()
	tb.Skip("built without Redis (build tag callsign.noredis)")
	return nil
}
