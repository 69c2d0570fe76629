package api_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/service"
)

// BenchmarkUserSigRequest measures one full POST /v1/usersig through the
// handler: routing, body decoding, the dev verifier, a memory-limiter
// decision, the cached secret and Signer, signing, JSON encoding and the
// JSON access log line (to io.Discard).
func BenchmarkUserSigRequest(b *testing.B) {
	e := newEnv(b, envConfig{
		svc: func(o *service.Options) {
			o.Policies = ratelimit.Policies{ratelimit.OpUserSig: {Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}}
		},
		api: func(o *api.Options) {
			o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
		},
	})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/usersig", strings.NewReader(`{"ttlSeconds":3600}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Callsign-User", "alice")
		r.RemoteAddr = "192.0.2.10:41000"
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserSigRequestMetrics is BenchmarkUserSigRequest with the
// Lambda figures on: requests, latency and the credential aggregated and
// flushed as EMF lines (to io.Discard) at the end of the request. Compare
// the two with benchstat to see what emitting metrics costs per request.
func BenchmarkUserSigRequestMetrics(b *testing.B) {
	benchObserved(b, func(o *api.Options) {
		o.Metrics = metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: io.Discard, Stage: "prod", Function: "callsign-prod-usersig"})
	})
}

// BenchmarkUserSigRequestAudited adds the audit line (JSON, to io.Discard)
// to BenchmarkUserSigRequestMetrics: everything a Lambda request writes.
func BenchmarkUserSigRequestAudited(b *testing.B) {
	benchObserved(b, func(o *api.Options) {
		o.Metrics = metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: io.Discard, Stage: "prod", Function: "callsign-prod-usersig"})
		o.Audit = audit.New(o.Logger.Handler(), nil)
	})
}

// benchObserved runs BenchmarkUserSigRequest's request with observe
// applied to the API options.
func benchObserved(b *testing.B, observe func(*api.Options)) {
	e := newEnv(b, envConfig{
		svc: func(o *service.Options) {
			o.Policies = ratelimit.Policies{ratelimit.OpUserSig: {Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}}
		},
		api: func(o *api.Options) {
			o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			observe(o)
		},
	})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/usersig", strings.NewReader(`{"ttlSeconds":3600}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Callsign-User", "alice")
		r.RemoteAddr = "192.0.2.10:41000"
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
