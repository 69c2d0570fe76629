package web_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/platform/web"
)

func TestNewServerTimeouts(t *testing.T) {
	h := http.NotFoundHandler()
	s := web.NewServer(h, nil)
	if s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != 15*time.Second || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 64<<10 || s.ErrorLog == nil || s.Handler == nil {
		t.Errorf("server = %+v", s)
	}
}

// client talks only to loopback and never waits longer than the test allows.
var client = &http.Client{Timeout: 10 * time.Second}

func TestServeAndGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.Write([]byte("finished"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- web.Serve(ctx, ln, mux, nil) }()
	base := "http://" + ln.Addr().String()

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("healthz = %d %q", resp.StatusCode, body)
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := client.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-entered
	cancel() // shutdown starts with a request in flight
	// New connections are refused once the listener is closed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-slow; got != "finished" {
		t.Errorf("in-flight request got %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestForcedShutdown: a request that outlives the grace period is cut off;
// the shutdown still counts as done (nil, so the binaries exit 0) and is
// logged as one warning.
func TestForcedShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	var logs testlog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- web.ServeWithGrace(ctx, ln, h, logs.JSONLogger(), 50*time.Millisecond) }()
	reqErr := make(chan error, 1)
	go func() {
		resp, err := client.Get("http://" + ln.Addr().String() + "/hang")
		if err == nil {
			resp.Body.Close()
		}
		reqErr <- err
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeWithGrace = %v, want nil after a forced shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ServeWithGrace did not return")
	}
	if err := <-reqErr; err == nil {
		t.Error("the hung request got a response; want its connection cut")
	}
	out := logs.String()
	if strings.Count(out, `"level":"WARN","msg":"http server shutdown forced: in-flight requests cut off","grace":"50ms"`) != 1 ||
		strings.Contains(out, "http server stopped") || strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("logs:\n%s", out)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	err := web.ListenAndServe(context.Background(), "127.0.0.1:notaport", http.NotFoundHandler(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "web: listening on 127.0.0.1:notaport: ") {
		t.Errorf("ListenAndServe = %v", err)
	}
}

func TestServeListenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = web.Serve(context.Background(), ln, http.NotFoundHandler(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "web: serving: ") {
		t.Errorf("Serve on a closed listener = %v", err)
	}
}
