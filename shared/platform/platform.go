// Package platform runs callsign's application on whichever platform the
// process finds itself on: AWS Lambda (Runtime API), a Tencent SCF / CloudBase
// Go1 event function (net/rpc, served by scf-go-lib), an SCF / CloudBase Web function (HTTP on
// port 9000), or the local development server.
//
// A binary built with the tag callsign.notencent has no SCF Go1 runtime
// (scf-go-lib): Detect still recognises the platform, and Run refuses it
// with ErrSCFNotBuiltIn.
//
// Detect reads only platform-provided variables, so the same binary runs
// everywhere without extra configuration:
//
//	AWS_LAMBDA_RUNTIME_API set              → KindLambda
//	_LAMBDA_SERVER_PORT set                 → KindSCF (Go1 event function)
//	TENCENTCLOUD_RUNENV=SCF (no port above) → KindWeb (Web function, 0.0.0.0:9000)
//	otherwise                               → KindLocal (127.0.0.1:8080 by default)
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/platform/awslambda"
	"github.com/callsign-dev/callsign/shared/platform/web"
)

// App is the application the adapters serve: every HTTP route, plus the
// action dispatcher used by CloudBase callFunction and direct Lambda
// invocations, which returns the envelope JSON.
type App interface {
	http.Handler
	Do(ctx context.Context, a api.Action) []byte
}

// Kind is a platform the process can run on.
type Kind int

// Platform kinds. The zero value is KindUnknown, which Run refuses.
const (
	// KindUnknown is the zero Kind.
	KindUnknown Kind = iota
	// KindLocal is the local development server.
	KindLocal
	// KindLambda is AWS Lambda's Runtime API (provided.al2023).
	KindLambda
	// KindSCF is a Tencent SCF / CloudBase Go1 event function.
	KindSCF
	// KindWeb is a Tencent SCF / CloudBase Web (HTTP) function.
	KindWeb
)

// String returns "local", "lambda", "scf", "web" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindLocal:
		return "local"
	case KindLambda:
		return "lambda"
	case KindSCF:
		return "scf"
	case KindWeb:
		return "web"
	default:
		return "unknown"
	}
}

// Platform environment variables read by Detect and Run.
const (
	// EnvLambdaRuntimeAPI is set by AWS Lambda custom runtimes (host:port).
	EnvLambdaRuntimeAPI = "AWS_LAMBDA_RUNTIME_API"
	// EnvSCFServerPort is the port a Go1 event function serves net/rpc on
	// (scf.EnvServerPort).
	EnvSCFServerPort = "_LAMBDA_SERVER_PORT"
	// EnvTencentRunEnv is "SCF" inside Tencent SCF and CloudBase functions.
	EnvTencentRunEnv = "TENCENTCLOUD_RUNENV"
)

// ErrSCFNotBuiltIn is returned by Run for KindSCF in a binary built with
// the tag callsign.notencent (the AWS packages), which has no SCF Go1
// runtime.
var ErrSCFNotBuiltIn = errors.New("this binary was built without the SCF Go1 event-function runtime (build tag callsign.notencent); deploy the Tencent package (functions/callsign)")

// Default listen addresses.
const (
	// DefaultLocalAddr is the local server's address.
	DefaultLocalAddr = "127.0.0.1:8080"
	// DefaultWebAddr is where an SCF Web function must listen.
	DefaultWebAddr = "0.0.0.0:9000"
)

// Detect reports the platform from the environment (see the package
// documentation). getenv is usually os.Getenv.
func Detect(getenv func(string) string) Kind {
	switch {
	case getenv(EnvLambdaRuntimeAPI) != "":
		return KindLambda
	case getenv(EnvSCFServerPort) != "":
		return KindSCF
	case getenv(EnvTencentRunEnv) == "SCF":
		return KindWeb
	default:
		return KindLocal
	}
}

// Supported reports whether this binary can serve kind: nil, or
// ErrSCFNotBuiltIn for KindSCF in a binary built with callsign.notencent.
// Run refuses the same kinds; a caller checks first so that a binary
// deployed to the wrong platform stops before it loads its configuration
// or fetches a secret.
func Supported(kind Kind) error {
	if kind == KindSCF && !scfBuiltIn {
		return ErrSCFNotBuiltIn
	}
	return nil
}

// Options configure Run.
type Options struct {
	// Kind is the platform to run on, usually Detect(os.Getenv).
	Kind Kind
	// LocalAddr is the local server's address; empty means DefaultLocalAddr.
	LocalAddr string
	// WebAddr is the Web function's address; empty means DefaultWebAddr.
	WebAddr string
	// Logger receives the adapters' logs; nil discards. Run adds no
	// "platform" attribute: a logger that should name the platform carries
	// it already, so no line names it twice.
	Logger *slog.Logger
}

// Run serves app on opts.Kind until ctx is done and returns nil, or returns
// the error that stopped it from serving. On Lambda a failure to reach the
// Runtime API ends the process inside aws-lambda-go; on SCF a failure to
// listen on _LAMBDA_SERVER_PORT (read from the process environment) ends it
// inside scf-go-lib.
func Run(ctx context.Context, app App, opts Options) error {
	if app == nil {
		return errors.New("platform: no application to run")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The caller's logger already names the platform (see Options.Logger).
	switch opts.Kind {
	case KindLambda:
		logger.Info("serving")
		return awslambda.Start(ctx, app, logger)
	case KindSCF:
		logger.Info("serving")
		if err := startSCF(ctx, app, logger); err != nil {
			return fmt.Errorf("platform: scf: %w", err)
		}
		return nil
	case KindWeb:
		return serveHTTP(ctx, behindProxy{app}, orDefault(opts.WebAddr, DefaultWebAddr), logger)
	case KindLocal:
		return serveHTTP(ctx, app, orDefault(opts.LocalAddr, DefaultLocalAddr), logger)
	default:
		return fmt.Errorf("platform: unknown platform kind %d", int(opts.Kind))
	}
}

// InitFailure is a start-up failure as reported to the platform: fixed
// words only, never an error's text (the details go to the log).
type InitFailure struct {
	// Type names the failure, e.g. "Callsign.ConfigurationError".
	Type string
	// Message is a short, fixed explanation.
	Message string
}

// ReportInitFailure tells the platform that this instance failed to start,
// where the platform has a channel for it: on Lambda, the Runtime API's
// POST /2018-06-01/runtime/init/error (AWS_LAMBDA_RUNTIME_API read with
// getenv). Other platforms learn of the failure from the exit status alone,
// and ReportInitFailure returns nil for them.
func ReportInitFailure(ctx context.Context, kind Kind, getenv func(string) string, f InitFailure) error {
	if kind != KindLambda {
		return nil
	}
	if err := awslambda.ReportInitError(ctx, getenv(EnvLambdaRuntimeAPI), awslambda.InitError{Type: f.Type, Message: f.Message}); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	return nil
}

// behindProxy serves a Web function's requests. Every one arrives from
// SCF's built-in proxy, so the TCP peer is the proxy and not the client,
// and no header carrying the client's address is documented for Web
// functions. The request therefore reaches the App without a client
// address (RemoteAddr ""), never with the proxy's: a per-address limit
// keyed on it would count every client together, and one client's failed
// authentications would lock out all the others.
type behindProxy struct{ h http.Handler }

// ServeHTTP implements http.Handler.
func (b behindProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(r.Context())
	r.RemoteAddr = ""
	b.h.ServeHTTP(w, r)
}

func serveHTTP(ctx context.Context, h http.Handler, addr string, logger *slog.Logger) error {
	if err := web.ListenAndServe(ctx, addr, h, logger); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
