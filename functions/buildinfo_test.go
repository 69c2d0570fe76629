package functions_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBinariesLinkNoTestTools reads the module list that `go version -m`
// prints for each built function binary: the official signing library and
// the RIE are test-only and must not be linked, while scf-go-lib and
// aws-lambda-go (the runtimes the binaries serve) must be, which shows the
// list was read.
func TestBinariesLinkNoTestTools(t *testing.T) {
	for _, name := range []string{"usersig", "calls", "session", "callbacks", "callsign"} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command("go", "version", "-m", filepath.Join(binDir, name)).Output()
			if err != nil {
				t.Fatalf("go version -m: %v", err)
			}
			var deps []string
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Fields(line)
				if len(f) >= 2 && f[0] == "dep" {
					deps = append(deps, f[1])
				}
			}
			for _, forbidden := range []string{
				"github.com/tencentyun/tls-sig-api-v2-golang",
				"github.com/aws/aws-lambda-runtime-interface-emulator",
			} {
				if slices.Contains(deps, forbidden) {
					t.Errorf("%s links %s", name, forbidden)
				}
			}
			for _, required := range []string{"github.com/tencentyun/scf-go-lib", "github.com/aws/aws-lambda-go"} {
				if !slices.Contains(deps, required) {
					t.Errorf("%s does not link %s; modules: %v", name, required, deps)
				}
			}
		})
	}
}
