// End-to-end tests of the real function binaries. TestMain builds
// ./functions/{usersig,calls,session,callsign} with -tags lambda.norpc, then
// the tests run them as subprocesses behind emulated runtimes:
//
//   - a fake AWS Lambda Runtime API (httptest) for the Lambda adapter;
//   - a net/rpc client built on scf-go-lib's own cloudfunction/messages
//     wire types, for the SCF / CloudBase Go1 adapter (served by scf-go-lib);
//   - plain HTTP for the SCF Web function mode;
//   - AWS's Runtime Interface Emulator (rie_test.go).
//
// Everything listens on and connects to 127.0.0.1 only (the SCF Go1 mode
// binds 0.0.0.0 as the platform requires; the client dials loopback).
// Every subprocess is killed by its own handle when its test ends.
package functions_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
	"gopkg.in/yaml.v3"

	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/metrics/emfcheck"
	"github.com/callsign-dev/callsign/shared/platform/web"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/usersig"
)

const (
	testAppID  = 1400000000
	testKey    = "5b6f1f4a0e0c9d3b8e2a7c1d4f6e8a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f"
	testWeChat = "wxTEST"
	// waitLimit bounds every wait on a subprocess so a broken binary fails
	// the test instead of hanging it.
	waitLimit = 60 * time.Second
)

// binDir holds the binaries TestMain built.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "callsign-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	for _, name := range []string{"usersig", "calls", "session", "callbacks", "callsign"} {
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", filepath.Join(dir, name), "./functions/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n%s", name, err, out)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

// baseEnv is the configuration every binary runs with. The subprocess gets
// only these variables (plus the platform's), never the test's environment.
func baseEnv() map[string]string {
	return map[string]string{
		"CALLSIGN_SECRET_SOURCE": "env",
		"CALLSIGN_SDK_APP_ID":    strconv.Itoa(testAppID),
		"CALLSIGN_SECRET_KEY":    testKey,
		"CALLSIGN_WECHAT_APP_ID": testWeChat,
		"CALLSIGN_VERIFIERS":     "cloudbase,session,gateway",
		"CALLSIGN_STAGE":         "local",
	}
}

// shippedGoEnv returns the Go runtime settings that serverless.yml puts in
// the environment of every AWS function (provider.environment GOMAXPROCS),
// read from the repository's serverless.yml so that the benchmarks start
// the binary the way Lambda does whatever that file says.
func shippedGoEnv(tb testing.TB) map[string]string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "serverless.yml"))
	if err != nil {
		tb.Fatalf("reading serverless.yml: %v", err)
	}
	var sls struct {
		Provider struct {
			Environment struct {
				GOMAXPROCS string `yaml:"GOMAXPROCS"`
			} `yaml:"environment"`
		} `yaml:"provider"`
	}
	if err := yaml.Unmarshal(raw, &sls); err != nil {
		tb.Fatalf("parsing serverless.yml: %v", err)
	}
	env := map[string]string{}
	if v := sls.Provider.Environment.GOMAXPROCS; v != "" {
		env["GOMAXPROCS"] = v
	}
	return env
}

// lockedBuffer collects a subprocess's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running function binary.
type proc struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	done   chan struct{}
	err    error
}

// start runs binary name from binDir with args and env; the process is killed when the test ends.
func start(tb testing.TB, name string, env map[string]string, args ...string) *proc {
	tb.Helper()
	return startCmd(tb, exec.Command(filepath.Join(binDir, name), args...), env)
}

// startCmd runs cmd with exactly env; the process is killed when the test
// ends.
func startCmd(tb testing.TB, cmd *exec.Cmd, env map[string]string) *proc {
	tb.Helper()
	p := &proc{cmd: cmd, output: &lockedBuffer{}, done: make(chan struct{})}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", p.cmd.Path, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(p.kill)
	return p
}

// kill ends the process by its own handle and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end by itself and returns its exit code.
func (p *proc) wait(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		tb.Fatalf("process did not exit; output:\n%s", p.output)
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	tb.Fatalf("waiting: %v", p.err)
	return -1
}

// assertClean fails if the process output contains any of the secrets.
func (p *proc) assertClean(tb testing.TB, secrets ...string) {
	tb.Helper()
	out := p.output.String()
	for _, s := range append([]string{testKey}, secrets...) {
		if s != "" && strings.Contains(out, s) {
			tb.Errorf("process output contains a secret (%d characters)", len(s))
		}
	}
}

// assertLogLines checks the process's real log output: at least one JSON
// line, and every JSON log line names the function and the platform exactly
// once (counted in the raw text: a JSON decoder keeps the last of two
// duplicate keys and would hide the repetition). Metric lines (shared/metrics)
// carry their own dimensions instead; on Lambda each must be valid EMF.
func (p *proc) assertLogLines(tb testing.TB, function, platform string) {
	tb.Helper()
	n, figures := 0, 0
	for line := range strings.Lines(p.output.String()) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		if strings.HasPrefix(line, `{"_aws":`) || strings.HasPrefix(line, `{"metrics":"callsign"`) {
			figures++
			if platform == "lambda" {
				if _, err := emfcheck.Validate([]byte(line)); err != nil {
					tb.Errorf("invalid EMF line: %v: %s", err, line)
				}
			}
			continue
		}
		n++
		if c := strings.Count(line, `"platform":`); c != 1 || !strings.Contains(line, `"platform":"`+platform+`"`) {
			tb.Errorf("log line names the platform %d times, want once as %q: %s", c, platform, line)
		}
		if c := strings.Count(line, `"function":`); c != 1 || !strings.Contains(line, `"function":"`+function+`"`) {
			tb.Errorf("log line names the function %d times, want once as %q: %s", c, function, line)
		}
	}
	if n == 0 {
		tb.Errorf("no JSON log lines in the output (%d metric lines):\n%s", figures, p.output)
	}
}

