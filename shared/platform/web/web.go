// Package web runs an http.Handler as a long-lived HTTP server: the local
// development server and the Tencent SCF / CloudBase Web (HTTP) function,
// whose built-in proxy forwards requests to port 9000.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server timeouts. A credential service answers small JSON requests quickly;
// these bound slow or idle clients without cutting off a slow upstream
// (WeChat code2Session is bounded separately).
const (
	// ReadHeaderTimeout bounds reading request headers (slowloris).
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request.
	ReadTimeout = 15 * time.Second
	// WriteTimeout bounds handling a request and writing its response.
	WriteTimeout = 30 * time.Second
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes caps request header size.
	MaxHeaderBytes = 64 << 10
	// ShutdownTimeout is how long in-flight requests get after ctx is done
	// before they are cut off.
	ShutdownTimeout = 10 * time.Second
)

// ListeningMessage is the message of the info line ServeWithGrace logs
// once its listener is open, with the listener's address as "addr": with
// a listen address of port 0, the way to learn which port it got.
const ListeningMessage = "http server listening"

// NewServer returns an http.Server for h with callsign's timeouts. Server
// errors go to logger (nil discards).
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe listens on addr and serves h until ctx is done (see Serve).
func ListenAndServe(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("web: listening on %s: %w", addr, err)
	}
	return Serve(ctx, ln, h, logger)
}

// Serve serves h on ln until ctx is done, then shuts down with
// ShutdownTimeout as the grace period (see ServeWithGrace).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	return ServeWithGrace(ctx, ln, h, logger, ShutdownTimeout)
}

// ServeWithGrace serves h on ln until ctx is done, then shuts down: it
// stops accepting and lets in-flight requests finish for up to grace.
// Requests still running after grace are cut off (their connections are
// closed) and the cut is logged as one warning, "http server shutdown
// forced". Either way the shutdown that was asked for has happened, so it
// returns nil: a forced shutdown is not a serving failure (the binaries
// exit 0 after it). A failure to serve is returned.
func ServeWithGrace(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, grace time.Duration) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := NewServer(h, logger)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info(ListeningMessage, "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("web: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	forced := false
	if err := srv.Shutdown(sctx); err != nil {
		// In-flight requests outlived the grace period: cut them off.
		forced = true
		srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("web: shutting down: %w", serr)
	}
	if forced {
		logger.Warn("http server shutdown forced: in-flight requests cut off", "grace", grace.String())
		return nil
	}
	logger.Info("http server stopped")
	return nil
}
