//go:build unix

package infra

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The zips package.mk must produce, relative to PACKAGE_OUT.
var (
	awsZips     = []string{"aws/usersig.zip", "aws/calls.zip", "aws/session.zip", "aws/callbacks.zip"}
	tencentZips = []string{"tencent/callsign-event.zip", "tencent/callsign-web.zip"}
)

// fixtureFunctions are the five packages package.mk builds. The fixture
// module gives each a trivial main so the packaging mechanics are tested
// independently of the real functions (which `make package-verify` covers).
var fixtureFunctions = []string{"usersig", "calls", "session", "callbacks", "callsign"}

// packageBuild is the result of building the fixture module twice.
type packageBuild struct {
	module string // fixture module root
	a, b   string // two PACKAGE_OUT directories built from clean
	err    error
}

var (
	buildOnce sync.Once
	build     packageBuild
	buildTemp string
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{buildTemp, realTemp} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(os.Stderr, "removing %s: %v\n", dir, err)
		}
	}
	os.Exit(code)
}

// makeEnv isolates the fixture builds from the caller's make and Go settings
// and keeps them offline.
var makeEnv = []string{"MAKEFLAGS=", "MAKELEVEL=", "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off", "GOWORK=off"}

// fixturePackages builds the fixture module's zips twice with infra/package.mk
// (package-aws package-tencent) into two clean directories, once per test
// binary.
func fixturePackages(t *testing.T) packageBuild {
	t.Helper()
	requireTool(t, "make", "package.mk is a make fragment")
	requireTool(t, "zip", "package.mk zips with zip -X")
	root := repoRoot(t)
	buildOnce.Do(func() {
		build.err = buildFixture(t, root)
	})
	if build.err != nil {
		t.Fatalf("building the fixture packages: %v", build.err)
	}
	return build
}

func buildFixture(t *testing.T, root string) error {
	dir, err := os.MkdirTemp("", "callsign-infra-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	buildTemp = dir
	module := filepath.Join(dir, "module")
	files := map[string]string{
		"go.mod": "module example.com/callsignfixture\n\ngo 1.26\n",
		// package.mk reads the AWS stages' limiter from serverless.yml.
		"serverless.yml": "params:\n  default:\n    limiter: dynamodb\n",
	}
	for _, fn := range fixtureFunctions {
		files[filepath.Join("functions", fn, "main.go")] = fmt.Sprintf("package main\n\nimport \"os\"\n\nfunc main() { _, _ = os.Stdout.WriteString(%q) }\n", fn)
	}
	for name, content := range files {
		path := filepath.Join(module, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
	}
	mk := filepath.Join(root, "infra", "package.mk")
	build.module = module
	build.a = filepath.Join(dir, "out-a")
	build.b = filepath.Join(dir, "out-b")
	for _, out := range []string{build.a, build.b} {
		if o, err := run(t, 5*time.Minute, module, makeEnv, "make", "-f", mk, "package-aws", "package-tencent", "PACKAGE_OUT="+out); err != nil {
			return fmt.Errorf("%w\n%s", err, o)
		}
	}
	return nil
}

// checkSameZips fails t unless every zip under dir a has the same bytes
// as under dir b.
func checkSameZips(t *testing.T, a, b string) {
	t.Helper()
	for _, name := range slices.Concat(awsZips, tencentZips) {
		t.Run(name, func(t *testing.T) {
			za, err := os.ReadFile(filepath.Join(a, name))
			if err != nil {
				t.Fatalf("first build: %v", err)
			}
			zb, err := os.ReadFile(filepath.Join(b, name))
			if err != nil {
				t.Fatalf("second build: %v", err)
			}
			if !bytes.Equal(za, zb) {
				t.Errorf("two clean builds differ: %d bytes vs %d bytes", len(za), len(zb))
			}
		})
	}
}

func TestZipsReproducible(t *testing.T) {
	b := fixturePackages(t)
	checkSameZips(t, b.a, b.b)
}

func TestPackageVerifyTarget(t *testing.T) {
	b := fixturePackages(t)
	out := filepath.Join(filepath.Dir(b.a), "out-verify")
	o, err := run(t, 5*time.Minute, b.module, makeEnv, "make", "-f", filepath.Join(repoRoot(t), "infra", "package.mk"), "package-verify", "PACKAGE_OUT="+out)
	if err != nil {
		t.Fatalf("make package-verify: %v\n%s", err, o)
	}
	if _, err := os.Stat(filepath.Join(out, "verify")); !os.IsNotExist(err) {
		t.Errorf("package-verify left %s/verify behind (stat error %v)", out, err)
	}
}

// zipWant describes one zip's expected layout.
type zipWant struct {
	entries []string          // exact entry names, in order
	binary  string            // the Go binary entry
	machine elf.Machine       // its architecture
	goarch  string            // GOARCH recorded in its build info
	tags    string            // -tags recorded in its build info
	extra   map[string]string // other entries whose bytes must equal a repo file
}

func TestZipLayout(t *testing.T) {
	b := fixturePackages(t)
	root := repoRoot(t)
	aws := zipWant{entries: []string{"bootstrap"}, binary: "bootstrap", machine: elf.EM_AARCH64, goarch: "arm64", tags: "lambda.norpc,callsign.notencent,callsign.noredis,callsign.notrtcapi"}
	callbacks := aws
	callbacks.tags = "lambda.norpc,callsign.notencent,callsign.noredis"
	tests := map[string]zipWant{
		"aws/usersig.zip":            aws,
		"aws/calls.zip":              aws,
		"aws/session.zip":            aws,
		"aws/callbacks.zip":          callbacks,
		"tencent/callsign-event.zip": {entries: []string{"main"}, binary: "main", machine: elf.EM_X86_64, goarch: "amd64"},
		"tencent/callsign-web.zip": {entries: []string{"main", "scf_bootstrap"}, binary: "main", machine: elf.EM_X86_64, goarch: "amd64",
			extra: map[string]string{"scf_bootstrap": filepath.Join(root, "infra", "tencent", "scf_bootstrap")}},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			checkZip(t, filepath.Join(b.a, name), want)
		})
	}
}