func deriveUserID(tb testing.TB, subject string) string {
	tb.Helper()
	d, err := identity.NewDeriver("hash", "")
	if err != nil {
		tb.Fatal(err)
	}
	id, err := d.Derive(subject)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func sessionToken(tb testing.TB, userID string) string {
	tb.Helper()
	tok, _, err := identity.MintSession(token.KeysFor("local", "", testKey, ""), userID, time.Now(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// usersigReply is the body of a successful usersig operation.
type usersigReply struct {
	SDKAppID   uint32 `json:"sdkAppID"`
	UserID     string `json:"userID"`
	UserSig    string `json:"userSig"`
	ExpiresAt  string `json:"expiresAt"`
	TTLSeconds int    `json:"ttlSeconds"`
}

// checkUserSig decodes a usersig reply and verifies the UserSig with the
// test key for exactly wantUser.
func checkUserSig(tb testing.TB, body []byte, wantUser string) usersigReply {
	tb.Helper()
	var r usersigReply
	if err := json.Unmarshal(body, &r); err != nil {
		tb.Fatalf("usersig reply %s: %v", body, err)
	}
	if r.SDKAppID != testAppID || r.UserID != wantUser || r.TTLSeconds != 86400 {
		tb.Errorf("usersig reply sdkAppID %d userID %q ttl %d, want %d %q 86400", r.SDKAppID, r.UserID, r.TTLSeconds, testAppID, wantUser)
	}
	tk, err := usersig.Decode(r.UserSig)
	if err != nil {
		tb.Fatalf("usersig.Decode: %v", err)
	}
	if tk.Identifier != wantUser || tk.SDKAppID != testAppID || tk.Expire != 86400 {
		tb.Errorf("UserSig identifier %q app %d expire %d", tk.Identifier, tk.SDKAppID, tk.Expire)
	}
	if _, err := usersig.Verify(r.UserSig, []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: wantUser, Now: time.Now()}); err != nil {
		tb.Errorf("UserSig does not verify with the test key: %v", err)
	}
	return r
}

// errorCode returns error.code of an HTTP error body.
func errorCode(tb testing.TB, body []byte) string {
	tb.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		tb.Fatalf("error body %s: %v", body, err)
	}
	return e.Error.Code
}

// --- fake AWS Lambda Runtime API -------------------------------------------

type invocation struct {
	id    string
	event []byte
}

type runtimeResult struct {
	id          string
	kind        string // "response" or "error"
	contentType string
	header      http.Header
	body        []byte
	// at is when the post reached the Runtime API.
	at time.Time
}

type runtimeAPI struct {
	srv   *httptest.Server
	queue chan invocation
	// initErrors receives every POST /2018-06-01/runtime/init/error.
	initErrors chan runtimeResult
	release    chan struct{}
	closeOnce  sync.Once
	seq        atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan runtimeResult
}

// newRuntimeAPI starts a fake Runtime API. Its cleanup releases parked
// long polls and cuts client connections before closing, so Close never
// waits on the runtime's /next request (the hang pitfall).
func newRuntimeAPI(tb testing.TB) *runtimeAPI {
	r := &runtimeAPI{queue: make(chan invocation, 16), initErrors: make(chan runtimeResult, 4), release: make(chan struct{}), waiting: map[string]chan runtimeResult{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{kind}", r.post)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", r.initError)
	r.srv = httptest.NewServer(mux)
	tb.Cleanup(r.close)
	return r
}

// close shuts the Runtime API down (once; the test's cleanup calls it too).
func (r *runtimeAPI) close() {
	r.closeOnce.Do(func() {
		close(r.release)
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
}

func (r *runtimeAPI) addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *runtimeAPI) next(w http.ResponseWriter, req *http.Request) {
	select {
	case inv := <-r.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:callsign-dev-usersig")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
		h.Set("Content-Type", "application/json")
		w.Write(inv.event)
	case <-r.release:
		http.Error(w, "runtime API shutting down", http.StatusServiceUnavailable)
	case <-req.Context().Done():
	}
}

func (r *runtimeAPI) post(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	kind := req.PathValue("kind")
	if kind != "response" && kind != "error" {
		http.NotFound(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	ch := r.waiting[req.PathValue("id")]
	delete(r.waiting, req.PathValue("id"))
	r.mu.Unlock()
	if ch == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	ch <- runtimeResult{id: req.PathValue("id"), kind: kind, contentType: req.Header.Get("Content-Type"), header: req.Header.Clone(), body: body, at: at}
}

// initError records an init error report; the Runtime API answers 202.
func (r *runtimeAPI) initError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	w.WriteHeader(http.StatusAccepted)
	select {
	case r.initErrors <- runtimeResult{kind: "init/error", contentType: req.Header.Get("Content-Type"), header: req.Header.Clone(), body: body}:
	default:
	}
}

// enqueue queues one event; the function's post arrives on the channel.
func (r *runtimeAPI) enqueue(event string) (id string, result <-chan runtimeResult) {
	id = fmt.Sprintf("req-%d", r.seq.Add(1))
	ch := make(chan runtimeResult, 1)
	r.mu.Lock()
	r.waiting[id] = ch
	r.mu.Unlock()
	r.queue <- invocation{id: id, event: []byte(event)}
	return id, ch
}

// invoke queues one event and waits for the function's post.
func (r *runtimeAPI) invoke(tb testing.TB, p *proc, event string) runtimeResult {
	tb.Helper()
	id, ch := r.enqueue(event)
	select {
	case res := <-ch:
		return res
	case <-p.done:
		tb.Fatalf("function exited during %s: %v; output:\n%s", id, p.err, p.output)
	case <-time.After(waitLimit):
		tb.Fatalf("no result for %s; output:\n%s", id, p.output)
	}
	return runtimeResult{}
}

func startLambda(tb testing.TB, name string) (*runtimeAPI, *proc) {
	tb.Helper()
	api := newRuntimeAPI(tb)
	env := baseEnv()
	maps.Copy(env, shippedGoEnv(tb))
	env["AWS_LAMBDA_RUNTIME_API"] = api.addr()
	env["AWS_LAMBDA_FUNCTION_NAME"] = "callsign-dev-" + name
	return api, start(tb, name, env)
}

func v2Event(method, path, ip string, headers map[string]string, claims map[string]string, body string) string {
	ev := map[string]any{
		"version": "2.0", "routeKey": method + " " + path, "rawPath": path, "rawQueryString": "",
		"headers": headers,
		"requestContext": map[string]any{
			"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
			"requestId": "gw-" + ip, "stage": "$default",
			"http": map[string]string{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": ip, "userAgent": "e2e"},
		},
		"body": body, "isBase64Encoded": false,
	}
	if claims != nil {
		ev["requestContext"].(map[string]any)["authorizer"] = map[string]any{"jwt": map[string]any{"claims": claims, "scopes": nil}}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

func TestLambda(t *testing.T) {
	api, p := startLambda(t, "usersig")
	var secrets []string

	// decodeHTTP decodes a payload 2.0 / Function URL / REST response.
	type httpResp struct {
		StatusCode        int                 `json:"statusCode"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Body              string              `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
		Cookies           []string            `json:"cookies"`
	}
	httpInvoke := func(t *testing.T, event string) (httpResp, map[string]json.RawMessage) {
		t.Helper()
		res := api.invoke(t, p, event)
		// aws-lambda-go posts a lambda.Handler's bytes as they are, typed
		// application/octet-stream: one JSON document, as encoding/json
		// wrote it, with no newline after it.
		if res.kind != "response" || res.contentType != "application/octet-stream" || !json.Valid(res.body) || bytes.HasSuffix(res.body, []byte("\n")) {
			t.Fatalf("post %s %q: %s", res.kind, res.contentType, res.body)
		}
		var r httpResp
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(res.body, &r); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(res.body, &raw)
		if r.IsBase64Encoded || r.Headers["Content-Type"] != "application/json; charset=utf-8" || r.Headers["X-Request-Id"] != res.id {
			t.Errorf("response headers %v base64 %v, want the JSON type and X-Request-Id %s", r.Headers, r.IsBase64Encoded, res.id)
		}
		return r, raw
	}
	keys := func(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }

	t.Run("http api v2 with authorizer claims", func(t *testing.T) {
		sub := "auth0|e2e-user-1"
		r, raw := httpInvoke(t, v2Event("POST", "/v1/usersig", "203.0.113.1", map[string]string{"content-type": "application/json"}, map[string]string{"sub": sub, "iss": "https://issuer.example"}, "{}"))
		if r.StatusCode != 200 {
			t.Fatalf("status %d body %s", r.StatusCode, r.Body)
		}
		if got := keys(raw); !reflect.DeepEqual(got, []string{"body", "cookies", "headers", "multiValueHeaders", "statusCode"}) {
			t.Errorf("response members %v", got)
		}
		if r.Cookies == nil || len(r.Cookies) != 0 {
			t.Errorf("cookies %v", r.Cookies)
		}
		reply := checkUserSig(t, []byte(r.Body), deriveUserID(t, sub))
		secrets = append(secrets, reply.UserSig)
	})

	t.Run("http api v2 unauthenticated", func(t *testing.T) {
		r, _ := httpInvoke(t, v2Event("POST", "/v1/usersig", "203.0.113.2", map[string]string{"content-type": "application/json"}, nil, "{}"))
		if r.StatusCode != 401 || errorCode(t, []byte(r.Body)) != "unauthenticated" {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("http api v2 health", func(t *testing.T) {
		r, _ := httpInvoke(t, v2Event("GET", "/healthz", "203.0.113.3", map[string]string{}, nil, ""))
		if r.StatusCode != 200 {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("rest v1 with session token", func(t *testing.T) {
		user := "e2e_rest_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := fmt.Sprintf(`{"resource":"/v1/usersig","path":"/v1/usersig","httpMethod":"POST",
 "headers":{"Content-Type":"application/json","Authorization":"Bearer %s"},
 "multiValueHeaders":{"Content-Type":["application/json"],"Authorization":["Bearer %s"]},
 "requestContext":{"requestId":"rest-1","stage":"dev","identity":{"sourceIp":"198.51.100.1"}},
 "body":"{\"ttlSeconds\":86400}","isBase64Encoded":false}`, tok, tok)
		r, raw := httpInvoke(t, ev)
		if r.StatusCode != 200 {
			t.Fatalf("status %d body %s", r.StatusCode, r.Body)
		}
		if got := keys(raw); !reflect.DeepEqual(got, []string{"body", "headers", "multiValueHeaders", "statusCode"}) {
			t.Errorf("response members %v", got)
		}
		if !reflect.DeepEqual(r.MultiValueHeaders["Content-Type"], []string{"application/json; charset=utf-8"}) {
			t.Errorf("multiValueHeaders %v", r.MultiValueHeaders)
		}
		secrets = append(secrets, checkUserSig(t, []byte(r.Body), user).UserSig)
	})

	t.Run("rest v1 ignores authorizer claims", func(t *testing.T) {
		ev := `{"path":"/v1/usersig","httpMethod":"POST","headers":{"Content-Type":"application/json"},
 "requestContext":{"identity":{"sourceIp":"198.51.100.2"},"authorizer":{"jwt":{"claims":{"sub":"forged"}},"claims":{"sub":"forged"}}},"body":"{}"}`
		r, _ := httpInvoke(t, ev)
		if r.StatusCode != 401 || errorCode(t, []byte(r.Body)) != "unauthenticated" {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("function url", func(t *testing.T) {
		user := "e2e_url_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := fmt.Sprintf(`{"version":"2.0","routeKey":"$default","rawPath":"/v1/usersig","rawQueryString":"",
 "headers":{"content-type":"application/json","authorization":"Bearer %s"},
 "requestContext":{"requestId":"url-1","domainName":"abcdef.lambda-url.us-east-1.on.aws","http":{"method":"POST","path":"/v1/usersig","sourceIp":"192.0.2.50"}},
 "body":"e30=","isBase64Encoded":true}`, tok)
		r, raw := httpInvoke(t, ev)
		if r.StatusCode != 200 {
			t.Fatalf("status %d body %s", r.StatusCode, r.Body)
		}
		if got := keys(raw); !reflect.DeepEqual(got, []string{"body", "cookies", "headers", "isBase64Encoded", "statusCode"}) {
			t.Errorf("response members %v", got)
		}
		secrets = append(secrets, checkUserSig(t, []byte(r.Body), user).UserSig)

		forged := `{"version":"2.0","rawPath":"/v1/usersig","headers":{},"requestContext":{"domainName":"abcdef.lambda-url.us-east-1.on.aws",
 "authorizer":{"jwt":{"claims":{"sub":"forged"}}},"http":{"method":"POST","sourceIp":"192.0.2.51"}},"body":"{}"}`
		r, _ = httpInvoke(t, forged)
		if r.StatusCode != 401 || errorCode(t, []byte(r.Body)) != "unauthenticated" {
			t.Errorf("forged claims: status %d body %s", r.StatusCode, r.Body)
		}
	})

	t.Run("direct invoke", func(t *testing.T) {
		res := api.invoke(t, p, `{"action":"usersig","data":{}}`)
		var env struct {
			OK    bool `json:"ok"`
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
			Data json.RawMessage `json:"data"`
		}
		if res.kind != "response" || json.Unmarshal(res.body, &env) != nil || env.OK || env.Error.Code != "unauthenticated" {
			t.Errorf("unauthenticated invoke: %s %s", res.kind, res.body)
		}
		user := "e2e_invoke_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		res = api.invoke(t, p, `{"action":"usersig","data":{},"authorization":"Bearer `+tok+`"}`)
		env.OK, env.Data = false, nil
		if res.kind != "response" || json.Unmarshal(res.body, &env) != nil || !env.OK {
			t.Fatalf("authenticated invoke: %s %s", res.kind, res.body)
		}
		secrets = append(secrets, checkUserSig(t, env.Data, user).UserSig)

		res = api.invoke(t, p, `{"action":"call.create","data":{},"authorization":"Bearer `+tok+`"}`)
		env.Error.Code = ""
		if json.Unmarshal(res.body, &env) != nil || env.OK || env.Error.Code != "not_found" {
			t.Errorf("disabled operation: %s", res.body)
		}
	})

	t.Run("undecodable events reach /error", func(t *testing.T) {
		tests := []struct {
			event, errorType, message string
		}{
			{`not json`, "EventError", "awslambda: event is not a JSON object of a known shape"},
			{`{"hello":"world"}`, "EventError", "awslambda: unrecognised event: expected an HTTP API 2.0, Function URL, REST API or direct-invoke payload"},
		}
		for _, tt := range tests {
			res := api.invoke(t, p, tt.event)
			var e struct {
				ErrorMessage string `json:"errorMessage"`
				ErrorType    string `json:"errorType"`
			}
			if res.kind != "error" || res.contentType != "application/json" || json.Unmarshal(res.body, &e) != nil {
				t.Fatalf("post %s %q %s", res.kind, res.contentType, res.body)
			}
			if e.ErrorType != tt.errorType || e.ErrorMessage != tt.message {
				t.Errorf("error %+v, want %s %q", e, tt.errorType, tt.message)
			}
			if res.header.Get("Lambda-Runtime-Function-Xray-Error-Cause") == "" {
				t.Error("no X-Ray error cause header")
			}
		}
		// The function keeps serving after invocation errors.
		r, _ := httpInvoke(t, v2Event("GET", "/healthz", "203.0.113.4", map[string]string{}, nil, ""))
		if r.StatusCode != 200 {
			t.Errorf("health after errors: %d", r.StatusCode)
		}
	})

	if p.exited() {
		t.Fatalf("function exited: %v\n%s", p.err, p.output)
	}
	// On Lambda no handler catches SIGTERM (launch.handlesSignals): the
	// signal's default action ends the process.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("after SIGTERM: %v, want the process ended by SIGTERM", p.cmd.ProcessState)
	}
	p.assertClean(t, secrets...)
	p.assertLogLines(t, "usersig", "lambda")
}

// --- SCF Go1 (net/rpc) -----------------------------------------------------

// freePort returns a port that was free a moment ago, for the programs
// that take a port number up front: scf-go-lib (_LAMBDA_SERVER_PORT) and
// the Runtime Interface Emulator. A Web function listens on port 0 instead
// (webAddr).
func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// dial connects to a starting process, retrying until it listens.
func dial(tb testing.TB, p *proc, addr string) net.Conn {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c
		}
		if p.exited() || time.Now().After(deadline) {
			tb.Fatalf("dial %s: %v; output:\n%s", addr, err, p.output)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webAddr waits until p, started with CALLSIGN_HTTP_ADDR=127.0.0.1:0, logs
// the address its HTTP server listens on (web.ListeningMessage) and
// returns it: no port is picked in advance, so none can be taken by another
// process in between.
func webAddr(tb testing.TB, p *proc) string {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for line := range strings.Lines(p.output.String()) {
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == web.ListeningMessage {
				if host, port, err := net.SplitHostPort(l.Addr); err != nil || host != "127.0.0.1" || port == "0" {
					tb.Fatalf("listening address %q, want 127.0.0.1 and the port it got", l.Addr)
				}
				return l.Addr
			}
		}
		if p.exited() || time.Now().After(deadline) {
			tb.Fatalf("no listening address logged; output:\n%s", p.output)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type scfClient struct {
	c   *rpc.Client
	p   *proc
	seq int
}

// startSCF runs the callsign binary as a Go1 event function; extra adds to
// or overrides baseEnv.
func startSCF(tb testing.TB, extra map[string]string) *scfClient {
	tb.Helper()
	port := freePort(tb)
	env := baseEnv()
	maps.Copy(env, extra)
	env["_LAMBDA_SERVER_PORT"] = port
	env["TENCENTCLOUD_RUNENV"] = "SCF"
	p := start(tb, "callsign", env)
	c := rpc.NewClient(dial(tb, p, "127.0.0.1:"+port))
	tb.Cleanup(func() { c.Close() })
	return &scfClient{c: c, p: p}
}

func (s *scfClient) invoke(tb testing.TB, payload string, environment map[string]string) messages.InvokeResponse {
	tb.Helper()
	s.seq++
	req := messages.InvokeRequest{
		Payload:         []byte(payload),
		RequestId:       fmt.Sprintf("scf-req-%d", s.seq),
		Deadline:        messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(30 * time.Second).Unix()},
		FunctionName:    "callsign",
		Namespace:       "default",
		MemoryLimitInMb: 128,
		TimeLimitInMs:   30000,
	}
	if environment != nil {
		b, _ := json.Marshal(environment)
		req.Environment = string(b)
	}
	var resp messages.InvokeResponse
	call := s.c.Go("Function.Invoke", &req, &resp, nil)
	select {
	case <-call.Done:
	case <-time.After(waitLimit):
		tb.Fatalf("Function.Invoke timed out; output:\n%s", s.p.output)
	}
	if call.Error != nil {
		tb.Fatalf("Function.Invoke: %v", call.Error)
	}
	return resp
}

// envelope is a callFunction reply.
type envelope struct {
	OK    bool            `json:"ok"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *scfClient) call(tb testing.TB, payload string, environment map[string]string) envelope {
	tb.Helper()
	resp := s.invoke(tb, payload, environment)
	if resp.Error != nil {
		tb.Fatalf("invocation error %+v", resp.Error)
	}
	var e envelope
	if err := json.Unmarshal(resp.Payload, &e); err != nil {
		tb.Fatalf("envelope %s: %v", resp.Payload, err)
	}
	return e
}

func wxEnv(openid, appid string) map[string]string {
	return map[string]string{
		"WX_CONTEXT_KEYS": "WX_OPENID,WX_APPID,WX_UNIONID,WX_API_TOKEN,SOURCE",
		"WX_OPENID":       openid,
		"WX_APPID":        appid,
		"WX_API_TOKEN":    "wx-api-token-not-for-logs",
		"SOURCE":          "wx_client",
		"WX_CLIENTIP":     "198.51.100.77",
	}
}

func TestSCFGo1(t *testing.T) {
	s := startSCF(t, nil)
	var secrets []string

	var pong messages.PingResponse
	if err := s.c.Call("Function.Ping", &messages.PingRequest{}, &pong); err != nil {
		t.Fatalf("Function.Ping: %v", err)
	}

	userA, userB := deriveUserID(t, "oUserA"), deriveUserID(t, "oUserB")
	usersigPayload := `{"action":"usersig","data":{}}`

	t.Run("identity never leaks between invocations", func(t *testing.T) {
		e := s.call(t, usersigPayload, wxEnv("oUserA", testWeChat))
		if !e.OK {
			t.Fatalf("A refused: %+v", e.Error)
		}
		secrets = append(secrets, checkUserSig(t, e.Data, userA).UserSig)

		for name, env := range map[string]map[string]string{
			"no environment":    nil,
			"empty environment": {},
			"no WX_OPENID":      {"WX_APPID": testWeChat, "SOURCE": "wx_client"},
		} {
			e = s.call(t, usersigPayload, env)
			if e.OK || e.Error == nil || e.Error.Code != "unauthenticated" {
				t.Errorf("%s: got %+v", name, e)
			}
		}
	})

	t.Run("mismatched WX_APPID is refused", func(t *testing.T) {
		e := s.call(t, usersigPayload, wxEnv("oUserA", "wxOTHER"))
		if e.OK || e.Error == nil || e.Error.Code != "unauthenticated" {
			t.Errorf("got %+v", e)
		}
	})

	t.Run("data and userInfo claiming another user change nothing", func(t *testing.T) {
		victim := `,"userInfo":{"openId":"oVictim","appId":"` + testWeChat + `"}`
		e := s.call(t, `{"action":"usersig","data":{}`+victim+`}`, wxEnv("oUserA", testWeChat))
		if !e.OK {
			t.Fatalf("refused: %+v", e.Error)
		}
		secrets = append(secrets, checkUserSig(t, e.Data, userA).UserSig)

		e = s.call(t, `{"action":"usersig","data":{}`+victim+`}`, nil)
		if e.OK || e.Error.Code != "unauthenticated" {
			t.Errorf("userInfo alone: got %+v", e)
		}
		e = s.call(t, `{"action":"usersig","data":{"userID":"`+deriveUserID(t, "oVictim")+`"}}`, wxEnv("oUserA", testWeChat))
		if e.OK || e.Error.Code != "invalid_request" {
			t.Errorf("userID in data: got %+v", e)
		}
	})

	t.Run("call.create and call.join", func(t *testing.T) {
		e := s.call(t, `{"action":"call.create","data":{"type":"video","userIDList":["`+userB+`"]}}`, wxEnv("oUserA", testWeChat))
		if !e.OK {
			t.Fatalf("create refused: %+v", e.Error)
		}
		var created struct {
			CallID        string          `json:"callID"`
			RoomID        json.RawMessage `json:"roomID"`
			PrivateMapKey string          `json:"privateMapKey"`
			Privileges    int             `json:"privileges"`
			CallToken     string          `json:"callToken"`
		}
		if err := json.Unmarshal(e.Data, &created); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, created.PrivateMapKey, created.CallToken)
		if tk, err := usersig.Decode(created.PrivateMapKey); err != nil || tk.Identifier != userA || tk.PrivateMap == nil || created.Privileges != 63 {
			t.Errorf("caller ticket %+v privileges %d: %v", tk, created.Privileges, err)
		}

		join := `{"action":"call.join","data":{"callToken":"` + created.CallToken + `"}}`
		e = s.call(t, join, wxEnv("oUserB", testWeChat))
		if !e.OK {
			t.Fatalf("join refused: %+v", e.Error)
		}
		var joined struct {
			CallID        string `json:"callID"`
			PrivateMapKey string `json:"privateMapKey"`
			Privileges    int    `json:"privileges"`
		}
		if err := json.Unmarshal(e.Data, &joined); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, joined.PrivateMapKey)
		if tk, err := usersig.Decode(joined.PrivateMapKey); err != nil || tk.Identifier != userB || joined.CallID != created.CallID || joined.Privileges != 62 {
			t.Errorf("invitee ticket %+v call %q privileges %d: %v", tk, joined.CallID, joined.Privileges, err)
		}

		e = s.call(t, join, wxEnv("oUserC", testWeChat))
		if e.OK || e.Error.Code != "not_invited" {
			t.Errorf("uninvited join: got %+v", e)
		}
		e = s.call(t, join, nil)
		if e.OK || e.Error.Code != "unauthenticated" {
			t.Errorf("anonymous join: got %+v", e)
		}
	})

	type scfHTTP struct {
		IsBase64Encoded *bool          `json:"isBase64Encoded"`
		StatusCode      int            `json:"statusCode"`
		Headers         map[string]any `json:"headers"`
		Body            string         `json:"body"`
	}
	decode := func(t *testing.T, resp messages.InvokeResponse) scfHTTP {
		t.Helper()
		if resp.Error != nil {
			t.Fatalf("invocation error %+v", resp.Error)
		}
		var r scfHTTP
		if err := json.Unmarshal(resp.Payload, &r); err != nil {
			t.Fatal(err)
		}
		if r.Headers["Content-Type"] != "application/json; charset=utf-8" || r.Headers["X-Request-Id"] != fmt.Sprintf("scf-req-%d", s.seq) {
			t.Errorf("headers %v", r.Headers)
		}
		return r
	}

	t.Run("api gateway event", func(t *testing.T) {
		user := "e2e_apigw_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := func(auth string) string {
			return `{"requestContext":{"serviceId":"service-e2e","path":"/","httpMethod":"POST","requestId":"apigw-1","identity":{},"sourceIp":"203.0.113.60","stage":"release"},
 "headers":{"content-type":"application/json"` + auth + `},"body":"{}","path":"/v1/usersig","queryString":{"v":["1","2"],"debug":true},"httpMethod":"POST",
 "pathParameters":{},"queryStringParameters":{},"headerParameters":{},"stageVariables":{}}`
		}
		// An HTTP event is served only from its Authorization header; a
		// WX_APPID in the Environment is not an identity.
		noCaller := map[string]string{"WX_APPID": testWeChat}
		r := decode(t, s.invoke(t, ev(`,"authorization":"Bearer `+tok+`"`), noCaller))
		if r.StatusCode != 200 || r.IsBase64Encoded == nil || *r.IsBase64Encoded {
			t.Fatalf("status %d base64 %v body %s", r.StatusCode, r.IsBase64Encoded, r.Body)
		}
		secrets = append(secrets, checkUserSig(t, []byte(r.Body), user).UserSig)

		r = decode(t, s.invoke(t, ev(""), noCaller))
		if r.StatusCode != 401 || errorCode(t, []byte(r.Body)) != "unauthenticated" {
			t.Errorf("status %d body %s", r.StatusCode, r.Body)
		}

		// With WX_OPENID the invocation is a mini-program's callFunction, so
		// the "event" is client-made: refused, whatever it carries.
		resp := s.invoke(t, ev(`,"authorization":"Bearer `+tok+`"`), wxEnv("oUserA", testWeChat))
		want := messages.InvokeResponse_Error{Message: "scf: HTTP event in a callFunction invocation from a mini-program: the payload must carry an action", Type: "EventError"}
		if resp.Error == nil || !reflect.DeepEqual(*resp.Error, want) || resp.Payload != nil {
			t.Errorf("client-made HTTP event: %+v %s, want %+v", resp.Error, resp.Payload, want)
		}
	})

	t.Run("function url event", func(t *testing.T) {
		user := "e2e_scfurl_user"
		tok := sessionToken(t, user)
		secrets = append(secrets, tok)
		ev := `{"body":"{}","headers":{"content-type":"application/json","x-scf-remote-addr":"192.0.2.99","authorization":"Bearer ` + tok + `"},"httpMethod":"POST","path":"/v1/usersig","queryString":{}}`
		r := decode(t, s.invoke(t, ev, nil))
		if r.StatusCode != 200 || r.IsBase64Encoded != nil {
			t.Fatalf("status %d base64 %v body %s", r.StatusCode, r.IsBase64Encoded, r.Body)
		}
		secrets = append(secrets, checkUserSig(t, []byte(r.Body), user).UserSig)
	})

	t.Run("unknown payload", func(t *testing.T) {
		resp := s.invoke(t, `{"hello":"world"}`, nil)
		if resp.Error == nil || resp.Error.Type != "EventError" || resp.Error.ShouldExit || resp.Payload != nil {
			t.Errorf("response %+v %s", resp.Error, resp.Payload)
		}
	})

	// scf-go-lib gives a request without Deadline an already expired
	// context; the adapter falls back to TimeLimitInMs.
	t.Run("zero Deadline falls back to TimeLimitInMs", func(t *testing.T) {
		req := messages.InvokeRequest{Payload: []byte(usersigPayload), RequestId: "zero-deadline", TimeLimitInMs: 30000}
		b, _ := json.Marshal(wxEnv("oUserA", testWeChat))
		req.Environment = string(b)
		var resp messages.InvokeResponse
		if err := s.c.Call("Function.Invoke", &req, &resp); err != nil || resp.Error != nil {
			t.Fatalf("Invoke: %v %+v", err, resp.Error)
		}
		var e envelope
		if err := json.Unmarshal(resp.Payload, &e); err != nil || !e.OK {
			t.Fatalf("envelope %s: %v", resp.Payload, err)
		}
		secrets = append(secrets, checkUserSig(t, e.Data, userA).UserSig)
	})

	if s.p.exited() {
		t.Fatalf("function exited: %v\n%s", s.p.err, s.p.output)
	}

	// SIGTERM ends the process with status 0 (scf-go-lib's listener has no
	// shutdown of its own).
	if err := s.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; output:\n%s", code, s.p.output)
	}
	s.p.assertClean(t, append(secrets, "wx-api-token-not-for-logs")...)
	s.p.assertLogLines(t, "callsign", "scf")
}

// TestSCFGo1ConcurrentInvocations overlaps 64 callFunction invocations of
// several callers, anonymous ones and a foreign app on one connection (the
// runtime may multiplex), after an invocation whose WX_OPENID scf-go-lib
// left in the process environment: each answer must be for exactly its own
// caller, and no anonymous one may be served as the stale caller.
func TestSCFGo1ConcurrentInvocations(t *testing.T) {
	s := startSCF(t, map[string]string{"CALLSIGN_RATE_LIMITS": "usersig=1000/1m:1000,auth.fail=1000/1m:1000"})
	first := s.call(t, `{"action":"usersig","data":{}}`, wxEnv("oStale", testWeChat))
	if !first.OK {
		t.Fatalf("first invocation refused: %+v", first.Error)
	}
	secrets := []string{checkUserSig(t, first.Data, deriveUserID(t, "oStale")).UserSig}
	callers := []struct {
		env      map[string]string
		wantUser string // "" means refused as unauthenticated
	}{
		{wxEnv("oConcA", testWeChat), deriveUserID(t, "oConcA")},
		{nil, ""},
		{wxEnv("oConcB", testWeChat), deriveUserID(t, "oConcB")},
		{map[string]string{"WX_APPID": testWeChat, "SOURCE": "wx_client"}, ""},
		{wxEnv("oConcC", testWeChat), deriveUserID(t, "oConcC")},
		{wxEnv("oConcD", "wxOTHER"), ""},
	}
	type pending struct {
		caller int
		resp   *messages.InvokeResponse
		call   *rpc.Call
	}
	var calls []pending
	for i := range 64 {
		c := i % len(callers)
		req := messages.InvokeRequest{
			Payload:       []byte(`{"action":"usersig","data":{}}`),
			RequestId:     fmt.Sprintf("conc-%d", i),
			Deadline:      messages.InvokeRequest_Timestamp{Seconds: time.Now().Add(30 * time.Second).Unix()},
			TimeLimitInMs: 30000,
		}
		if env := callers[c].env; env != nil {
			b, _ := json.Marshal(env)
			req.Environment = string(b)
		}
		resp := &messages.InvokeResponse{}
		calls = append(calls, pending{caller: c, resp: resp, call: s.c.Go("Function.Invoke", &req, resp, nil)})
	}
	for i, p := range calls {
		select {
		case <-p.call.Done:
		case <-time.After(waitLimit):
			t.Fatalf("invocation %d timed out; output:\n%s", i, s.p.output)
		}
		if p.call.Error != nil || p.resp.Error != nil {
			t.Fatalf("invocation %d: %v %+v", i, p.call.Error, p.resp.Error)
		}
		var e envelope
		if err := json.Unmarshal(p.resp.Payload, &e); err != nil {
			t.Fatalf("invocation %d: envelope %s: %v", i, p.resp.Payload, err)
		}
		want := callers[p.caller].wantUser
		if want == "" {
			if e.OK || e.Error == nil || e.Error.Code != "unauthenticated" {
				t.Errorf("invocation %d (caller %d): got %+v, want unauthenticated", i, p.caller, e)
			}
			continue
		}
		if !e.OK {
			t.Errorf("invocation %d (caller %d) refused: %+v", i, p.caller, e.Error)
			continue
		}
		secrets = append(secrets, checkUserSig(t, e.Data, want).UserSig)
	}
	s.p.assertClean(t, append(secrets, "wx-api-token-not-for-logs")...)
}

// --- SCF Web function (HTTP) -------------------------------------------------

func TestWebFunction(t *testing.T) {
	env := baseEnv()
	env["TENCENTCLOUD_RUNENV"] = "SCF"
	env["CALLSIGN_HTTP_ADDR"] = "127.0.0.1:0"
	p := start(t, "callsign", env)
	addr := webAddr(t, p)
	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}

	user := "e2e_web_user"
	tok := sessionToken(t, user)
	post := func(auth string) (int, []byte) {
		req, _ := http.NewRequest("POST", base+"/v1/usersig", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := post("Bearer " + tok)
	if status != 200 {
		t.Fatalf("status %d body %s", status, body)
	}
	sig := checkUserSig(t, body, user).UserSig
	status, body = post("")
	if status != 401 || errorCode(t, body) != "unauthenticated" {
		t.Errorf("status %d body %s", status, body)
	}

	// SIGTERM shuts the server down gracefully with exit status 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; output:\n%s", code, p.output)
	}
	p.assertClean(t, tok, sig)
	p.assertLogLines(t, "callsign", "web")
}

// TestWebFunctionFailuresLockOutNoOne: behind SCF's proxy every client has
// the proxy's address, so failed authentications from one client must not
// lock out another: after many junk wx.login codes and bad tokens (far over
// the auth.fail budget of 2), another user's good code still gets a session
// from the real Web function binary.
func TestWebFunctionFailuresLockOutNoOne(t *testing.T) {
	var wxCalls atomic.Int64
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wxCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/sns/jscode2session" && r.URL.Query().Get("js_code") == "good-code" {
			io.WriteString(w, `{"openid":"o-web-user","session_key":"not-for-clients"}`)
			return
		}
		io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`)
	}))
	defer wechat.Close()

	env := baseEnv()
	env["TENCENTCLOUD_RUNENV"] = "SCF"
	env["CALLSIGN_HTTP_ADDR"] = "127.0.0.1:0"
	env["CALLSIGN_WECHAT_APP_SECRET"] = "wechat-app-secret-for-tests"
	env["CALLSIGN_WECHAT_API_BASE_URL"] = wechat.URL
	env["CALLSIGN_RATE_LIMITS"] = "auth.fail=2/1m:2"
	p := start(t, "callsign", env)
	addr := webAddr(t, p)
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(path, auth, body string) (int, []byte) {
		req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for i := range 6 {
		if status, body := post("/v1/session", "", `{"code":"junk-`+strconv.Itoa(i)+`"}`); status != 401 {
			t.Fatalf("junk code %d: status %d body %s, want 401", i, status, body)
		}
		if status, body := post("/v1/usersig", "Bearer not-a-token", `{}`); status != 401 {
			t.Fatalf("bad token %d: status %d body %s, want 401", i, status, body)
		}
	}
	status, body := post("/v1/session", "", `{"code":"good-code"}`)
	if status != 200 {
		t.Fatalf("another user's good code: status %d body %s, want 200", status, body)
	}
	var sess struct {
		UserID       string `json:"userID"`
		SessionToken string `json:"sessionToken"`
		UserSig      string `json:"userSig"`
	}
	if err := json.Unmarshal(body, &sess); err != nil || sess.UserID != deriveUserID(t, "o-web-user") || sess.SessionToken == "" {
		t.Fatalf("session reply %s (%v)", body, err)
	}
	if got := wxCalls.Load(); got != 7 {
		t.Errorf("code2Session calls %d, want 7 (6 junk codes and the good one)", got)
	}
	p.assertClean(t, sess.SessionToken, sess.UserSig, "wechat-app-secret-for-tests", "not-for-clients")
}

// TestScfBootstrapPinsWebMode runs the real infra/tencent/scf_bootstrap next
// to the real binary (as the Web function zip lays them out) in an
// environment that also carries the Go1 event function's and Lambda's
// variables: the bootstrap must still start the Web mode, serving HTTP.
func TestScfBootstrapPinsWebMode(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for src, dst := range map[string]string{
		filepath.Join(binDir, "callsign"):                        "main",
		filepath.Join(root, "infra", "tencent", "scf_bootstrap"): "scf_bootstrap",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := baseEnv()
	env["PATH"] = os.Getenv("PATH")
	env["TENCENTCLOUD_RUNENV"] = "SCF"
	env["CALLSIGN_HTTP_ADDR"] = "127.0.0.1:0"
	env["_LAMBDA_SERVER_PORT"] = freePort(t)
	env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:" + freePort(t)
	cmd := exec.Command(filepath.Join(dir, "scf_bootstrap"))
	cmd.Dir = dir
	p := startCmd(t, cmd, env)
	addr := webAddr(t, p)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM; output:\n%s", code, p.output)
	}
	p.assertLogLines(t, "callsign", "web")
}

// --- start-up failures -------------------------------------------------------

func TestStartupFailure(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		platform string
		contains string
	}{
		{"invalid configuration", map[string]string{"CALLSIGN_STAGE": "bogus", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}, "lambda", `"msg":"callsign: configuration failed"`},
		{"dev verifier off the local server", map[string]string{"CALLSIGN_STAGE": "local", "CALLSIGN_VERIFIERS": "dev", "_LAMBDA_SERVER_PORT": "1"}, "scf", `"msg":"callsign: start-up failed"`},
		{"scf port not a port", map[string]string{"_LAMBDA_SERVER_PORT": "nope"}, "scf", "_LAMBDA_SERVER_PORT must be set to a TCP port number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			p := start(t, "usersig", env)
			if code := p.wait(t); code != 1 {
				t.Errorf("exit status %d, want 1; output:\n%s", code, p.output)
			}
			out := strings.TrimSpace(p.output.String())
			if !strings.Contains(out, tt.contains) || strings.Count(out, `"level":"ERROR"`) != 1 {
				t.Errorf("output does not explain the failure in one error line:\n%s", out)
			}
			p.assertClean(t)
			p.assertLogLines(t, "usersig", tt.platform)
		})
	}
}

// TestLambdaInitError: a Lambda function that cannot start reports the
// failure to the Runtime API (POST /2018-06-01/runtime/init/error, fixed
// words, no secret and no configuration value) before it exits with 1.
func TestLambdaInitError(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		errorType string
		message   string
	}{
		{"configuration", map[string]string{"CALLSIGN_STAGE": "bogus"}, "Callsign.ConfigurationError", "callsign: configuration failed"},
		{"start-up", map[string]string{"CALLSIGN_VERIFIERS": "dev"}, "Callsign.StartupError", "callsign: start-up failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newRuntimeAPI(t)
			env := baseEnv()
			env["AWS_LAMBDA_RUNTIME_API"] = api.addr()
			for k, v := range tt.env {
				env[k] = v
			}
			p := start(t, "usersig", env)
			if code := p.wait(t); code != 1 {
				t.Fatalf("exit status %d, want 1; output:\n%s", code, p.output)
			}
			var res runtimeResult
			select {
			case res = <-api.initErrors:
			default:
				t.Fatalf("no POST /2018-06-01/runtime/init/error before the exit; output:\n%s", p.output)
			}
			want := `{"errorMessage":"` + tt.message + `","errorType":"` + tt.errorType + `"}`
			if string(res.body) != want || res.contentType != "application/json" || res.header.Get("Lambda-Runtime-Function-Error-Type") != tt.errorType {
				t.Errorf("init error body %s, Content-Type %q, error type header %q; want %s, application/json, %s",
					res.body, res.contentType, res.header.Get("Lambda-Runtime-Function-Error-Type"), want, tt.errorType)
			}
			if bytes.Contains(res.body, []byte(testKey)) || bytes.Contains(res.body, []byte("bogus")) {
				t.Errorf("init error quotes the configuration: %s", res.body)
			}
			if out := p.output.String(); strings.Count(out, `"level":"ERROR"`) != 1 || strings.Contains(out, `"level":"WARN"`) {
				t.Errorf("want exactly one error line and no warning:\n%s", out)
			}
			p.assertClean(t)
			p.assertLogLines(t, "usersig", "lambda")
		})
	}
}

// TestBase64RequestBodyReachesTheAPI checks a Function URL event whose body
// is base64 through the real usersig binary (a 400 with the adapter's error
// shape for a body that is not base64).
func TestBase64RequestBodyReachesTheAPI(t *testing.T) {
	api, p := startLambda(t, "usersig")
	tok := sessionToken(t, "e2e_b64_user")
	good := base64.StdEncoding.EncodeToString([]byte(`{"ttlSeconds":3600}`))
	for _, tt := range []struct {
		body   string
		status int
	}{{good, 200}, {"%%%", 400}} {
		ev := `{"version":"2.0","rawPath":"/v1/usersig","headers":{"authorization":"Bearer ` + tok + `"},
 "requestContext":{"domainName":"x.lambda-url.eu-west-1.on.aws","http":{"method":"POST","sourceIp":"192.0.2.9"}},"body":"` + tt.body + `","isBase64Encoded":true}`
		res := api.invoke(t, p, ev)
		var r struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(res.body, &r); err != nil || r.StatusCode != tt.status {
			t.Fatalf("status %d body %s", r.StatusCode, r.Body)
		}
		if tt.status == 200 {
			var u usersigReply
			json.Unmarshal([]byte(r.Body), &u)
			if u.TTLSeconds != 3600 || u.UserID != "e2e_b64_user" {
				t.Errorf("reply %+v", u)
			}
		} else if errorCode(t, []byte(r.Body)) != "invalid_request" {
			t.Errorf("body %s", r.Body)
		}
	}
	p.assertClean(t, tok)
}
