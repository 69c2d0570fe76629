package ratelimit

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

// limitsTable is the DynamoDB table the tests create in dynalite.
const limitsTable = "callsign-test-limits"

// servers holds the redis-server and dynalite shared by this package's
// tests. They start on first use (a run of only unit tests or a fuzz worker
// starts nothing) and TestMain stops them after all tests.
var servers struct {
	redisOnce, dynaOnce sync.Once
	redis, dyna         *teststore.Server
	redisErr, dynaErr   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range []*teststore.Server{servers.redis, servers.dyna} {
		if s == nil {
			continue
		}
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedRedis returns a client of the package's redis-server, skipping or
// failing the test (teststore.SkipOrFail) when it cannot start.
func sharedRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	servers.redisOnce.Do(func() { servers.redis, servers.redisErr = teststore.StartRedisServer() })
	if servers.redisErr != nil {
		teststore.SkipOrFail(tb, servers.redisErr)
	}
	client, err := NewRedisClient(servers.redis.URL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// sharedDynamoDB returns a client of the package's dynalite with the limits
// table created, skipping or failing the test when it cannot start.
func sharedDynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	servers.dynaOnce.Do(func() {
		servers.dyna, servers.dynaErr = teststore.StartDynaliteServer()
		if servers.dynaErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		servers.dynaErr = teststore.CreateLimitsTable(ctx, teststore.DynamoDBClient(servers.dyna.URL), limitsTable)
	})
	if servers.dynaErr != nil {
		teststore.SkipOrFail(tb, servers.dynaErr)
	}
	return teststore.DynamoDBClient(servers.dyna.URL)
}

// uniquePrefix returns a store key prefix no other test (or earlier run
// against the same server) uses.
func uniquePrefix(tb testing.TB) string {
	return "test:" + tb.Name() + ":" + rand.Text()[:8] + ":"
}

// clock is a test clock: fakeClock moves instantly, realClock sleeps (for
// Redis, which decides at the server's time).
type clock interface {
	Now() time.Time
	Advance(d time.Duration)
}

// fakeClock is an injectable clock advanced by hand.
type fakeClock = testclock.Clock

// newFakeClock starts at a fixed instant.
func newFakeClock() *fakeClock {
	return testclock.AtEpoch()
}

// realClock is the wall clock; Advance sleeps.
type realClock struct{}

func (realClock) Now() time.Time          { return time.Now() }
func (realClock) Advance(d time.Duration) { time.Sleep(d) }
