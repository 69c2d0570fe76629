// Package miniprogram_test holds only the WeChat mini-program client example
// (callsign.js, a dependency-free CommonJS module for wx.cloud.callFunction
// or wx.request) and this test, which runs the example's node:test suite
// (callsign.test.js) so that `go test ./...` covers the JavaScript too.
// There is no Go code to import here.
package miniprogram_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMiniProgramClient runs `node --test callsign.test.js` in this
// directory. Without node it fails under CI=true and skips elsewhere.
func TestMiniProgramClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node not found (CI=true requires it): %v", err)
		}
		t.Skip("node not on PATH: install Node >= 20 to run the mini-program client tests (examples/miniprogram/callsign.test.js)")
	}
	// go test runs in the package directory, so the suite sits next to us.
	suite, err := filepath.Abs("callsign.test.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(suite); err != nil {
		t.Fatalf("test suite missing: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", suite)
	cmd.Dir = filepath.Dir(suite)
	// A NODE_TEST_CONTEXT inherited from an outer node --test run would make
	// this one report to its parent instead of printing results.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NODE_TEST_CONTEXT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s: %v\n%s", filepath.Base(suite), err, out)
	}
	t.Logf("node --test %s:\n%s", filepath.Base(suite), out)
}
