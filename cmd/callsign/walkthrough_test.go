package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/platform/web"
)

// TestREADMEWalkthrough runs the README's curl walkthrough, as written,
// against `callsign serve` (only the port and the `go run` of the CLI are
// substituted), so the documented flow cannot rot.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: %v", tool, err)
			}
			t.Skipf("%s not on PATH; `make deps` installs what the tests need", tool)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- walkthrough:begin -->", "<!-- walkthrough:end -->"
	s := string(readme)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lacks the walkthrough markers")
	}
	block := s[i:j]
	a, b := strings.Index(block, "```sh\n"), strings.LastIndex(block, "```")
	if a < 0 || b <= a {
		t.Fatal("no ```sh block inside the walkthrough markers")
	}
	script := block[a+len("```sh\n") : b]

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "callsign")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// No CALLSIGN_*: the embedded defaults.
	addr, logs := startServe(t, bin, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")})

	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", "http://"+addr)
	script = strings.ReplaceAll(script, "go run ./cmd/callsign", bin)
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s\nserver log:\n%s", err, out, logs.String())
	}
	got := string(out)
	for _, want := range []string{
		`"userID":"alice"`,
		`"privileges":63,"callToken":"`,
		`"privileges":62,"expiresAt"`,
		"{\"error\":{\"code\":\"not_invited\",\"message\":\"you are not invited to this call\"}}\n HTTP 403\n",
		`"identifier":"alice"`,
		`"privateMapKey":{"strRoomID":"c_`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(logs.String(), "DEVELOPMENT KEY") {
		t.Errorf("the server did not warn about the generated development key:\n%s", logs.String())
	}
}

// startServe runs `bin serve --addr 127.0.0.1:0` with exactly env and
// returns the address the server logs once it listens
// (web.ListeningMessage) and its output; no port is picked in advance, so none can be
// taken by another process in between. At cleanup the server is
// interrupted, and killed if it has not exited 10 s later.
func startServe(t *testing.T, bin string, env []string) (string, *lockedBuffer) {
	t.Helper()
	srv := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	srv.Env = env
	logs := &lockedBuffer{}
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if addr := listeningAddr(logs.String()); addr != "" {
			return addr, logs
		}
		select {
		case <-exited:
			t.Fatalf("server exited before it listened:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not log its listening address:\n%s", logs.String())
		}
	}
}

// listeningAddr is the addr of the JSON log line web.ListeningMessage in
// output, or "" before there is one.
func listeningAddr(output string) string {
	for line := range strings.Lines(output) {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == web.ListeningMessage {
			return l.Addr
		}
	}
	return ""
}

// lockedBuffer collects the server's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
