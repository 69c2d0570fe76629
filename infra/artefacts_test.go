//go:build unix

package infra

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// maxAWSZip is the most bytes one AWS function zip may have.
const maxAWSZip = 5_000_000

// Modules the per-cloud builds leave out or must keep.
const (
	modRedis     = "github.com/redis/go-redis/v9"
	modRedisRate = "github.com/go-redis/redis_rate/v10"
	modSCF       = "github.com/tencentyun/scf-go-lib"
	modTencent   = "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	modAWSSDK    = "github.com/aws/aws-sdk-go-v2"
	modSmithy    = "github.com/aws/smithy-go"
	modLambda    = "github.com/aws/aws-lambda-go"
)

// The build tags package.mk gives the AWS functions of a stage set whose
// limiters are not redis (the repository's serverless.yml).
const (
	tagsAWSNoRooms = "lambda.norpc,callsign.notencent,callsign.noredis,callsign.notrtcapi"
	tagsCallbacks  = "lambda.norpc,callsign.notencent,callsign.noredis"
)

// awsTags returns the build tags package.mk uses per AWS function when
// the stages' limiters come from yml, or make's error output.
func awsTags(t *testing.T, yml string) (map[string]string, error) {
	t.Helper()
	requireTool(t, "make", "package.mk is a make fragment")
	root := repoRoot(t)
	out, err := run(t, time.Minute, root, makeEnv, "make", "-s", "-f", filepath.Join(root, "infra", "package.mk"),
		"callsign-print-aws-tags", "CALLSIGN_SERVERLESS_YML="+yml)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	tags := map[string]string{}
	for line := range strings.Lines(out) {
		fn, tg, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			t.Fatalf("unexpected line %q from callsign-print-aws-tags", line)
		}
		tags[fn] = tg
	}
	return tags, nil
}

