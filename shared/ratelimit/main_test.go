package ratelimit

import (
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

// limitsTable is the DynamoDB table the tests create in dynalite.
const limitsTable = "callsign-test-limits"

// servers are the package's redis-server and dynalite, started on first use
// (a run of only unit tests or a fuzz worker starts nothing) and stopped
// after all tests.
var servers = teststore.Shared{Table: limitsTable}

func TestMain(m *testing.M) { os.Exit(servers.Main(m)) }

// sharedDynamoDB returns a client of the package's dynalite with the limits
// table created, skipping or failing the test when it cannot start.
func sharedDynamoDB(tb testing.TB) *dynamodb.Client { return servers.DynamoDB(tb) }

// uniquePrefix returns a store key prefix no other test (or earlier run
// against the same server) uses.
func uniquePrefix(tb testing.TB) string {
	return "test:" + tb.Name() + ":" + rand.Text()[:8] + ":"
}

// clock is the clock a limiter under test decides at: fakeClock moves
// instantly; for Redis, which decides at the server's time, it reads the
// server's TIME and Advance sleeps.
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
