package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
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
		// --addr replaces CALLSIGN_HTTP_ADDR, so it passes the same checks
		// (the dev verifier listens only on loopback).
		cfg.HTTPAddr = *addr
		if err := cfg.Validate(); err != nil {
			fmt.Fprintf(e.stderr, "callsign serve: --addr: %v\n", err)
			return exitFail
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := app.NewLogger(cfg)
	aws, err := awsProvider(ctx, cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	a, err := app.New(ctx, cfg, app.Options{Platform: app.PlatformLocal, Logger: logger, Getenv: e.getenv, AWS: aws})
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	if err := web.ListenAndServe(ctx, cfg.HTTPAddr, a, logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "callsign serve: %v\n", err)
		return exitFail
	}
	return exitOK
}
