//go:build callsign.notencent

package platform_test

import (
	"errors"
	"testing"

	"github.com/callsign-dev/callsign/shared/platform"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
)

// TestSCFNotBuiltIn: without the SCF runtime, Run refuses a Go1 event
// function at once.
func TestSCFNotBuiltIn(t *testing.T) {
	t.Setenv(platform.EnvSCFServerPort, "1")
	err := platform.Run(t.Context(), &apptest.App{}, platform.Options{Kind: platform.KindSCF})
	const want = "platform: scf: this binary was built without the SCF Go1 event-function runtime (build tag callsign.notencent); deploy the Tencent package (functions/callsign)"
	if err == nil || err.Error() != want || !errors.Is(err, platform.ErrSCFNotBuiltIn) {
		t.Fatalf("Run = %v, want %q", err, want)
	}
}

// TestSupportedNotBuiltIn: without the SCF runtime, Supported refuses
// KindSCF, the one kind Run would refuse, and accepts the others.
func TestSupportedNotBuiltIn(t *testing.T) {
	for _, k := range []platform.Kind{platform.KindLocal, platform.KindLambda, platform.KindSCF, platform.KindWeb} {
		err := platform.Supported(k)
		if want := k == platform.KindSCF; (err != nil) != want || (want && !errors.Is(err, platform.ErrSCFNotBuiltIn)) {
			t.Errorf("Supported(%v) = %v", k, err)
		}
	}
}
