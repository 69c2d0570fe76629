package platform_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/rpc"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/platform"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
	"github.com/callsign-dev/callsign/shared/platform/web"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want platform.Kind
	}{
		{"nothing", nil, platform.KindLocal},
		{"lambda", map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, platform.KindLambda},
		{"lambda wins over a stray port", map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "_LAMBDA_SERVER_PORT": "9001"}, platform.KindLambda},
		{"scf go1", map[string]string{"_LAMBDA_SERVER_PORT": "9001", "TENCENTCLOUD_RUNENV": "SCF"}, platform.KindSCF},
		{"scf go1 without runenv", map[string]string{"_LAMBDA_SERVER_PORT": "9001"}, platform.KindSCF},
		{"scf web", map[string]string{"TENCENTCLOUD_RUNENV": "SCF"}, platform.KindWeb},
		{"other runenv", map[string]string{"TENCENTCLOUD_RUNENV": "LOCAL"}, platform.KindLocal},
		{"empty values ignored", map[string]string{"AWS_LAMBDA_RUNTIME_API": "", "_LAMBDA_SERVER_PORT": ""}, platform.KindLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := platform.Detect(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSupported: a binary with every runtime serves every kind.
func TestSupported(t *testing.T) {
	for _, k := range []platform.Kind{platform.KindLocal, platform.KindLambda, platform.KindSCF, platform.KindWeb} {
		if err := platform.Supported(k); err != nil {
			t.Errorf("Supported(%v) = %v", k, err)
		}
	}
}

func TestKindString(t *testing.T) {
	tests := map[platform.Kind]string{
		platform.KindUnknown: "unknown", platform.KindLocal: "local", platform.KindLambda: "lambda",
		platform.KindSCF: "scf", platform.KindWeb: "web", platform.Kind(99): "unknown",
	}
	for k, want := range tests {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	t.Setenv(platform.EnvSCFServerPort, "")
	app := &apptest.App{}
	tests := []struct {
		name string
		app  platform.App
		opts platform.Options
		want string
	}{
		{"no app", nil, platform.Options{Kind: platform.KindLocal}, "platform: no application to run"},
		{"unknown kind", app, platform.Options{}, "platform: unknown platform kind 0"},
		{"scf without port", app, platform.Options{Kind: platform.KindSCF},
			"platform: scf: scf: _LAMBDA_SERVER_PORT must be set to a TCP port number"},
		{"bad local addr", app, platform.Options{Kind: platform.KindLocal, LocalAddr: "127.0.0.1:bad"}, "platform: web: listening on 127.0.0.1:bad: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := platform.Run(context.Background(), tt.app, tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Run = %v, want %q", err, tt.want)
			}
		})
	}
}

// runUntilCancel runs Run in the background and returns a stop function
// that cancels it and checks it returned nil.
func runUntilCancel(t *testing.T, app platform.App, opts platform.Options) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- platform.Run(ctx, app, opts) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

// freePort returns a port that was free a moment ago. Only TestRunSCF uses
// it: scf-go-lib takes the port number from the environment and cannot
// listen on port 0 and say which port it got.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// listening is a slog.Handler that passes on the addr of the line the
// HTTP server logs once its listener is open (web.ListeningMessage).
type listening chan string

func (l listening) Enabled(context.Context, slog.Level) bool { return true }
func (l listening) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l listening) WithGroup(string) slog.Handler            { return l }
func (l listening) Handle(_ context.Context, r slog.Record) error {
	if r.Message != web.ListeningMessage {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "addr" {
			return true
		}
		select {
		case l <- a.Value.String():
		default:
		}
		return false
	})
	return nil
}

// runHTTP runs an HTTP kind on 127.0.0.1:0 until the returned stop is
// called, and returns the address the server reports it listens on: no
// port is picked in advance, so none can be taken by another process in
// between.
func runHTTP(t *testing.T, app platform.App, kind platform.Kind) (addr string, stop func()) {
	t.Helper()
	l := make(listening, 1)
	stop = runUntilCancel(t, app, platform.Options{Kind: kind, LocalAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", Logger: slog.New(l)})
	select {
	case addr = <-l:
	case <-time.After(15 * time.Second):
		stop()
		t.Fatal("the server did not log its listening address")
	}
	if host, port, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" || port == "0" {
		stop()
		t.Fatalf("listening address %q, want 127.0.0.1 and the port it got", addr)
	}
	return addr, stop
}

func dialRetry(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunHTTPKinds(t *testing.T) {
	for _, kind := range []platform.Kind{platform.KindLocal, platform.KindWeb} {
		t.Run(kind.String(), func(t *testing.T) {
			addr, stop := runHTTP(t, &apptest.App{}, kind)
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				t.Fatalf("dial the address the server logged: %v", err)
			}
			c.Close()
			stop()
		})
	}
}

// TestRunWebHidesProxyAddress: a Web function's TCP peer is SCF's proxy, so
// the App sees no client address there; the local server passes its real
// peer.
func TestRunWebHidesProxyAddress(t *testing.T) {
	for _, tt := range []struct {
		kind   platform.Kind
		remote bool
	}{{platform.KindWeb, false}, {platform.KindLocal, true}} {
		t.Run(tt.kind.String(), func(t *testing.T) {
			app := &apptest.App{}
			addr, stop := runHTTP(t, app, tt.kind)
			defer stop()
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reqs := app.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			got := reqs[0].RemoteAddr
			if tt.remote {
				if host, _, err := net.SplitHostPort(got); err != nil || host != "127.0.0.1" {
					t.Errorf("RemoteAddr %q, want the peer 127.0.0.1", got)
				}
			} else if got != "" {
				t.Errorf("RemoteAddr %q, want empty (the peer is the platform's proxy)", got)
			}
		})
	}
}

// scfServed records that TestRunSCF has started scf-go-lib in this test
// process.
var scfServed atomic.Bool

// TestRunSCF serves through scf-go-lib, which reads the port from the
// process environment and listens on 0.0.0.0 for the rest of the test
// process (its listener cannot be closed); cancelling Run returns nil.
// scf-go-lib serves once per process, so a repeated run (go test -count=2)
// checks instead that Run refuses a second start.
func TestRunSCF(t *testing.T) {
	if !scfServed.CompareAndSwap(false, true) {
		t.Setenv(platform.EnvSCFServerPort, strconv.Itoa(freePort(t)))
		err := platform.Run(context.Background(), &apptest.App{}, platform.Options{Kind: platform.KindSCF})
		if err == nil || err.Error() != "platform: scf: scf: the Go1 runtime is already serving in this process" {
			t.Fatalf("second Run = %v, want the refusal", err)
		}
		return
	}
	port := strconv.Itoa(freePort(t))
	t.Setenv(platform.EnvSCFServerPort, port)
	stop := runUntilCancel(t, &apptest.App{}, platform.Options{Kind: platform.KindSCF})
	c := rpc.NewClient(dialRetry(t, "127.0.0.1:"+port))
	if err := c.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		t.Errorf("Ping: %v", err)
	}
	c.Close()
	stop()
}

// The real application satisfies App.
var _ platform.App = (*api.API)(nil)
