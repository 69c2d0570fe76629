package metrics_test

import (
	"io"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/metrics"
)

// BenchmarkRequestFigures is what the API records for one UserSig request
// on Lambda: requests, latency and one credential, then the flush that
// writes them as one EMF line (to io.Discard).
func BenchmarkRequestFigures(b *testing.B) {
	l := metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: io.Discard, Stage: "prod", Function: "callsign-prod-usersig"})
	b.ReportAllocs()
	for b.Loop() {
		l.Count("usersig", "ok", metrics.Requests, 1)
		l.Time("usersig", "ok", metrics.Latency, 1234*time.Microsecond)
		l.Count("usersig", "usersig", metrics.CredentialsIssued, 1)
		l.Flush()
	}
}
