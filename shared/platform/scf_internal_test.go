//go:build !callsign.notencent

package platform

import (
	"testing"

	"github.com/callsign-dev/callsign/shared/platform/scf"
)

// TestSCFServerPortName: Detect reads the variable scf-go-lib listens on.
func TestSCFServerPortName(t *testing.T) {
	if EnvSCFServerPort != scf.EnvServerPort {
		t.Fatalf("EnvSCFServerPort = %q, scf.EnvServerPort = %q", EnvSCFServerPort, scf.EnvServerPort)
	}
}
