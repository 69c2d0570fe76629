package metrics_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/metrics/emfcheck"
)

func newLines(t *testing.T, f metrics.Format, out *bytes.Buffer) (*metrics.Lines, *testclock.Clock) {
	t.Helper()
	clk := testclock.AtEpoch()
	return metrics.NewLines(metrics.LinesOptions{Format: f, Out: out, Stage: "prod", Function: "callsign-prod-usersig", Now: clk.Now}), clk
}

func TestEMFLine(t *testing.T) {
	var out bytes.Buffer
	l, clk := newLines(t, metrics.EMF, &out)
	l.Count("usersig", "ok", metrics.Requests, 1)
	l.Time("usersig", "ok", metrics.Latency, 12345*time.Microsecond)
	l.Count("usersig", "ok", metrics.CredentialsIssued, 1)
	l.Time(metrics.OpStoreRateLimit, metrics.OutcomeOK, metrics.StoreLatency, 2*time.Millisecond)
	l.Time(metrics.OpStoreRateLimit, metrics.OutcomeOK, metrics.StoreLatency, 3500*time.Microsecond)
	l.Flush()

	ms := clk.Now().UnixMilli()
	want := `{"_aws":{"Timestamp":` + itoa(ms) + `,"CloudWatchMetrics":[{"Namespace":"callsign","Dimensions":[["stage","function","operation","outcome"],["stage","operation","outcome"],["stage"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"},{"Name":"CredentialsIssued","Unit":"Count"}]}]},"stage":"prod","function":"callsign-prod-usersig","operation":"usersig","outcome":"ok","Requests":1,"Latency":12.345,"CredentialsIssued":1}` + "\n" +
		`{"_aws":{"Timestamp":` + itoa(ms) + `,"CloudWatchMetrics":[{"Namespace":"callsign","Dimensions":[["stage","function","operation","outcome"],["stage","operation","outcome"],["stage"]],"Metrics":[{"Name":"StoreLatency","Unit":"Milliseconds"}]}]},"stage":"prod","function":"callsign-prod-usersig","operation":"store.ratelimit","outcome":"ok","StoreLatency":[2,3.5]}` + "\n"
	if out.String() != want {
		t.Fatalf("lines:\n%s\nwant:\n%s", out.String(), want)
	}
	got, err := emfcheck.Lines(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[3].Name != metrics.StoreLatency || len(got[3].Values) != 2 || got[3].Dimensions[2]["stage"] != "prod" {
		t.Errorf("validated metrics = %+v", got)
	}

	// A flush with nothing new writes nothing; figures are not repeated.
	out.Reset()
	l.Flush()
	if out.Len() != 0 {
		t.Errorf("empty flush wrote %q", out.String())
	}
	l.Count("usersig", "rate_limited", metrics.RateLimitDenials, 1)
	l.Flush()
	if _, err := emfcheck.Lines(out.Bytes()); err != nil || strings.Count(out.String(), "\n") != 1 || strings.Contains(out.String(), "Latency") {
		t.Errorf("second flush: %v\n%s", err, out.String())
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestEMFFullTiming: a timing reaching 100 values is written at once, so
// no member ever holds more than the specification allows.
func TestEMFFullTiming(t *testing.T) {
	var out bytes.Buffer
	l, _ := newLines(t, metrics.EMF, &out)
	for i := range 250 {
		l.Time(metrics.OpSecretFetch, metrics.OutcomeOK, metrics.SecretStoreLatency, time.Duration(i)*time.Millisecond)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("%d lines before Flush, want 2", n)
	}
	l.Flush()
	got, err := emfcheck.Lines(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, m := range got {
		sizes = append(sizes, len(m.Values))
	}
	if len(sizes) != 3 || sizes[0] != 100 || sizes[1] != 100 || sizes[2] != 50 {
		t.Errorf("values per line = %v, want [100 100 50]", sizes)
	}
}

func TestCLSLine(t *testing.T) {
	var out bytes.Buffer
	l, clk := newLines(t, metrics.CLS, &out)
	l.Count("callback.trtc", "not_invited", metrics.CallbackVerdicts, 2)
	l.Time("usersig", "ok", metrics.Latency, 4*time.Millisecond)
	l.Time("usersig", "ok", metrics.Latency, 10*time.Millisecond)
	l.Flush()
	ms := itoa(clk.Now().UnixMilli())
	want := `{"metrics":"callsign","timestamp":` + ms + `,"stage":"prod","function":"callsign-prod-usersig","operation":"callback.trtc","outcome":"not_invited","CallbackVerdicts":2}` + "\n" +
		`{"metrics":"callsign","timestamp":` + ms + `,"stage":"prod","function":"callsign-prod-usersig","operation":"usersig","outcome":"ok","LatencyCount":2,"LatencySum":14,"LatencyMax":10}` + "\n"
	if out.String() != want {
		t.Fatalf("lines:\n%s\nwant:\n%s", out.String(), want)
	}
	for line := range strings.Lines(out.String()) {
		if !json.Valid([]byte(line)) {
			t.Errorf("not JSON: %s", line)
		}
	}
}

// TestCollect: figures read from elsewhere are added at flush time.
func TestCollect(t *testing.T) {
	var out bytes.Buffer
	n := 0.0
	l := metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: &out, Stage: "dev", Function: "f", Now: testclock.AtEpoch().Now,
		Collect: func(r metrics.Recorder) { r.Count("ratelimit", "fallback", metrics.StoreFallbacks, n) }})
	n = 3
	l.Flush()
	got, err := emfcheck.Lines(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != metrics.StoreFallbacks || got[0].Values[0] != 3 {
		t.Errorf("metrics = %+v", got)
	}
}

// TestEscaping: an unusual stage name still gives valid JSON.
func TestEscaping(t *testing.T) {
	var out bytes.Buffer
	l := metrics.NewLines(metrics.LinesOptions{Format: metrics.EMF, Out: &out, Stage: `a"b\c<`, Function: "f", Now: testclock.AtEpoch().Now})
	l.Count("usersig", "ok", metrics.Requests, 1)
	l.Flush()
	got, err := emfcheck.Lines(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Dimensions[2]["stage"] != `a"b\c<` {
		t.Errorf("stage = %q", got[0].Dimensions[2]["stage"])
	}
}

func TestExpvar(t *testing.T) {
	e := metrics.NewExpvar(func(r metrics.Recorder) { r.Count("ratelimit", "fallback", metrics.StoreFallbacks, 0) })
	e.Count("usersig", "ok", metrics.Requests, 1)
	e.Count("usersig", "ok", metrics.Requests, 1)
	e.Time("usersig", "ok", metrics.Latency, 1500*time.Microsecond)
	if got := e.Get("usersig/ok/Requests"); got != 2 {
		t.Errorf("Requests = %v, want 2", got)
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/debug/metrics", nil))
	const wantBody = `{"ratelimit/fallback/StoreFallbacks": 0, "usersig/ok/LatencyCount": 1, "usersig/ok/LatencySumMs": 1.5, "usersig/ok/Requests": 2}`
	if w.Body.String() != wantBody || w.Header().Get("Content-Type") != "application/json; charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("served %s (%v), want %s", w.Body, w.Header(), wantBody)
	}
	var m map[string]float64
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	want := map[string]float64{"usersig/ok/Requests": 2, "usersig/ok/LatencyCount": 1, "usersig/ok/LatencySumMs": 1.5, "ratelimit/fallback/StoreFallbacks": 0}
	if len(m) != len(want) {
		t.Errorf("served %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

// TestDiscard: the no-op recorder accepts everything.
func TestDiscard(t *testing.T) {
	metrics.Discard.Count("a", "b", "c", 1)
	metrics.Discard.Time("a", "b", "c", time.Second)
}
