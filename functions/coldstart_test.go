package functions_test

// Cold-start benchmarks: callsign's shipped AWS usersig function against
// the function an integrator writes in Node.js with the official npm
// package tls-sig-api-v2 (testdata/nodebaseline/bootstrap.js), both started
// from nothing through the same emulated runtime, alternately (callsign,
// Node, callsign, Node, ...) so that both see the same machine load.
//
// The callsign binary is the shipped artefact: infra/package.mk builds the
// AWS usersig zip (the same recipe, flags and build tags as `make
// package-aws`) for this machine's architecture, and the benchmarks run the
// bootstrap read back out of that zip. Both functions get the same
// environment (coldStartEnv) and the same event: an HTTP API v2 POST
// /v1/usersig with JWT authorizer claims, which each must answer 200 with a
// UserSig that verifies for the caller (checked outside the timed span).
//
//	go test ./functions -run '^$' -bench 'ColdStart|InitTrace' -benchtime 30x
//
// runs 30 rounds of each benchmark; docs/performance.md explains the
// figures.

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// coldStartSubject is the caller both contenders sign for.
const coldStartSubject = "auth0|cold-start-user"

// coldStartEvent is the event of every cold start.
func coldStartEvent() string {
	return v2Event("POST", "/v1/usersig", "203.0.113.200", map[string]string{"content-type": "application/json"}, map[string]string{"sub": coldStartSubject}, "{}")
}

// requireOrSkip fails the benchmark in CI and skips it elsewhere: the
// repository's rule for the npm oracle.
func requireOrSkip(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("cold-start contender unavailable in CI: "+format, args...)
	}
	tb.Skipf("cold-start contender unavailable ("+format+"); install Node >= 20, make and zip, and run `make deps-npm`", args...)
}

var shippedBuild struct {
	once sync.Once
	path string
	err  error
}

// shippedUsersig builds the AWS usersig zip with infra/package.mk for this
// machine's architecture (CALLSIGN_AWS_GOARCH) into binDir and returns the
// path of the bootstrap extracted from the zip. It is built once per test
// process.
func shippedUsersig(tb testing.TB) string {
	tb.Helper()
	for _, tool := range []string{"make", "zip"} {
		if _, err := exec.LookPath(tool); err != nil {
			requireOrSkip(tb, "%s not on PATH", tool)
		}
	}
	shippedBuild.once.Do(func() {
		shippedBuild.path, shippedBuild.err = buildShippedUsersig()
	})
	if shippedBuild.err != nil {
		tb.Fatalf("building the shipped usersig zip: %v", shippedBuild.err)
	}
	return shippedBuild.path
}

func buildShippedUsersig() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(binDir, "package")
	cmd := exec.Command("make", "--no-print-directory", "-f", filepath.Join(root, "infra", "package.mk"),
		"PACKAGE_OUT="+out, "CALLSIGN_AWS_GOARCH="+runtime.GOARCH, filepath.Join(out, "aws", "usersig.zip"))
	cmd.Dir = root
	// The caller's make settings must not leak into the build.
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MAKELEVEL=")
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make: %w\n%s", err, o)
	}
	zr, err := zip.OpenReader(filepath.Join(out, "aws", "usersig.zip"))
	if err != nil {
		return "", fmt.Errorf("opening the zip: %w", err)
	}
	defer zr.Close()
	f, err := zr.Open("bootstrap")
	if err != nil {
		return "", fmt.Errorf("zip: %w", err)
	}
	defer f.Close()
	path := filepath.Join(binDir, "shipped-usersig")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return "", fmt.Errorf("extracting the bootstrap: %w", err)
	}
	if _, err := io.Copy(dst, f); err != nil {
		dst.Close()
		return "", fmt.Errorf("extracting the bootstrap: %w", err)
	}
	if err := dst.Close(); err != nil {
		return "", fmt.Errorf("extracting the bootstrap: %w", err)
	}
	return path, nil
}

// nodeContender returns the command that runs the Node.js function.
func nodeContender(tb testing.TB) []string {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireOrSkip(tb, "node not on PATH")
	}
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "tls-sig-api-v2", "package.json")); err != nil {
		requireOrSkip(tb, "node_modules/tls-sig-api-v2 missing")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "nodebaseline", "bootstrap.js"))
	if err != nil {
		tb.Fatal(err)
	}
	return []string{node, script}
}

