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
// operation) and returns the process exit status: 0 after a clean shutdown,
// 1 when start-up or serving failed. A failure is logged as one JSON line
// on stderr that names the function and platform and carries no secret.
//
// The platform comes from platform.Detect. The local server listens on
// CALLSIGN_HTTP_ADDR (default 127.0.0.1:8080); a Web function listens on
// 0.0.0.0:9000 unless CALLSIGN_HTTP_ADDR is set explicitly.
func Main(name string, operations []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kind := platform.Detect(os.Getenv)
	attrs := []any{"function", name, "platform", kind.String()}

	cfg, err := config.Load()
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).With(attrs...).
			Error("callsign: configuration failed", "error", err.Error())
		return 1
	}
	logger := app.NewLogger(cfg).With(attrs...)
	a, err := app.New(ctx, cfg, app.Options{Operations: operations, Platform: kind.String(), Logger: logger})
	if err != nil {
		logger.Error("callsign: start-up failed", "error", err.Error())
		return 1
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
