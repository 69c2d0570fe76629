package functions_test

// The function binaries under AWS's own Lambda Runtime Interface Emulator
// (aws-lambda-rie, pinned by the tool directive in go.mod and built from
// the module cache). The RIE runs the binary as its bootstrap the first
// time it is invoked, serves it the real Runtime API, and prints AWS's
// INIT REPORT line. Its two listeners are moved off their defaults onto
// loopback ports chosen per run: the invoke endpoint
// (--runtime-interface-emulator-address, default 0.0.0.0:8080) and the
// Runtime API (--runtime-api-address, default 127.0.0.1:9001), so no RIE
// test binds a fixed port or a public interface. The fake Runtime API in
// e2e_test.go stays for what the RIE does not show: the exact /response and
// /error posts, their headers and the X-Ray error cause.

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/usersig"
)

// riePackage is the RIE's main package, named by go.mod's tool directive.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

var rieBuild struct {
	once sync.Once
	err  error
}

// buildRIE builds aws-lambda-rie into binDir once per test process.
func buildRIE(tb testing.TB) {
	tb.Helper()
	rieBuild.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			rieBuild.err = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", rieExecutable(), riePackage)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			rieBuild.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if rieBuild.err != nil {
		tb.Fatalf("building aws-lambda-rie: %v", rieBuild.err)
	}
}

// rie is a running RIE with one function binary as its bootstrap.
type rie struct {
	p   *proc
	url string
}

// startRIE runs function name under the RIE with baseEnv plus extra (the
// RIE hands its whole environment to the function). It returns once the
// invoke endpoint accepts connections; the function itself starts at the
// first invoke.
func startRIE(tb testing.TB, name string, extra map[string]string) *rie {
	tb.Helper()
	env := baseEnv()
	maps.Copy(env, extra)
	env["AWS_LAMBDA_FUNCTION_NAME"] = "callsign-dev-" + name
	return startRIECmd(tb, env, filepath.Join(binDir, name))
}

// startRIECmd runs the RIE with bootstrap (a command and its arguments) as
// the function and exactly env (plus the function timeout) as its
// environment, which the RIE hands to the function.
func startRIECmd(tb testing.TB, env map[string]string, bootstrap ...string) *rie {
	tb.Helper()
	buildRIE(tb)
	return startRIEAt(tb, rieExecutable(), env, bootstrap...)
}

// rieExecutable is the path of the RIE that buildRIE built.
func rieExecutable() string { return filepath.Join(binDir, "aws-lambda-rie") }

// startRIEAt is startRIECmd with the RIE executable at emulatorPath.
func startRIEAt(tb testing.TB, emulatorPath string, env map[string]string, bootstrap ...string) *rie {
	tb.Helper()
	emulator, runtimeAPI := "127.0.0.1:"+freePort(tb), "127.0.0.1:"+freePort(tb)
	for runtimeAPI == emulator {
		runtimeAPI = "127.0.0.1:" + freePort(tb)
	}
	env = maps.Clone(env)
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "30"
	args := append([]string{
		"--runtime-interface-emulator-address", emulator,
		"--runtime-api-address", runtimeAPI,
	}, bootstrap...)
	p := startCmd(tb, exec.Command(emulatorPath, args...), env)
	// SIGTERM first: the RIE then kills its runtime process; start's own
	// cleanup (registered earlier, so run later) only reaps the RIE.
	tb.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
			}
		}
	})
	dial(tb, p, emulator).Close()
	return &rie{p: p, url: "http://" + emulator + "/2015-03-31/functions/function/invocations"}
}