// contender is one function in a cold-start comparison.
type contender struct {
	name string   // metric prefix: "go" or "node"
	argv []string // the command that starts it
}

// contenders returns callsign's shipped usersig and the Node.js function.
func contenders(tb testing.TB) []contender {
	tb.Helper()
	node := nodeContender(tb)
	return []contender{{"go", []string{shippedUsersig(tb)}}, {"node", node}}
}

// freshCopy writes the executable at src into a new file in dir with a
// single write, syncs it to disk and returns its path; the caller removes
// it. The benchmarks start every contender (and the RIE) from a fresh copy
// in every round, untimed. Two byte-identical copies of one executable can
// start at stable but different speeds, by where the kernel placed each
// file in memory (docs/performance.md), so a run that started one copy in
// all its rounds carried a single draw of that placement in every figure.
// Fresh copies per round spread it over the rounds, for both contenders
// alike; syncing keeps the copy's writeback out of the timed starts.
func freshCopy(tb testing.TB, dir, src string) string {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatalf("fresh copy: %v", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(src)+"-*")
	if err != nil {
		tb.Fatalf("fresh copy: %v", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr, os.Chmod(f.Name(), 0o755)); err != nil {
		os.Remove(f.Name())
		tb.Fatalf("fresh copy of %s: %v", src, err)
	}
	return f.Name()
}

// freshArgv returns c's command with its executable replaced by a fresh
// copy in dir (freshCopy), and a function that removes the copy.
func freshArgv(tb testing.TB, dir string, c contender) ([]string, func()) {
	tb.Helper()
	exe := freshCopy(tb, dir, c.argv[0])
	return append([]string{exe}, c.argv[1:]...), func() { os.Remove(exe) }
}

// coldStartEnv is the environment of both contenders (the Runtime API
// address is added per run): the test configuration, the Go runtime
// settings of the shipped functions (shippedGoEnv; Node ignores them), and
// what Lambda sets in the environment of every zip-packaged function and
// that changes how a process starts, TZ=:UTC and LANG=en_US.UTF-8 (AWS's
// RIE sets the same two for zip artefacts). With TZ set, neither Go nor
// Node reads a time-zone file for its first local timestamp.
func coldStartEnv(tb testing.TB) map[string]string {
	tb.Helper()
	env := baseEnv()
	for k, v := range shippedGoEnv(tb) {
		env[k] = v
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = "callsign-dev-usersig"
	env["TZ"] = ":UTC"
	env["LANG"] = "en_US.UTF-8"
	return env
}

// checkColdStartReply fails unless body is an HTTP API response of 200
// carrying a UserSig for the cold-start caller.
func checkColdStartReply(tb testing.TB, who string, body []byte) {
	tb.Helper()
	var r struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.StatusCode != 200 {
		tb.Fatalf("%s answered %s (%v), want status 200", who, body, err)
	}
	checkUserSig(tb, []byte(r.Body), deriveUserID(tb, coldStartSubject))
}

// fakeColdStart starts c against a fresh fake Runtime API that already
// holds the event, and returns the time from just before exec to the
// arrival of the function's first /response post. The process and the
// Runtime API are gone when it returns.
func fakeColdStart(b *testing.B, dir string, c contender, event string) time.Duration {
	b.Helper()
	argv, remove := freshArgv(b, dir, c)
	defer remove()
	api := newRuntimeAPI(b)
	defer api.close()
	env := coldStartEnv(b)
	env["AWS_LAMBDA_RUNTIME_API"] = api.addr()
	_, result := api.enqueue(event)
	cmd := exec.Command(argv[0], argv[1:]...)
	t0 := time.Now()
	p := startCmd(b, cmd, env)
	defer p.kill()
	var res runtimeResult
	select {
	case res = <-result:
	case <-p.done:
		b.Fatalf("%s exited before answering: %v; output:\n%s", c.name, p.err, p.output)
	case <-time.After(waitLimit):
		b.Fatalf("%s did not answer; output:\n%s", c.name, p.output)
	}
	d := res.at.Sub(t0)
	if res.kind != "response" {
		b.Fatalf("%s posted %s: %s", c.name, res.kind, res.body)
	}
	checkColdStartReply(b, c.name, res.body)
	return d
}

// BenchmarkColdStart measures exec → first invocation response posted for
// callsign's shipped usersig and the Node.js function, each polling its own
// in-process fake Runtime API (e2e_test.go) that holds the event before the
// process starts. One iteration is one round: callsign, then Node.
//
// Metrics over the rounds: {go,node}-{min,median,max}-ms; speedup-{min,
// median,max} are node/go of those order statistics (speedup-median is the
// ratio of the medians); round-speedup-{min,median,max} are the order
// statistics of the per-round ratios node_i/go_i. ns/op is the wall time of
// a whole round (both starts, the checks and the teardown).
func BenchmarkColdStart(b *testing.B) {
	cs := contenders(b)
	event := coldStartEvent()
	dir := b.TempDir()
	times := make([][]float64, len(cs))
	for b.Loop() {
		for i, c := range cs {
			times[i] = append(times[i], ms(fakeColdStart(b, dir, c, event)))
		}
	}
	reportComparison(b, "", times[0], times[1])
}

// rieCold is one cold start through the RIE.
type rieCold struct {
	invoke time.Duration // the first invoke, posted → the RIE's answer
	initMs float64       // INIT REPORT durationMs: Lambda's Init Duration
	runMs  float64       // INVOKE RTDONE duration: Lambda's Duration
}

// rieColdStart starts the RIE with c as its function (untimed), then times
// the first invoke, which starts the function, to the RIE's answer, and
// reads the RIE's own measures of that cold start from its log.
//
// The RIE passes its own environment on to the function, so the RIE, a Go
// program, also runs with the contenders' environment (GOMAXPROCS=1
// included) in every round, callsign's and Node's alike; Lambda gives a
// function's environment to the function only.
func rieColdStart(b *testing.B, dir string, c contender, event string) rieCold {
	b.Helper()
	argv, remove := freshArgv(b, dir, c)
	defer remove()
	emulator := freshCopy(b, dir, rieExecutable())
	defer os.Remove(emulator)
	r := startRIEAt(b, emulator, coldStartEnv(b), argv...)
	t0 := time.Now()
	status, body := r.invoke(b, "cold-"+c.name, event)
	d := time.Since(t0)
	if status != 200 {
		b.Fatalf("RIE answered %d %s for %s", status, body, c.name)
	}
	checkColdStartReply(b, c.name, body)
	out := waitOutput(b, r.p, "INIT REPORT(", "INVOKE RTDONE(")
	ds, runs := initDurations(b, out), invokeDurations(b, out)
	if len(ds) != 1 || len(runs) != 1 {
		b.Fatalf("INIT REPORT durations %v and INVOKE RTDONE durations %v for %s, want one each; output:\n%s", ds, runs, c.name, r.p.output)
	}
	r.p.cmd.Process.Signal(syscall.SIGTERM)
	r.p.wait(b)
	return rieCold{invoke: d, initMs: ds[0], runMs: runs[0]}
}

// BenchmarkColdStartRIE is BenchmarkColdStart through AWS's Runtime
// Interface Emulator: the RIE is started (untimed) with the function as its
// bootstrap, and the first invoke, which makes the RIE start the function,
// is timed to the RIE's answer. One iteration is one round: callsign, then
// Node.
//
// Metrics, each set as in BenchmarkColdStart ({go,node}-*-ms, speedup-*,
// round-speedup-*):
//   - unprefixed: the first invoke as its client sees it, posted → the
//     RIE's answer. Besides the function's cold start this holds the RIE's
//     own work, and the RIE holds the answer until the runtime asks for
//     its next event; Lambda returns it as soon as the runtime posts it.
//   - init-: the durationMs of the RIE's INIT REPORT line, Lambda's Init
//     Duration (bootstrap start → the runtime's first /next).
//   - reported-: INIT REPORT durationMs plus the duration of the INVOKE
//     RTDONE line, Lambda's Init Duration plus Duration: the whole cold
//     invocation as the RIE measures it, bootstrap start → the runtime's
//     next /next after posting its answer.
func BenchmarkColdStartRIE(b *testing.B) {
	cs := contenders(b)
	buildRIE(b)
	event := coldStartEvent()
	dir := b.TempDir()
	invoke := make([][]float64, len(cs))
	inits := make([][]float64, len(cs))
	reported := make([][]float64, len(cs))
	for b.Loop() {
		for i, c := range cs {
			r := rieColdStart(b, dir, c, event)
			invoke[i] = append(invoke[i], ms(r.invoke))
			inits[i] = append(inits[i], r.initMs)
			reported[i] = append(reported[i], r.initMs+r.runMs)
		}
	}
	reportComparison(b, "", invoke[0], invoke[1])
	reportComparison(b, "init-", inits[0], inits[1])
	reportComparison(b, "reported-", reported[0], reported[1])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summary is the min, median and max of a sample.
type summary struct{ min, median, max float64 }

// summarize returns the summary of xs (the median of an even count is the
// mean of the middle two). xs must not be empty.
func summarize(xs []float64) summary {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{s[0], med, s[n-1]}
}

// reportComparison reports the summaries of the paired samples goMs and
// nodeMs (round i of each is one pair) and their speedups (node/go).
func reportComparison(b *testing.B, prefix string, goMs, nodeMs []float64) {
	b.Helper()
	if len(goMs) == 0 || len(goMs) != len(nodeMs) {
		b.Fatalf("%d callsign and %d Node rounds", len(goMs), len(nodeMs))
	}
	g, n := summarize(goMs), summarize(nodeMs)
	ratios := make([]float64, len(goMs))
	for i := range goMs {
		ratios[i] = nodeMs[i] / goMs[i]
	}
	r := summarize(ratios)
	for _, m := range []struct {
		unit  string
		value float64
	}{
		{"go-min-ms", g.min}, {"go-median-ms", g.median}, {"go-max-ms", g.max},
		{"node-min-ms", n.min}, {"node-median-ms", n.median}, {"node-max-ms", n.max},
		{"speedup-min", n.min / g.min}, {"speedup-median", n.median / g.median}, {"speedup-max", n.max / g.max},
		{"round-speedup-min", r.min}, {"round-speedup-median", r.median}, {"round-speedup-max", r.max},
	} {
		b.ReportMetric(m.value, prefix+m.unit)
	}
}

// --- package initialisation (GODEBUG=inittrace=1) -----------------------------

// initLine is one line of the runtime's inittrace output:
//
//	init <package> @<start> ms, <clock> ms clock, <bytes> bytes, <allocs> allocs
type initLine struct {
	pkg           string
	startMs       float64 // since the process started
	clockMs       float64 // wall time of the package's initialisation
	bytes, allocs int64
}

var initTraceLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

// parseInitTrace returns the inittrace lines of out, ignoring every other
// line; a line that starts like one but does not parse is an error.
func parseInitTrace(out string) ([]initLine, error) {
	var lines []initLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		text := sc.Text()
		if !strings.HasPrefix(text, "init ") {
			continue
		}
		m := initTraceLine.FindStringSubmatch(text)
		if m == nil {
			return nil, fmt.Errorf("inittrace: unrecognised line %q", text)
		}
		l := initLine{pkg: m[1]}
		var errs [4]error
		l.startMs, errs[0] = strconv.ParseFloat(m[2], 64)
		l.clockMs, errs[1] = strconv.ParseFloat(m[3], 64)
		l.bytes, errs[2] = strconv.ParseInt(m[4], 10, 64)
		l.allocs, errs[3] = strconv.ParseInt(m[5], 10, 64)
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("inittrace: line %q: %w", text, err)
			}
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("inittrace: %w", err)
	}
	return lines, nil
}

// traceInit runs the shipped usersig binary once with GODEBUG=inittrace=1
// and returns its init lines. The binary is given a configuration it
// refuses (an unknown stage), so it exits right after start-up; package
// initialisation, all that is traced, runs before main and is the same.
func traceInit(tb testing.TB, binary string) []initLine {
	tb.Helper()
	cmd := exec.Command(binary)
	cmd.Env = []string{"GODEBUG=inittrace=1", "CALLSIGN_STAGE=inittrace"}
	for k, v := range shippedGoEnv(tb) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		tb.Fatalf("running %s: %v\n%s", binary, err, out)
	}
	lines, err := parseInitTrace(string(out))
	if err != nil {
		tb.Fatal(err)
	}
	if len(lines) == 0 {
		tb.Fatalf("no inittrace lines in the output:\n%s", out)
	}
	return lines
}

