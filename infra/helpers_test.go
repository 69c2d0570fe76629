//go:build unix

package infra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/config"
)

// stages are the deployment stages every cloud defines, in order.
var stages = []string{"dev", "staging", "prod"}

// stagePolicy is what one stage must configure, identically on both clouds
// where the setting exists on both.
type stagePolicy struct {
	LogLevel         string
	RateLimits       string
	UserSigTTL       string
	PrivateMapKeyTTL string
	InviteTTL        string
	SecretCacheTTL   string
	AllowedOrigins   string
	LogRetentionDays int    // AWS CloudWatch log retention
	TencentLimiter   string // memory or redis
	CallEnforcement  string // CALLSIGN_CALL_ENFORCEMENT
}

// stagePolicies is the single expected table of per-stage values.
var stagePolicies = map[string]stagePolicy{
	"dev": {
		LogLevel:         "debug",
		RateLimits:       "usersig=60/1m:60,call.create=60/1m:30,call.join=120/1m:60,session=60/1m:30,auth.fail=120/1m:60",
		UserSigTTL:       "24h",
		PrivateMapKeyTTL: "2h",
		InviteTTL:        "300s",
		SecretCacheTTL:   "1m",
		AllowedOrigins:   "http://localhost:3000",
		LogRetentionDays: 7,
		TencentLimiter:   "memory",
		CallEnforcement:  "audit",
	},
	"staging": {
		LogLevel:         "info",
		RateLimits:       "usersig=20/1m:20,call.create=10/1m:5,call.join=30/1m:10,session=10/1m:5,auth.fail=20/1m:10",
		UserSigTTL:       "24h",
		PrivateMapKeyTTL: "2h",
		InviteTTL:        "120s",
		SecretCacheTTL:   "5m",
		AllowedOrigins:   "",
		LogRetentionDays: 30,
		TencentLimiter:   "redis",
		CallEnforcement:  "audit",
	},
	"prod": {
		LogLevel:         "info",
		RateLimits:       "usersig=10/1m:10,call.create=10/1m:5,call.join=30/1m:10,session=10/1m:5,auth.fail=20/1m:10",
		UserSigTTL:       "12h",
		PrivateMapKeyTTL: "2h",
		InviteTTL:        "120s",
		SecretCacheTTL:   "10m",
		AllowedOrigins:   "",
		LogRetentionDays: 90,
		TencentLimiter:   "redis",
		CallEnforcement:  "enforce",
	},
}

// repoRoot walks up from the package directory to the directory holding
// go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the package directory")
		}
		dir = parent
	}
}

// inCI reports whether the tests run in CI, where a missing tool is a
// failure rather than a skip.
func inCI() bool {
	return os.Getenv("CI") == "true"
}

// requireTool returns the path of an executable (a bare name is looked up in
// PATH). When it is missing the test fails under CI=true and is skipped
// otherwise.
func requireTool(t testing.TB, name, why string) string {
	t.Helper()
	var path string
	var err error
	if strings.ContainsRune(name, filepath.Separator) {
		path = name
		_, err = os.Stat(name)
	} else {
		path, err = exec.LookPath(name)
	}
	if err != nil {
		if inCI() {
			t.Fatalf("%s is required (%s): %v", name, why, err)
		}
		t.Skipf("skipping: %s not available (%s): %v; this test fails instead when CI=true", name, why, err)
	}
	return path
}

// run executes a command in dir with the extra environment entries and a
// deadline. It kills the whole process group when the deadline passes, so no
// child (go build, node) outlives the test. It returns combined output.
func run(t testing.TB, timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s %s: deadline of %v exceeded: %w", name, strings.Join(args, " "), timeout, ctx.Err())
	}
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// exitCode extracts the exit status from an error returned by run, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// configVariables returns every CALLSIGN_* name the Config struct reads, and
// the subset whose fields carry any secret tag (secret:"true", or
// secret:"url" for a URL holding credentials): values that must never appear
// in a committed file or a template.
func configVariables(t testing.TB) (all, secret map[string]bool) {
	t.Helper()
	names := config.VariableNames()
	typ := reflect.TypeFor[config.Config]()
	if len(names) != typ.NumField() {
		t.Fatalf("config.VariableNames() has %d names for %d Config fields", len(names), typ.NumField())
	}
	all = make(map[string]bool, len(names))
	secret = make(map[string]bool)
	for i, name := range names {
		all[name] = true
		if typ.Field(i).Tag.Get("secret") != "" {
			secret[name] = true
		}
	}
	if len(secret) == 0 {
		t.Fatalf("no Config field has a secret tag; the secret checks would check nothing")
	}
	// The deployment files must treat at least these as secrets; a tag
	// change that drops one would silently weaken the checks.
	for _, name := range []string{"CALLSIGN_SECRET_KEY", "CALLSIGN_WECHAT_APP_SECRET", "CALLSIGN_JWT_SECRET", "CALLSIGN_REDIS_URL"} {
		if !secret[name] {
			t.Fatalf("%s is not tagged as a secret in config.Config", name)
		}
	}
	return all, secret
}
