//go:build callsign.noredis

package ban

import (
	"testing"
	"time"
)

// redisStore skips the test: this build has no Redis store.
func redisStore(t *testing.T, _, _ string, _ func() time.Time) Store {
	t.Helper()
	t.Skip("built without Redis (build tag callsign.noredis)")
	return nil
}
