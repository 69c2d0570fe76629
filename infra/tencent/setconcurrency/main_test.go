package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun: the request names the function and reserves concurrency ×
// memory, signed with TC3; bad input stops before any request.
func TestRun(t *testing.T) {
	var got []map[string]any
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var params map[string]any
		_ = json.Unmarshal(body, &params)
		params["action"] = r.Header.Get("X-TC-Action")
		params["version"] = r.Header.Get("X-TC-Version")
		got = append(got, params)
		auth = append(auth, r.Header.Get("Authorization"))
		io.WriteString(w, `{"Response":{"RequestId":"r-1"}}`)
	}))
	defer srv.Close()
	env := map[string]string{"TENCENTCLOUD_SECRETID": "AKIDtest", "TENCENTCLOUD_SECRETKEY": "test-secret-key"}
	getenv := func(k string) string { return env[k] }
	file := filepath.Join("..", "prod", "concurrency.json")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want map[string]any
	}{
		{"web", []string{"-file", file, "-function", "web", "-endpoint", srv.URL}, 0,
			map[string]any{"action": "PutReservedConcurrencyConfig", "version": "2018-04-16", "FunctionName": "callsign-web-prod", "Namespace": "default", "ReservedConcurrencyMem": float64(50 * 256)}},
		{"event", []string{"-file", file, "-function", "event", "-namespace", "callsign-prod-1a2b3c", "-endpoint", srv.URL}, 0,
			map[string]any{"action": "PutReservedConcurrencyConfig", "version": "2018-04-16", "FunctionName": "callsign", "Namespace": "callsign-prod-1a2b3c", "ReservedConcurrencyMem": float64(50 * 256)}},
		{"event without namespace", []string{"-file", file, "-function", "event", "-endpoint", srv.URL}, 2, nil},
		{"unknown function", []string{"-file", file, "-function", "other", "-endpoint", srv.URL}, 2, nil},
		{"missing file", []string{"-file", "nope.json", "-function", "web", "-endpoint", srv.URL}, 2, nil},
		{"bad endpoint", []string{"-file", file, "-function", "web", "-endpoint", "scf.example"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, auth = nil, nil
			var out, errOut strings.Builder
			if code := run(tc.args, getenv, &out, &errOut); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut.String())
			}
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("%d requests sent, want none", len(got))
				}
				return
			}
			if len(got) != 1 || len(got[0]) != len(tc.want) {
				t.Fatalf("requests %v, want one %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[0][k] != v {
					t.Errorf("%s = %v, want %v", k, got[0][k], v)
				}
			}
			if !strings.HasPrefix(auth[0], "TC3-HMAC-SHA256 Credential=AKIDtest/") || strings.Contains(out.String()+errOut.String(), "test-secret-key") {
				t.Errorf("auth %q, output %q", auth[0], out.String())
			}
		})
	}
	var errOut strings.Builder
	if code := run([]string{"-file", file, "-function", "web"}, func(string) string { return "" }, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "TENCENTCLOUD_SECRETID") {
		t.Errorf("without credentials: exit %d, %s", code, errOut.String())
	}
}
