//go:build !callsign.notencent

package platform

import (
	"context"
	"log/slog"

	"github.com/callsign-dev/callsign/shared/platform/scf"
)

// scfBuiltIn reports whether this binary has the SCF Go1 runtime.
const scfBuiltIn = true

// startSCF serves app as a Go1 event function through scf-go-lib.
func startSCF(ctx context.Context, app App, logger *slog.Logger) error {
	return scf.Start(ctx, app, scf.Options{Logger: logger})
}
