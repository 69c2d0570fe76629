package teststore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
)

// Shared is one package's redis-server and dynalite, shared by all its
// tests. Each starts on first use, so a run of only unit tests (or a fuzz
// worker) starts nothing, and Main stops both after the last test.
//
//	var servers = teststore.Shared{Table: "callsign-test-limits"}
//
//	func TestMain(m *testing.M) { os.Exit(servers.Main(m)) }
type Shared struct {
	// Table is created in dynalite, in the rate-limit layout, when dynalite
	// starts; empty creates none.
	Table string

	redisOnce, dynaOnce sync.Once
	redis, dyna         *Server
	redisErr, dynaErr   error
}

// Main runs the tests and then stops the servers that started. It returns
// the exit code: m.Run's, or 1 when a server failed to stop.
func (s *Shared) Main(m *testing.M) int {
	code := m.Run()
	for _, srv := range []*Server{s.redis, s.dyna} {
		if srv == nil {
			continue
		}
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// RedisURL returns the URL of the package's redis-server for test clients
// (the package-level RedisURL), skipping or failing the test (SkipOrFail)
// when it cannot start.
func (s *Shared) RedisURL(tb testing.TB) string {
	tb.Helper()
	s.redisOnce.Do(func() { s.redis, s.redisErr = StartRedisServer() })
	if s.redisErr != nil {
		SkipOrFail(tb, s.redisErr)
	}
	return RedisURL(s.redis.Addr)
}

// DynamoDB returns a client of the package's dynalite with Table created,
// skipping or failing the test (SkipOrFail) when it cannot start.
func (s *Shared) DynamoDB(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	s.dynaOnce.Do(func() {
		s.dyna, s.dynaErr = StartDynaliteServer()
		if s.dynaErr != nil || s.Table == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s.dynaErr = CreateLimitsTable(ctx, DynamoDBClient(s.dyna.URL), s.Table)
	})
	if s.dynaErr != nil {
		SkipOrFail(tb, s.dynaErr)
	}
	return DynamoDBClient(s.dyna.URL)
}
