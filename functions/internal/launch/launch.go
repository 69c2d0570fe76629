// Package launch is the body of every callsign function binary: detect the
// platform, load the configuration, build the application once per
// instance, and serve it until SIGINT or SIGTERM.
package launch

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/platform"
)

// Main runs the function called name serving operations (nil serves every
// operation) and returns the process exit status: 0 after a shutdown on
// SIGINT or SIGTERM (on Lambda these end the process directly; see
// handlesSignals), 1 when start-up or serving failed. A failure is logged
// as one JSON line on stderr that names the function and platform and
// carries no secret; a start-up failure on Lambda is also reported to the
// Runtime API (platform.ReportInitFailure) before the process exits.
//
// Every log line names the platform exactly once: the logger carries it and
// neither app.New's lines nor the adapters' repeat it.
//
// The platform comes from platform.Detect. The local server listens on
// CALLSIGN_HTTP_ADDR (default 127.0.0.1:8080); a Web function listens on
// 0.0.0.0:9000 unless CALLSIGN_HTTP_ADDR is set explicitly.
func Main(name string, operations []string) int {
	kind := platform.Detect(os.Getenv)
	if err := platform.Supported(kind); err != nil {
		return startupFailed(kind, bareLogger(name, kind), "callsign: wrong platform for this binary", "Callsign.StartupError", err)
	}
	ctx := context.Background()
	if handlesSignals(kind) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}

	cfg, err := config.Load()
	if err != nil {
		return startupFailed(kind, bareLogger(name, kind), "callsign: configuration failed", "Callsign.ConfigurationError", err)
	}
	// app.New adds the platform attribute to the logger it is given.
	fnLogger := app.NewLogger(cfg).With("function", name)
	logger := fnLogger.With("platform", kind.String())
	a, err := app.New(ctx, cfg, app.Options{Operations: operations, Platform: kind.String(), Logger: fnLogger})
	if err != nil {
		return startupFailed(kind, logger, "callsign: start-up failed", "Callsign.StartupError", err)
	}
	opts := platform.Options{Kind: kind, LocalAddr: cfg.HTTPAddr, Logger: logger}
	if _, set := os.LookupEnv(config.Prefix + "_HTTP_ADDR"); set {
		opts.WebAddr = cfg.HTTPAddr
	}
	if err := platform.Run(ctx, a, opts); err != nil {
		logger.Error("callsign: serving failed", "error", err.Error())
		return 1
	}
	return 0
}

// handlesSignals reports whether the process catches SIGINT and SIGTERM to
// shut down in order on platform kind: everywhere but on Lambda.
//
// Lambda sends SIGTERM only in its shutdown phase, when no invocation is in
// flight, and a Lambda instance has nothing to drain or flush (log lines
// are written as they happen), so the signal's default action, ending the
// process, loses nothing. Catching it would cost every cold start two more
// OS threads (os/signal's receiver) and about 1 ms on a 2-vCPU Firecracker
// VM (docs/performance.md).
func handlesSignals(kind platform.Kind) bool { return kind != platform.KindLambda }

// bareLogger is the logger of a failure before the configuration is
// loaded: JSON on stderr at the default level, naming the function and the
// platform.
func bareLogger(name string, kind platform.Kind) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", name, "platform", kind.String())
}

// startupFailed logs err as the one error line of a failed start, reports
// the failure to the platform (fixed words only) and returns exit status 1.
func startupFailed(kind platform.Kind, logger *slog.Logger, msg, errorType string, err error) int {
	logger.Error(msg, "error", err.Error())
	if rerr := platform.ReportInitFailure(context.Background(), kind, os.Getenv, platform.InitFailure{Type: errorType, Message: msg}); rerr != nil {
		logger.Warn("callsign: reporting the start-up failure to the platform failed", "error", rerr.Error())
	}
	return 1
}
