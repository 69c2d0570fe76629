package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/platform/web"
)

func init() {
	register(command{name: "serve", summary: "run the local HTTP server (make run)", run: runServe})
}

// runServe starts every route on CALLSIGN_HTTP_ADDR (default
// 127.0.0.1:8080) and shuts down gracefully on SIGINT or SIGTERM. The
// configuration comes from the CALLSIGN_* environment, as in the cloud.
func runServe(e *env, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "", "listen address (default: CALLSIGN_HTTP_ADDR)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK // -h, like the other subcommands
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "callsign serve: unexpected arguments")
		return exitUsage
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	if *addr != "" {
		cfg.HTTPAddr = *addr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := app.NewLogger(cfg)
	a, err := app.New(ctx, cfg, app.Options{Platform: app.PlatformLocal, Logger: logger, Getenv: e.getenv})
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	if err := web.ListenAndServe(ctx, cfg.HTTPAddr, loopbackHosts(cfg.HTTPAddr, a), logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

// loopbackHosts guards a server listening on a loopback address against DNS
// rebinding: a web page on another site that resolves its own name to
// 127.0.0.1 could otherwise drive the local server (whose dev verifier
// trusts a header naming the user) from the developer's browser. Requests
// must then name a loopback host (localhost, 127.0.0.1, [::1]) in Host;
// others get 403 forbidden. On any other listen address h is returned as
// is.
func loopbackHosts(listen string, h http.Handler) http.Handler {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || !isLoopback(host) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Host
		if hn, _, err := net.SplitHostPort(r.Host); err == nil {
			name = hn
		}
		if !isLoopback(strings.Trim(name, "[]")) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"error":{"code":"forbidden","message":"the local server answers only requests addressed to localhost"}}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isLoopback reports whether host is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