// BenchmarkInitTrace runs the shipped usersig binary with
// GODEBUG=inittrace=1, once per iteration, and reports over the runs:
// init-{min,median,max}-ms, the sum of the init lines' clock times (all
// package initialisation before main), and init-done-median-ms, the median
// instant the last package finished (runtime start-up included). It logs
// the 10 packages with the highest median clock time.
func BenchmarkInitTrace(b *testing.B) {
	binary := shippedUsersig(b)
	var sums, done []float64
	perPkg := map[string][]float64{}
	for b.Loop() {
		lines := traceInit(b, binary)
		sum := 0.0
		for _, l := range lines {
			sum += l.clockMs
			perPkg[l.pkg] = append(perPkg[l.pkg], l.clockMs)
		}
		last := lines[len(lines)-1]
		sums = append(sums, sum)
		done = append(done, last.startMs+last.clockMs)
	}
	s := summarize(sums)
	b.ReportMetric(s.min, "init-min-ms")
	b.ReportMetric(s.median, "init-median-ms")
	b.ReportMetric(s.max, "init-max-ms")
	b.ReportMetric(summarize(done).median, "init-done-median-ms")
	type pkgCost struct {
		pkg    string
		median float64
	}
	var costs []pkgCost
	for pkg, xs := range perPkg {
		// A package missing from some runs counts 0 there.
		for len(xs) < len(sums) {
			xs = append(xs, 0)
		}
		costs = append(costs, pkgCost{pkg, summarize(xs).median})
	}
	slices.SortFunc(costs, func(a, b pkgCost) int {
		if a.median != b.median {
			if a.median > b.median {
				return -1
			}
			return 1
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	var top strings.Builder
	for _, c := range costs[:min(10, len(costs))] {
		fmt.Fprintf(&top, "\n  %7.3f ms  %s", c.median, c.pkg)
	}
	b.Logf("the 10 most expensive package initialisations (median clock over %d runs):%s", len(sums), top.String())
}

// TestInitTraceParses runs the shipped usersig binary once with
// GODEBUG=inittrace=1 and checks that its trace parses: the runtime's own
// line is there, and the lines are in start order.
func TestInitTraceParses(t *testing.T) {
	lines := traceInit(t, shippedUsersig(t))
	if !slices.ContainsFunc(lines, func(l initLine) bool { return l.pkg == "runtime" }) {
		t.Errorf("no init line for the runtime among %d lines", len(lines))
	}
	for i := 1; i < len(lines); i++ {
		if lines[i].startMs < lines[i-1].startMs {
			t.Errorf("line %d (%s @%v) starts before line %d (%s @%v)", i, lines[i].pkg, lines[i].startMs, i-1, lines[i-1].pkg, lines[i-1].startMs)
		}
	}
}

func TestParseInitTrace(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []initLine
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{
			name: "lines among other output",
			in: "init runtime @0.012 ms, 0.15 ms clock, 1024 bytes, 3 allocs\n" +
				`{"level":"ERROR","msg":"callsign: configuration failed"}` + "\n" +
				"init github.com/callsign-dev/callsign/shared/config @1.5 ms, 0 ms clock, 0 bytes, 0 allocs\n",
			want: []initLine{
				{pkg: "runtime", startMs: 0.012, clockMs: 0.15, bytes: 1024, allocs: 3},
				{pkg: "github.com/callsign-dev/callsign/shared/config", startMs: 1.5, clockMs: 0, bytes: 0, allocs: 0},
			},
		},
		{name: "malformed", in: "init runtime @x ms, 1 ms clock, 0 bytes, 0 allocs\n", wantErr: true},
		{name: "missing field", in: "init runtime @1 ms, 1 ms clock, 0 bytes\n", wantErr: true},
		{name: "overflow", in: "init runtime @1 ms, 1 ms clock, 99999999999999999999 bytes, 0 allocs\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseInitTrace(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseInitTrace(f *testing.F) {
	f.Add("init runtime @0.012 ms, 0.15 ms clock, 1024 bytes, 3 allocs\n")
	f.Add("init a @1 ms, 2 ms clock, 3 bytes, 4 allocs\nother\n")
	f.Fuzz(func(t *testing.T, in string) {
		lines, err := parseInitTrace(in)
		if err != nil {
			return
		}
		for _, l := range lines {
			if l.pkg == "" || l.startMs < 0 || l.clockMs < 0 || l.bytes < 0 || l.allocs < 0 {
				t.Errorf("parsed %+v from %q", l, in)
			}
		}
	})
}
