package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/metrics/emfcheck"
)

// checkFigures validates every EMF line of the redaction flow against the
// specification and checks the figures it must contain.
func checkFigures(t *testing.T, text string) {
	t.Helper()
	got, err := emfcheck.Lines([]byte(text))
	if err != nil {
		t.Fatalf("EMF: %v", err)
	}
	sum := map[string]float64{}
	for _, m := range got {
		d := m.Dimensions[0]
		if m.Namespace != metrics.Namespace || d["stage"] != "local" || d["function"] != "callsign-dev-usersig" {
			t.Errorf("metric %+v: wrong namespace or dimensions", m)
		}
		for _, v := range m.Values {
			if m.Unit == string(metrics.Count) {
				sum[d["operation"]+"/"+d["outcome"]+"/"+m.Name] += v
			} else {
				sum[d["operation"]+"/"+d["outcome"]+"/"+m.Name+"#"]++
			}
		}
	}
	for key, want := range map[string]float64{
		"session/ok/Requests":                         1,
		"usersig/ok/Requests":                         1,
		"usersig/unauthenticated/Requests":            1,
		"session/unauthenticated/Requests":            1,
		"call.create/ok/Requests":                     1,
		"call.join/ok/Requests":                       1,
		"callback.trtc/ok/Requests":                   1,
		"callback.trtc/unauthenticated/Requests":      1,
		"usersig/ok/Latency#":                         1,
		"session/sessiontoken/CredentialsIssued":      1,
		"session/usersig/CredentialsIssued":           1,
		"usersig/usersig/CredentialsIssued":           1,
		"call.create/privatemapkey/CredentialsIssued": 1,
		"call.create/calltoken/CredentialsIssued":     1,
		"call.join/privatemapkey/CredentialsIssued":   1,
		"callback.trtc/not_invited/CallbackVerdicts":  1,
		"secret.fetch/ok/SecretRefreshes":             1,
		"secret.fetch/ok/SecretStoreLatency#":         1,
	} {
		if sum[key] != want {
			t.Errorf("%s = %v, want %v", key, sum[key], want)
		}
	}
}

// checkTrail checks the audit lines among the logs: one per credential and
// per verdict.
func checkTrail(t *testing.T, text string) {
	t.Helper()
	var got []string
	for line := range strings.Lines(text) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if ev["log"] != "audit" {
			continue
		}
		if ev["msg"] != "audit" || ev["platform"] != app.PlatformLambda || ev["requestID"] == nil {
			t.Errorf("audit line without its context: %s", line)
		}
		got = append(got, fmt.Sprint(ev["action"], ":", ev["kind"], ev["verdict"], ":", ev["userID"], ":", ev["provider"]))
	}
	want := []string{
		"issue:sessiontoken<nil>:wx_oOPENID-alice:wechat",
		"issue:usersig<nil>:wx_oOPENID-alice:wechat",
		"issue:usersig<nil>:wx_oOPENID-alice:session",
		"issue:privatemapkey<nil>:wx_oOPENID-alice:session",
		"issue:calltoken<nil>:wx_oOPENID-alice:session",
		"issue:privatemapkey<nil>:wx_oBOB:cloudbase",
		"verdict:<nil>not_invited:mallory:<nil>",
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLocalMetricsPage: the local server keeps the counters and serves
// them at GET /debug/metrics to loopback peers only.
func TestLocalMetricsPage(t *testing.T) {
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE": "local", "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey,
		"CALLSIGN_VERIFIERS": "gateway", "CALLSIGN_USER_ID_MODE": "raw",
	})
	var trail testlog.Buffer
	// An ERROR-level logger: the audit lines are written anyway.
	logger := slog.New(slog.NewJSONHandler(&trail, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLocal, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if rec := gatewayUserSig(a, "alice"); rec.Code != 200 {
			t.Fatalf("usersig: %d %s", rec.Code, rec.Body)
		}
	}
	page := func(remote, host string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/debug/metrics", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		return rec
	}
	rec := page("127.0.0.1:5000", "localhost:8080")
	var got map[string]float64
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != 200 || err != nil {
		t.Fatalf("metrics page: %d %v %s", rec.Code, err, rec.Body)
	}
	if got["usersig/ok/Requests"] != 2 || got["usersig/usersig/CredentialsIssued"] != 2 || got["usersig/ok/LatencyCount"] != 2 {
		t.Errorf("counters = %v", got)
	}
	for _, peer := range [][2]string{{"192.0.2.1:5000", "localhost:8080"}, {"127.0.0.1:5000", "callsign.example:8080"}} {
		if rec := page(peer[0], peer[1]); rec.Code != 404 {
			t.Errorf("metrics page from %s to %s: %d, want 404", peer[0], peer[1], rec.Code)
		}
	}
	if n := strings.Count(trail.String(), `"action":"issue","kind":"usersig","userID":"alice","provider":"gateway"`); n != 2 {
		t.Errorf("%d usersig audit lines, want 2:\n%s", n, trail.String())
	}
}
