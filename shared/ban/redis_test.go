//go:build !callsign.noredis

package ban

import (
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// testRedisOptions configure the tests' client, built by the constructor
// the app gives the ban store (ratelimit's), with the test settings of
// shared/ratelimit and the app tests: 10 s read and write timeouts, so that
// only a hang fails a command on a loaded test machine, and no retry, which
// would re-run a command after a timed-out read.
var testRedisOptions = ratelimit.RedisOptions{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxRetries: -1}

// redisStore returns a Redis store on the redis-server at url with keys
// under prefix. Builds without Redis (callsign.noredis) skip the test
// instead.
func redisStore(t *testing.T, url, prefix string, now func() time.Time) Store {
	t.Helper()
	client, err := testRedisOptions.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return NewRedis(client, prefix, now)
}