func checkZip(t *testing.T, path string, want zipWant) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, want.entries) {
		t.Fatalf("entries = %q, want %q (all at the zip root)", names, want.entries)
	}
	epoch := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range zr.File {
		if got := f.Mode(); got != 0o755 {
			t.Errorf("%s: mode %v, want -rwxr-xr-x", f.Name, got)
		}
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, epoch)
		}
		if len(f.Extra) != 0 {
			t.Errorf("%s: %d bytes of extra fields, want none (zip -X)", f.Name, len(f.Extra))
		}
		body := readEntry(t, f)
		if f.Name == want.binary {
			checkBinary(t, f.Name, body, want)
		}
		if ref, ok := want.extra[f.Name]; ok {
			wantBody, err := os.ReadFile(ref)
			if err != nil {
				t.Fatalf("reading %s: %v", ref, err)
			}
			if !bytes.Equal(body, wantBody) {
				t.Errorf("%s differs from the repository's copy", f.Name)
			}
		}
	}
}

func readEntry(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return body
}

func checkBinary(t *testing.T, name string, body []byte, want zipWant) {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: not an ELF binary: %v", name, err)
	}
	if ef.Machine != want.machine {
		t.Errorf("%s: machine %v, want %v", name, ef.Machine, want.machine)
	}
	if ef.Section(".symtab") != nil {
		t.Errorf("%s: has a symbol table; want stripped (-s)", name)
	}
	for _, sec := range ef.Sections {
		if strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("%s: has DWARF section %s; want none (-w)", name, sec.Name)
		}
	}
	// -buildid= leaves no Go build ID note (a build ID would differ
	// between otherwise identical builds of different checkouts).
	if ef.Section(".note.go.buildid") != nil {
		t.Errorf("%s: has a Go build ID note; want -buildid=", name)
	}
	if ef.Section(".interp") != nil {
		t.Errorf("%s: dynamically linked; want static (CGO_ENABLED=0)", name)
	}
	bi, err := buildinfo.Read(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: build info: %v", name, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	wantSettings := map[string]string{
		"-trimpath":   "true",
		"CGO_ENABLED": "0",
		"GOOS":        "linux",
		"GOARCH":      want.goarch,
		"-tags":       want.tags,
	}
	for k, v := range wantSettings {
		if settings[k] != v {
			t.Errorf("%s: build setting %s = %q, want %q", name, k, settings[k], v)
		}
	}
	for k := range settings {
		if strings.HasPrefix(k, "vcs.") {
			t.Errorf("%s: build info carries %s; want -buildvcs=false", name, k)
		}
	}
}
