//go:build callsign.notencent

package platform

import (
	"context"
	"log/slog"
)

// scfBuiltIn reports whether this binary has the SCF Go1 runtime.
const scfBuiltIn = false

// startSCF refuses: this binary was built without the SCF Go1 runtime.
func startSCF(context.Context, App, *slog.Logger) error {
	return ErrSCFNotBuiltIn
}
