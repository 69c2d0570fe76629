package functions_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsImportNoAWSSDK keeps the AWS SDK and smithy-go out of every
// function binary: their package initialisation alone costs more than the
// cold-start budget, and shared/awsapi speaks the few AWS calls the
// functions make. Only cmd/callsign (the local CLI) may use the SDK. It
// runs `go list -deps` on each main package under functions/, as built
// locally and for Lambda.
func TestFunctionsImportNoAWSSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	mains := strings.Fields(string(out))
	for _, want := range []string{"usersig", "calls", "session", "callbacks", "callsign"} {
		if !slices.Contains(mains, "github.com/callsign-dev/callsign/functions/"+want) {
			t.Fatalf("function package %s not found among %v", want, mains)
		}
	}
	for _, pkg := range mains {
		for _, tags := range []string{"", "lambda.norpc"} {
			t.Run(strings.TrimPrefix(pkg, "github.com/callsign-dev/callsign/")+"/tags="+tags, func(t *testing.T) {
				out, err := exec.Command("go", "list", "-deps", "-tags", tags, pkg).Output()
				if err != nil {
					t.Fatalf("go list -deps: %v", err)
				}
				deps := strings.Fields(string(out))
				if !slices.Contains(deps, "github.com/callsign-dev/callsign/shared/app") {
					t.Fatalf("implausible dependency list (%d packages, no shared/app)", len(deps))
				}
				for _, d := range deps {
					if strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(d, "github.com/aws/smithy-go") {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			})
		}
	}
}
