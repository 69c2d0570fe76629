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

// BenchmarkUserSigRequestObserved is BenchmarkUserSigRequest with the
// Lambda observability on: the request's figures aggregated and flushed as
// EMF lines, and its audit line, all to io.Discard. Compare the two with
// benchstat to see what observability costs per request.
func BenchmarkUserSigRequestObserved(b *testing.B) {
	e := newEnv(b, envConfig{
		svc: func(o *service.Options) {
			o.Policies = ratelimit.Policies{ratelimit.OpUserSig: {Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}}
		},
		api: func(o *api.Options) {
			o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			o.Metrics = metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: io.Discard, Stage: "prod", Function: "callsign-prod-usersig"})
			o.Audit = audit.New(o.Logger.Handler(), nil)
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
