//go:build !callsign.noredis

package ban

import (
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// redisStore returns a Redis store on the redis-server at url with keys
// under prefix. Builds without Redis (callsign.noredis) skip the test
// instead.
func redisStore(t *testing.T, url, prefix string, now func() time.Time) Store {
	t.Helper()
	client, err := ratelimit.NewRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return NewRedis(client, prefix, now)
}
