// Package teststore starts throwaway store servers for integration tests:
// a real redis-server and dynalite (a DynamoDB stand-in on Node.js), each on
// a free 127.0.0.1 port, and stops exactly the process it started.
//
// Two forms are offered. StartRedis and StartDynalite take a testing.TB,
// register the stop with t.Cleanup and skip or fail the test when the tool
// is missing. StartRedisServer and StartDynaliteServer return a *Server for
// TestMain; the caller calls Stop and decides with SkipOrFail what a missing
// tool means.
//
// A missing tool (redis-server not on PATH, node or
// node_modules/dynalite absent) is an error wrapping ErrNotInstalled. Under
// CI=true that fails the test; elsewhere the test is skipped with a message
// naming the fix (make test, npm ci, apt-get install redis-server).
package teststore

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNotInstalled is wrapped by the error a Start function returns when the
// server binary or package is not installed.
var ErrNotInstalled = errors.New("teststore: tool not installed")

// Readiness and shutdown deadlines.
const (
	readyTimeout = 20 * time.Second
	stopTimeout  = 5 * time.Second
	probeTimeout = 500 * time.Millisecond
	startTries   = 3
)

// Server is one running store process on a loopback port.
type Server struct {
	// Name is "redis-server" or "dynalite".
	Name string
	// Addr is the 127.0.0.1:port the server listens on.
	Addr string
	// URL is how clients reach it: redis://127.0.0.1:port for Redis,
	// http://127.0.0.1:port for dynalite (the DynamoDB endpoint).
	URL string

	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // the process's exit status, valid after done
	out     *tailBuffer
	stop    sync.Once
	stopErr error
}

// PID is the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Output returns the last few kilobytes the server wrote to stdout and
// stderr, for failure messages.
func (s *Server) Output() string { return s.out.String() }

// Stop terminates the server (SIGTERM, then SIGKILL after 5 s) and waits
// for it to exit. Only this server's PID is signalled. It is safe to call
// more than once and after Kill.
func (s *Server) Stop() error {
	s.stop.Do(func() { s.stopErr = s.terminate(syscall.SIGTERM) })
	return s.stopErr
}

// Kill stops the server abruptly with SIGKILL, as a crash would, and waits
// for it to exit. Later Stop calls return at once.
func (s *Server) Kill() error {
	s.stop.Do(func() { s.stopErr = s.terminate(syscall.SIGKILL) })
	return s.stopErr
}

// terminate sends sig, escalates to SIGKILL after stopTimeout and waits.
func (s *Server) terminate(sig syscall.Signal) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("teststore: signal %s (pid %d): %w", s.Name, s.PID(), err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("teststore: kill %s (pid %d): %w", s.Name, s.PID(), err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("teststore: %s (pid %d) did not exit after SIGKILL", s.Name, s.PID())
	}
}

// InCI reports whether the CI environment variable is set to a true value
// (CI=true), in which case missing tools fail tests instead of skipping them.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// SkipOrFail ends the test because a server could not start: a skip when
// the tool is not installed and CI is not set, a failure otherwise.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && !InCI() {
		t.Skipf("%v (set CI=true to make this a failure)", err)
	}
	t.Fatal(err)
}

// RedisClientQuery is the query of every test client's Redis URL
// (RedisURL). It replaces the production client's read and write timeouts
// (300 ms) and its one retry: go-redis retries a timed-out read, so a stall
// of a loaded test machine would re-run a non-idempotent command (a
// rate-limit script, a SET NX claim) and change what the tests check
// exactly. Query parameters win over the client's options
// (ratelimit.RedisOptions.NewClient), and callers' deadlines still bound
// every command.
const RedisClientQuery = "read_timeout=10s&write_timeout=10s&max_retries=-1"

// RedisURL returns the URL test clients use for the redis-server at addr:
// database 0 with RedisClientQuery.
func RedisURL(addr string) string { return "redis://" + addr + "/0?" + RedisClientQuery }

// StartRedis starts a redis-server for the test, stops it at cleanup and
// returns its 127.0.0.1:port address.
func StartRedis(t testing.TB) string {
	t.Helper()
	s, err := StartRedisServer()
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s.Addr
}

// StartDynalite starts dynalite for the test, stops it at cleanup and
// returns its endpoint URL (http://127.0.0.1:port).
func StartDynalite(t testing.TB) string {
	t.Helper()
	s, err := StartDynaliteServer()
	if err != nil {
		SkipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s.URL
}

// StartRedisServer starts redis-server on a free port, bound to 127.0.0.1
// with persistence off (--save with an empty argument, --appendonly no), and
// waits until it answers PING.
func StartRedisServer() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server is not on PATH (apt-get install redis-server, or run make test)", ErrNotInstalled)
	}
	return start("redis-server", "redis://", pingRedis, func(port string) *exec.Cmd {
		return exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	})
}

// StartDynaliteServer starts `node <repo>/node_modules/dynalite/cli.js
// --host 127.0.0.1 --port P --createTableMs 0` (in memory) on a free port
// and waits until it answers HTTP.
func StartDynaliteServer() (*Server, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH (install Node.js >= 20, then npm ci)", ErrNotInstalled)
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("%w: node_modules/dynalite is missing (run npm ci at the repository root, or make test)", ErrNotInstalled)
	}
	return start("dynalite", "http://", pingHTTP, func(port string) *exec.Cmd {
		return exec.Command(node, cli, "--host", "127.0.0.1", "--port", port, "--createTableMs", "0")
	})
}

// RepoRoot finds the repository root by walking up from the working
// directory (a package directory under go test) to the directory holding
// go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("teststore: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("teststore: no go.mod above the working directory")
		}
		dir = parent
	}
}

// start launches a server on a free port, retrying with another port when
// the process exits early (another process may take a port between our
// probe and the server's bind).
func start(name, scheme string, ready func(addr string) error, command func(port string) *exec.Cmd) (*Server, error) {
	var lastErr error
	for range startTries {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Name: name, Addr: net.JoinHostPort("127.0.0.1", port), out: &tailBuffer{max: 8 << 10}}
		s.URL = scheme + s.Addr
		s.cmd = command(port)
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		s.cmd.SysProcAttr = sysProcAttr()
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("teststore: start %s: %w", name, err)
		}
		s.done = make(chan struct{})
		go func() {
			s.waitErr = s.cmd.Wait()
			close(s.done)
		}()
		if lastErr = s.waitReady(ready); lastErr == nil {
			return s, nil
		}
		if err := s.Stop(); err != nil {
			return nil, errors.Join(lastErr, err)
		}
	}
	return nil, lastErr
}

// waitReady polls ready until it succeeds, the process exits or the
// readiness deadline passes.
func (s *Server) waitReady(ready func(addr string) error) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("teststore: %s exited before it was ready (%v); output:\n%s", s.Name, s.waitErr, s.Output())
		default:
		}
		err := ready(s.Addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("teststore: %s not ready on %s after %v: %w; output:\n%s", s.Name, s.Addr, readyTimeout, err, s.Output())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("teststore: find a free port: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return "", fmt.Errorf("teststore: find a free port: %w", err)
	}
	return port, nil
}

// pingRedis sends PING and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected PING reply %q", strings.TrimSpace(line))
	}
	return nil
}

// pingHTTP expects any HTTP response from the server.
func pingHTTP(addr string) error {
	client := &http.Client{Timeout: probeTimeout}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write appends p, dropping the oldest bytes beyond max.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
