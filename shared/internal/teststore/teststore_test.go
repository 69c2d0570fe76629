package teststore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid still exists (signal 0 probes without killing).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestRedisServerLifecycle(t *testing.T) {
	s, err := StartRedisServer()
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() { s.Stop() })
	if err := pingRedis(s.Addr); err != nil {
		t.Fatalf("PING %s: %v", s.Addr, err)
	}
	if s.URL != "redis://"+s.Addr {
		t.Fatalf("URL = %q", s.URL)
	}
	pid := s.PID()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("redis-server pid %d still running after Stop", pid)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := pingRedis(s.Addr); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
}

func TestDynaliteLifecycle(t *testing.T) {
	endpoint := StartDynalite(t)
	client := DynamoDBClient(endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 2 { // the second call finds the table already there
		if err := CreateLimitsTable(ctx, client, "limits"); err != nil {
			t.Fatal(err)
		}
	}
	d, err := DescribeTable(ctx, client, "limits")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.KeySchema) != 1 || d.KeySchema[0].AttributeName != "pk" || d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != "PAY_PER_REQUEST" {
		t.Fatalf("table: key %+v billing %+v", d.KeySchema, d.BillingModeSummary)
	}
}

func TestKill(t *testing.T) {
	s, err := StartRedisServer()
	if err != nil {
		SkipOrFail(t, err)
	}
	pid := s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("pid %d alive after Kill", pid)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop after Kill: %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("shared", "internal", "teststore") {
		t.Fatalf("root %s is not two levels above %s", root, wd)
	}
}

func TestSkipOrFailInCI(t *testing.T) {
	tests := []struct {
		ci       string
		err      error
		wantSkip bool
	}{
		{ci: "", err: ErrNotInstalled, wantSkip: true},
		{ci: "false", err: ErrNotInstalled, wantSkip: true},
		{ci: "true", err: ErrNotInstalled, wantSkip: false},
		{ci: "", err: errors.New("port in use"), wantSkip: false},
	}
	for _, tc := range tests {
		t.Setenv("CI", tc.ci)
		rec := &recordTB{TB: t}
		done := make(chan struct{})
		go func() { // Skip and Fatal end the goroutine, as in a real test
			defer close(done)
			SkipOrFail(rec, tc.err)
		}()
		<-done
		if rec.skipped != tc.wantSkip || rec.failed == tc.wantSkip {
			t.Errorf("CI=%q err=%v: skipped %v failed %v", tc.ci, tc.err, rec.skipped, rec.failed)
		}
	}
}

// recordTB records Skip and Fatal instead of acting on them.
type recordTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordTB) Helper() {}
func (r *recordTB) Skipf(string, ...any) {
	r.skipped = true
	runtime.Goexit()
}
func (r *recordTB) Fatal(...any) {
	r.failed = true
	runtime.Goexit()
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 4}
	b.Write([]byte("ab"))
	b.Write([]byte("cdef"))
	if got := b.String(); got != "cdef" {
		t.Fatalf("tail = %q, want cdef", got)
	}
}