// TestAWSTagsFollowServerlessLimiter: the AWS builds carry Redis exactly
// when a stage's limiter in serverless.yml is redis, and only callbacks
// carries the TRTC cloud API client. A limiter make cannot read stops the
// build.
func TestAWSTagsFollowServerlessLimiter(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// The repository's file, read as YAML: which limiters do the stages use?
	var f struct {
		Params map[string]map[string]any `yaml:"params"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	repoRedis := false
	for _, p := range f.Params {
		if p["limiter"] == "redis" {
			repoRedis = true
		}
	}
	repoWant := map[string]string{"usersig": tagsAWSNoRooms, "calls": tagsAWSNoRooms, "session": tagsAWSNoRooms, "callbacks": tagsCallbacks}
	if repoRedis {
		for fn, tg := range repoWant {
			repoWant[fn] = strings.Replace(tg, ",callsign.noredis", "", 1)
		}
	}
	const redisRooms, redisCallbacks = "lambda.norpc,callsign.notencent,callsign.notrtcapi", "lambda.norpc,callsign.notencent"
	redisWant := map[string]string{"usersig": redisRooms, "calls": redisRooms, "session": redisRooms, "callbacks": redisCallbacks}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		yml     string
		want    map[string]string
		wantErr string
	}{
		{name: "repository", yml: filepath.Join(root, "serverless.yml"), want: repoWant},
		{name: "one stage on redis", want: redisWant,
			yml: write("stage-redis.yml", "params:\n  default:\n    limiter: dynamodb\n  prod:\n    limiter: 'redis'\nprovider:\n  environment:\n    limiter: redis\n")},
		{name: "redis only outside params", want: map[string]string{"usersig": tagsAWSNoRooms, "calls": tagsAWSNoRooms, "session": tagsAWSNoRooms, "callbacks": tagsCallbacks},
			yml: write("outside.yml", "params:\n  default:\n    limiter: memory\ncustom:\n  limiter: redis\n")},
		{name: "not a literal", yml: write("env.yml", "params:\n  default:\n    limiter: ${env:LIMITER}\n"),
			wantErr: "params limiter '${env:LIMITER}' is not a literal memory, redis or dynamodb"},
		{name: "no limiter", yml: write("none.yml", "params:\n  default:\n    stage: dev\n"), wantErr: "no params limiter found"},
		{name: "missing file", yml: filepath.Join(dir, "absent.yml"), wantErr: "no params limiter found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := awsTags(t, tt.yml)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("tags %v, error %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !mapsEqual(got, tt.want) {
				t.Fatalf("tags = %v, want %v", got, tt.want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// realBuild is the real module packaged twice by package.mk.
type realBuild struct {
	a, b string
	err  error
}

var (
	realOnce sync.Once
	real     realBuild
	realTemp string
)

// realPackages builds the repository's own zips (package-aws and
// package-tencent) twice into two clean directories, once per test binary.
// Skipped with -short: it builds six real binaries twice.
func realPackages(t *testing.T) realBuild {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the real function binaries twice; skipped with -short")
	}
	requireTool(t, "make", "package.mk is a make fragment")
	requireTool(t, "zip", "package.mk zips with zip -X")
	root := repoRoot(t)
	realOnce.Do(func() {
		dir, err := os.MkdirTemp("", "callsign-real-")
		if err != nil {
			real.err = err
			return
		}
		realTemp = dir // removed by TestMain
		real.a, real.b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
		for _, out := range []string{real.a, real.b} {
			if o, err := run(t, 15*time.Minute, root, makeEnv, "make", "-f", filepath.Join(root, "infra", "package.mk"),
				"package-aws", "package-tencent", "PACKAGE_OUT="+out); err != nil {
				real.err = fmt.Errorf("%w\n%s", err, o)
				return
			}
		}
	})
	if real.err != nil {
		t.Fatalf("packaging the repository: %v", real.err)
	}
	return real
}

// TestRealZipsReproducible: two clean builds of the repository's own zips,
// build tags and all, are byte-identical.
func TestRealZipsReproducible(t *testing.T) {
	b := realPackages(t)
	checkSameZips(t, b.a, b.b)
}

// TestRealAWSZipSize: every AWS zip is at most maxAWSZip bytes.
func TestRealAWSZipSize(t *testing.T) {
	b := realPackages(t)
	for _, name := range awsZips {
		t.Run(name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(b.a, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() > maxAWSZip {
				t.Errorf("%s is %d bytes, more than %d", name, fi.Size(), maxAWSZip)
			}
		})
	}
}

// linkedModules returns the modules recorded in the build info of the
// binary entry of a zip, and its -tags setting.
func linkedModules(t *testing.T, zipPath, entry string) (mods []string, tags string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != entry {
			continue
		}
		body := readEntry(t, f)
		bi, err := buildinfo.Read(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: build info: %v", entry, err)
		}
		for _, d := range bi.Deps {
			mods = append(mods, d.Path)
		}
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				tags = s.Value
			}
		}
		return mods, tags
	}
	t.Fatalf("%s has no entry %s", zipPath, entry)
	return nil, ""
}

// artefactModules says which modules one artefact must and must not link.
type artefactModules struct {
	entry     string
	forbidden []string
	required  []string
}

// checkModules fails unless the artefact links every required module and
// no forbidden one.
func checkModules(t *testing.T, zipPath string, want artefactModules) {
	t.Helper()
	mods, _ := linkedModules(t, zipPath, want.entry)
	for _, m := range want.forbidden {
		if slices.Contains(mods, m) {
			t.Errorf("links %s", m)
		}
	}
	for _, m := range want.required {
		if !slices.Contains(mods, m) {
			t.Errorf("does not link %s; modules: %v", m, mods)
		}
	}
}

// TestRealArtefactModules reads each packaged binary's module list: the
// AWS functions link no Redis (the stages use DynamoDB), no SCF runtime,
// and, except callbacks (which removes users from rooms), no Tencent Cloud
// SDK; no function links the AWS SDK (the runtime has its own small
// client). The Tencent binary keeps the SCF runtime, Redis and the TRTC
// client. Requiring a module shows the list was read.
func TestRealArtefactModules(t *testing.T) {
	b := realPackages(t)
	noSDK := []string{modAWSSDK, modSmithy}
	rooms := artefactModules{entry: "bootstrap",
		forbidden: slices.Concat([]string{modRedis, modRedisRate, modSCF, modTencent}, noSDK),
		required:  []string{modLambda}}
	callbacks := artefactModules{entry: "bootstrap",
		forbidden: slices.Concat([]string{modRedis, modRedisRate, modSCF}, noSDK),
		required:  []string{modLambda, modTencent}}
	tencent := artefactModules{entry: "main", forbidden: noSDK, required: []string{modSCF, modRedis, modRedisRate, modTencent}}
	tests := map[string]artefactModules{
		"aws/usersig.zip":            rooms,
		"aws/calls.zip":              rooms,
		"aws/session.zip":            rooms,
		"aws/callbacks.zip":          callbacks,
		"tencent/callsign-event.zip": tencent,
		"tencent/callsign-web.zip":   tencent,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			checkModules(t, filepath.Join(b.a, name), want)
		})
	}
}

// TestRedisStageBuildLinksRedis: with a stage on redis, package.mk builds
// the AWS functions with Redis (and still without the SCF runtime).
func TestRedisStageBuildLinksRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a real function binary; skipped with -short")
	}
	requireTool(t, "make", "package.mk is a make fragment")
	requireTool(t, "zip", "package.mk zips with zip -X")
	root := repoRoot(t)
	dir := t.TempDir()
	yml := filepath.Join(dir, "serverless.yml")
	if err := os.WriteFile(yml, []byte("params:\n  default:\n    limiter: dynamodb\n  staging:\n    limiter: redis\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if o, err := run(t, 10*time.Minute, root, makeEnv, "make", "-f", filepath.Join(root, "infra", "package.mk"),
		filepath.Join(out, "aws", "usersig.zip"), "PACKAGE_OUT="+out, "CALLSIGN_SERVERLESS_YML="+yml); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	zipPath := filepath.Join(out, "aws", "usersig.zip")
	if _, tags := linkedModules(t, zipPath, "bootstrap"); tags != "lambda.norpc,callsign.notencent,callsign.notrtcapi" {
		t.Errorf("-tags = %q, want lambda.norpc,callsign.notencent,callsign.notrtcapi", tags)
	}
	checkModules(t, zipPath, artefactModules{entry: "bootstrap",
		forbidden: []string{modSCF, modTencent}, required: []string{modRedis, modRedisRate, modLambda}})
}

// TestAWSBinaryRefusesWhatItLacks runs the usersig function built for this
// machine with the tags package.mk gives it on AWS, configured for a part
// those tags leave out: it exits with status 1 and an error naming the
// tag, never serving without it.
func TestAWSBinaryRefusesWhatItLacks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a real function binary; skipped with -short")
	}
	root := repoRoot(t)
	tags, err := awsTags(t, filepath.Join(root, "serverless.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tags["usersig"], "callsign.noredis") {
		t.Skip("a stage uses Redis, so the AWS binaries carry it")
	}
	bin := filepath.Join(t.TempDir(), "usersig")
	if o, err := run(t, 10*time.Minute, root, []string{"CGO_ENABLED=0", "GOFLAGS="}, "go", "build", "-trimpath", "-tags", tags["usersig"], "-o", bin, "./functions/usersig"); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	base := map[string]string{
		"PATH":                   os.Getenv("PATH"),
		"CALLSIGN_STAGE":         "local",
		"CALLSIGN_SECRET_SOURCE": "env",
		"CALLSIGN_SDK_APP_ID":    "1400000000",
		"CALLSIGN_SECRET_KEY":    strings.Repeat("k", 64),
		"CALLSIGN_VERIFIERS":     "session",
		"CALLSIGN_HTTP_ADDR":     "127.0.0.1:0",
	}
	tests := []struct {
		name    string
		env     map[string]string // "" removes a base variable
		wantMsg string
		wantErr string
	}{
		{"redis limiter", map[string]string{"CALLSIGN_LIMITER": "redis", "CALLSIGN_REDIS_URL": "redis://127.0.0.1:1/0"},
			"callsign: start-up failed",
			"app: CALLSIGN_LIMITER=redis: this binary was built without Redis support (build tag callsign.noredis); package it for the stage's configuration: not built into this binary"},
		{"tencent secret source", map[string]string{"CALLSIGN_SECRET_SOURCE": "tencent-ssm", "CALLSIGN_SECRET_KEY": "",
			"CALLSIGN_SECRET_NAME": "callsign", "CALLSIGN_SECRET_VERSION": "v1", "CALLSIGN_SECRET_REGION": "ap-guangzhou"},
			"callsign: start-up failed",
			"app: CALLSIGN_SECRET_SOURCE=tencent-ssm: this binary was built without the Tencent Cloud SSM secret source (build tag callsign.notencent); package it for the stage's configuration: not built into this binary"},
		// Refused before the configuration is read: this one would not load.
		{"scf go1 runtime", map[string]string{"_LAMBDA_SERVER_PORT": "1", "CALLSIGN_STAGE": "bogus"},
			"callsign: wrong platform for this binary",
			"this binary was built without the SCF Go1 event-function runtime (build tag callsign.notencent); deploy the Tencent package (functions/callsign)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			for k, v := range tt.env {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			cmd := exec.Command(bin)
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running after a minute; stderr:\n%s", stderr.String())
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("exit status %d (%v), want 1", code, err)
			}
			var errorLines []map[string]any
			for line := range strings.Lines(stderr.String()) {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "ERROR" {
					errorLines = append(errorLines, rec)
				}
			}
			if len(errorLines) != 1 || errorLines[0]["msg"] != tt.wantMsg || errorLines[0]["error"] != tt.wantErr {
				t.Errorf("error lines %v; want one with msg %q and error %q; stderr:\n%s", errorLines, tt.wantMsg, tt.wantErr, stderr.String())
			}
		})
	}
}