// invoke posts one event with the given request ID and returns the RIE's
// status and body.
func (r *rie) invoke(tb testing.TB, requestID, event string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest("POST", r.url, strings.NewReader(event))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-Amzn-RequestId", requestID)
	resp, err := (&http.Client{Timeout: waitLimit}).Do(req)
	if err != nil {
		tb.Fatalf("invoke %s: %v; output:\n%s", requestID, err, r.p.output)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, body
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9]+\.[0-9]+)\)`)
	invokeDone = regexp.MustCompile(`INVOKE RTDONE\(status: [a-z]+, produced bytes: [0-9]+, duration: ([0-9]+\.[0-9]+)ms\)`)
)

// initDurations returns the durationMs of every INIT REPORT line in out.
func initDurations(tb testing.TB, out string) []float64 {
	tb.Helper()
	return logDurations(tb, initReport, out)
}

// invokeDurations returns the duration of every INVOKE RTDONE line in out:
// the RIE's measure of an invoke, sent to the runtime → the runtime's next
// /next.
func invokeDurations(tb testing.TB, out string) []float64 {
	tb.Helper()
	return logDurations(tb, invokeDone, out)
}

// logDurations returns the number that re's one group captures, for every
// match of re in out.
func logDurations(tb testing.TB, re *regexp.Regexp, out string) []float64 {
	tb.Helper()
	var ds []float64
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		d, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			tb.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

// waitOutput waits until p's output holds every one of wants (the RIE may
// log after it has answered) and returns the output.
func waitOutput(tb testing.TB, p *proc, wants ...string) string {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		out := p.output.String()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(out, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			tb.Fatalf("output lacks %q:\n%s", missing, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rieHTTP is an HTTP-shaped response the function returned through the RIE.
type rieHTTP struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// rieInvokeHTTP invokes r with an HTTP event and decodes the function's
// HTTP response, which must carry the JSON content type and the request ID.
func rieInvokeHTTP(t *testing.T, r *rie, id, event string) rieHTTP {
	t.Helper()
	status, body := r.invoke(t, id, event)
	var resp rieHTTP
	if status != 200 || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("RIE answered %d %s", status, body)
	}
	if resp.Headers["X-Request-Id"] != id || resp.Headers["Content-Type"] != "application/json; charset=utf-8" || resp.IsBase64Encoded {
		t.Errorf("headers %v base64 %v, want X-Request-Id %s", resp.Headers, resp.IsBase64Encoded, id)
	}
	return resp
}

// TestRIE runs the usersig binary under the RIE for each event shape the
// Lambda adapter serves, then a binary that cannot start. The subtests run
// one after another.
func TestRIE(t *testing.T) {
	r := startRIE(t, "usersig", nil)
	var secrets []string
	httpInvoke := func(t *testing.T, id, event string) rieHTTP {
		t.Helper()
		return rieInvokeHTTP(t, r, id, event)
	}

	t.Run("http api v2", func(t *testing.T) {
		sub := "auth0|rie-user"
		resp := httpInvoke(t, "rie-v2-1", v2Event("POST", "/v1/usersig", "203.0.113.71", map[string]string{"content-type": "application/json"}, map[string]string{"sub": sub}, "{}"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
		}
		secrets = append(secrets, checkUserSig(t, []byte(resp.Body), deriveUserID(t, sub)).UserSig)

		resp = httpInvoke(t, "rie-v2-2", v2Event("POST", "/v1/usersig", "203.0.113.72", map[string]string{"content-type": "application/json"}, nil, "{}"))
		if resp.StatusCode != 401 || errorCode(t, []byte(resp.Body)) != "unauthenticated" {
			t.Errorf("no claims: status %d body %s", resp.StatusCode, resp.Body)
		}
		// The first invoke started the function: exactly one INIT REPORT.
		waitOutput(t, r.p, "INIT REPORT(")
		if ds := initDurations(t, r.p.output.String()); len(ds) != 1 || ds[0] <= 0 {
			t.Errorf("INIT REPORT durations %v, want one positive figure; output:\n%s", ds, r.p.output)
		}
		// Each invoke so far: one INVOKE RTDONE line with its duration
		// (BenchmarkColdStartRIE reads them). The RIE logs the line before
		// it answers, but its log reaches this process asynchronously.
		deadline := time.Now().Add(waitLimit)
		for len(invokeDurations(t, r.p.output.String())) < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if ds := invokeDurations(t, r.p.output.String()); len(ds) != 2 || ds[0] <= 0 || ds[1] <= 0 {
			t.Errorf("INVOKE RTDONE durations %v, want two positive figures; output:\n%s", ds, r.p.output)
		}
	})

	t.Run("rest v1", func(t *testing.T) {
		user := "rie_rest_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := `{"resource":"/v1/usersig","path":"/v1/usersig","httpMethod":"POST",
 "headers":{"Content-Type":"application/json","Authorization":"Bearer ` + tok + `"},
 "requestContext":{"requestId":"rest-rie","stage":"dev","identity":{"sourceIp":"198.51.100.71"}},
 "body":"{}","isBase64Encoded":false}`
		resp := httpInvoke(t, "rie-rest-1", ev)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
		}
		secrets = append(secrets, checkUserSig(t, []byte(resp.Body), user).UserSig)
	})

	t.Run("function url", func(t *testing.T) {
		user := "rie_url_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := `{"version":"2.0","routeKey":"$default","rawPath":"/v1/usersig","rawQueryString":"",
 "headers":{"content-type":"application/json","authorization":"Bearer ` + tok + `"},
 "requestContext":{"requestId":"url-rie","domainName":"abcdef.lambda-url.us-east-1.on.aws","http":{"method":"POST","path":"/v1/usersig","sourceIp":"192.0.2.71"}},
 "body":"e30=","isBase64Encoded":true}`
		resp := httpInvoke(t, "rie-url-1", ev)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
		}
		secrets = append(secrets, checkUserSig(t, []byte(resp.Body), user).UserSig)
	})

	t.Run("direct invoke", func(t *testing.T) {
		user := "rie_invoke_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		status, body := r.invoke(t, "rie-direct-1", `{"action":"usersig","data":{},"authorization":"Bearer `+tok+`"}`)
		var e envelope
		if status != 200 || json.Unmarshal(body, &e) != nil || !e.OK {
			t.Fatalf("RIE answered %d %s", status, body)
		}
		secrets = append(secrets, checkUserSig(t, e.Data, user).UserSig)

		status, body = r.invoke(t, "rie-direct-2", `{"action":"usersig","data":{}}`)
		e = envelope{}
		if status != 200 || json.Unmarshal(body, &e) != nil || e.OK || e.Error == nil || e.Error.Code != "unauthenticated" {
			t.Errorf("anonymous: RIE answered %d %s", status, body)
		}
	})

	t.Run("invocation error", func(t *testing.T) {
		status, body := r.invoke(t, "rie-error-1", `{"hello":"world"}`)
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		if status != 200 || json.Unmarshal(body, &e) != nil || e.ErrorType != "EventError" ||
			e.ErrorMessage != "awslambda: unrecognised event: expected an HTTP API 2.0, Function URL, REST API or direct-invoke payload" {
			t.Errorf("RIE answered %d %s", status, body)
		}
	})

	if r.p.exited() {
		t.Fatalf("the RIE exited: %v\n%s", r.p.err, r.p.output)
	}
	if ds := initDurations(t, r.p.output.String()); len(ds) > 1 {
		t.Errorf("%d INIT REPORT lines, want at most 1: the instance stays warm", len(ds))
	}
	r.p.assertClean(t, secrets...)

	// The other two AWS functions, each under its own RIE: its own
	// operation is served, another function's is not.
	t.Run("calls and session binaries", func(t *testing.T) {
		caller := "auth0|rie-caller"
		claims := map[string]string{"sub": caller}
		jsonType := map[string]string{"content-type": "application/json"}
		tests := []struct {
			name, event   string
			status        int
			code          string // error.code; "" for success
			notServedPath string
		}{
			{"calls", v2Event("POST", "/v1/calls", "203.0.113.81", jsonType, claims, `{"type":"video","userIDList":["`+deriveUserID(t, "auth0|rie-callee")+`"]}`), 200, "", "/v1/usersig"},
			{"session", v2Event("POST", "/v1/session", "203.0.113.82", jsonType, nil, `{}`), 400, "invalid_request", "/v1/calls"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				fr := startRIE(t, tt.name, nil)
				resp := rieInvokeHTTP(t, fr, "rie-"+tt.name+"-1", tt.event)
				var secrets []string
				if tt.code != "" {
					if resp.StatusCode != tt.status || errorCode(t, []byte(resp.Body)) != tt.code {
						t.Errorf("status %d body %s, want %d %q", resp.StatusCode, resp.Body, tt.status, tt.code)
					}
				} else {
					var created struct {
						PrivateMapKey string `json:"privateMapKey"`
						CallToken     string `json:"callToken"`
					}
					if resp.StatusCode != tt.status || json.Unmarshal([]byte(resp.Body), &created) != nil {
						t.Fatalf("status %d body %s, want %d", resp.StatusCode, resp.Body, tt.status)
					}
					secrets = append(secrets, created.PrivateMapKey, created.CallToken)
					if tk, err := usersig.Decode(created.PrivateMapKey); err != nil || tk.Identifier != deriveUserID(t, caller) || tk.PrivateMap == nil {
						t.Errorf("caller's PrivateMapKey %+v: %v", tk, err)
					}
				}
				resp = rieInvokeHTTP(t, fr, "rie-"+tt.name+"-2", v2Event("POST", tt.notServedPath, "203.0.113.83", jsonType, claims, "{}"))
				if resp.StatusCode != 404 || errorCode(t, []byte(resp.Body)) != "not_found" {
					t.Errorf("%s on %s: status %d body %s", tt.notServedPath, tt.name, resp.StatusCode, resp.Body)
				}
				if ds := initDurations(t, waitOutput(t, fr.p, "INIT REPORT(")); len(ds) != 1 {
					t.Errorf("INIT REPORT durations %v, want one", ds)
				}
				fr.p.assertClean(t, secrets...)
			})
		}
	})

	// A binary that cannot start reports the failure to the Runtime API's
	// init/error with fixed words (no configuration text) and exits 1: the
	// RIE answers the invoke with 502 and exactly that report.
	t.Run("start-up failure", func(t *testing.T) {
		bad := startRIE(t, "usersig", map[string]string{"CALLSIGN_STAGE": "bogus"})
		status, body := bad.invoke(t, "rie-fail-1", `{"action":"usersig","data":{}}`)
		const want = `{"errorMessage":"callsign: configuration failed","errorType":"Callsign.ConfigurationError"}`
		if status != http.StatusBadGateway || string(body) != want {
			t.Errorf("RIE answered %d %q, want 502 %s", status, body, want)
		}
		out := waitOutput(t, bad.p, "INIT RTDONE(status: error)", "exited: exit status 1", "Invoke DONE failed: Sandbox.Failure")
		if n := strings.Count(out, `"msg":"callsign: configuration failed"`); n != 1 {
			t.Errorf("%d configuration-failure lines, want 1:\n%s", n, out)
		}
		bad.p.assertClean(t)
	})
}
