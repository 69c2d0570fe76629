package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/enforce"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/trtcapi"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
)

const (
	testAppID     = 1400000000
	testKey       = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testWechatApp = "wx0123456789abcdef"
	appSecret     = "wechat-app-secret-value-0001"
	sessionKey    = "SESSIONKEYmustNeverLeak=="
	testStage     = "local"
	callbackKey   = "callsignTestKey2025"
	cloudID       = "AKIDcallsignTestSecretId0000"
	cloudKey      = "callsignProbeSecretKeyExample0000"
)

// t0 is the fixed test clock's start.
var t0 = testclock.Epoch()

// at formats t0+d as the API writes instants (RFC 3339, UTC, seconds).
func at(d time.Duration) string { return t0.Add(d).UTC().Format(time.RFC3339) }

// clock is an injectable, adjustable clock.
type clock = testclock.Clock

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = testlog.Buffer

// unavailableSecrets is a secret.Source whose store is down.
type unavailableSecrets struct{}

func (unavailableSecrets) Load(context.Context) (secret.Secret, error) {
	return secret.Secret{}, errors.Join(secret.ErrUnavailable, errors.New("dial tcp 127.0.0.1:1: connection refused"))
}

// closedLimiter is a rate-limit store that is down in closed failure mode.
type closedLimiter struct{}

func (closedLimiter) Allow(context.Context, string, ratelimit.Policy) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.Join(ratelimit.ErrUnavailable, errors.New("redis 127.0.0.1:6379: i/o timeout"))
}

// panicVerifier is a collaborator with a bug.
type panicVerifier struct{}

func (panicVerifier) Verify(context.Context, identity.Credentials) (identity.Identity, error) {
	panic("verifier bug with " + testKey)
}

// envConfig tweaks a test environment.
type envConfig struct {
	svc func(*service.Options)
	api func(*api.Options)
	// wechat enables /v1/session against a fake code2Session server.
	wechat bool
	// enforce serves /v1/callbacks/trtc in enforce mode, removing through
	// a fake TRTC cloud API (env.trtc).
	enforce bool
}

// env is the API over real collaborators: identity.Chain(session,
// cloudbase, dev), the memory limiter, secret.Static, a fixed clock, and
// (optionally) identity.Wechat against a loopback fake of code2Session.
type env struct {
	t     testing.TB
	clock *clock
	api   *api.API
	logs  *syncBuffer
	calls *callrecord.Memory
	trtc  *trtcapitest.Server
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	c := testclock.New(t0)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sec := secret.Static(secret.Secret{SDKAppID: testAppID, SecretKey: testKey, WeChatAppSecret: appSecret, TRTCCallbackKey: callbackKey})
	calls := callrecord.NewMemory(callrecord.MemoryOptions{Now: c.Now})
	keys := func(ctx context.Context) (token.Keys, error) {
		s, err := sec.Load(ctx)
		if err != nil {
			return token.Keys{}, err
		}
		return token.KeysFor(testStage, s.TokenKey, s.SecretKey, s.PreviousSecretKey), nil
	}
	deriver, err := identity.NewDeriver(identity.ModeHash, "wx_")
	if err != nil {
		t.Fatal(err)
	}
	session, err := identity.NewSession(keys, identity.SessionOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	cloudbase, err := identity.NewCloudBase(testWechatApp, deriver)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := identity.NewDev(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	opts := service.Options{
		Verifier: identity.Chain(cloudbase, session, dev),
		Limiter:  ratelimit.NewMemory(ratelimit.MemoryOptions{Now: c.Now}),
		Secrets:  sec,
		Stage:    testStage,
		Now:      c.Now,
		Logger:   logger,
		Deriver:  deriver,
		Calls:    calls,
	}
	if cfg.wechat {
		srv := httptest.NewServer(http.HandlerFunc(fakeCode2Session))
		t.Cleanup(srv.Close)
		w, err := identity.NewWechat(identity.WechatOptions{
			BaseURL:    srv.URL,
			AppID:      testWechatApp,
			AppSecret:  func(context.Context) (string, error) { return appSecret, nil },
			HTTPClient: srv.Client(),
			Timeout:    5 * time.Second,
			RetryDelay: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		opts.Wechat = w
	}
	if cfg.svc != nil {
		cfg.svc(&opts)
	}
	svc, err := service.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	aopts := api.Options{Logger: logger, AllowedOrigins: []string{"https://app.example.com"}}
	var fake *trtcapitest.Server
	if cfg.enforce {
		fake = trtcapitest.Start(t, cloudID, cloudKey)
		client, err := trtcapi.New(trtcapi.Options{
			Endpoint: fake.URL,
			Credentials: func(context.Context) (trtcapi.Credential, error) {
				return trtcapi.Credential{SecretID: cloudID, SecretKey: cloudKey}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		aopts.Enforcer, err = enforce.New(enforce.Options{
			Store: calls, Secrets: sec, Remover: client, Mode: enforce.ModeEnforce, Logger: logger, Now: c.Now,
			Sleep: func(context.Context, time.Duration) error { return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if cfg.api != nil {
		cfg.api(&aopts)
	}
	return &env{t: t, clock: c, api: api.New(svc, aopts), logs: logs, calls: calls, trtc: fake}
}

// fakeCode2Session is a loopback stand-in for WeChat's jscode2session.
func fakeCode2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path != "/sns/jscode2session" || q.Get("appid") != testWechatApp || q.Get("secret") != appSecret {
		_, _ = io.WriteString(w, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
		return
	}
	code := q.Get("js_code")
	switch {
	case strings.HasPrefix(code, "good-"):
		_ = json.NewEncoder(w).Encode(map[string]string{"openid": "o" + strings.TrimPrefix(code, "good-"), "session_key": sessionKey})
	case code == "limited":
		_, _ = io.WriteString(w, `{"errcode":45011,"errmsg":"api minute-quota reach limit"}`)
	case code == "blocked":
		_, _ = io.WriteString(w, `{"errcode":40226,"errmsg":"code blocked"}`)
	case code == "busy":
		_, _ = io.WriteString(w, `{"errcode":-1,"errmsg":"system error"}`)
	case code == "misconfigured":
		_, _ = io.WriteString(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
	default:
		_, _ = io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`)
	}
}

// result is one HTTP exchange.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str returns a top-level string field of the body.
func (r *result) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// num returns a top-level number field of the body.
func (r *result) num(key string) float64 {
	n, _ := r.body[key].(float64)
	return n
}

// errCode returns error.code of an error body.
func (r *result) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// errMessage returns error.message of an error body.
func (r *result) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// req describes one request.
type req struct {
	method  string
	path    string
	body    string
	user    string            // X-Callsign-User (dev verifier)
	bearer  string            // Authorization: Bearer
	headers map[string]string // extra headers
	ctx     context.Context
	remote  string
}

// do sends rq through the handler.
func (e *env) do(rq req) *result {
	e.t.Helper()
	_, res := e.send(rq)
	return res
}

// send sends rq through the handler and also returns the request.
func (e *env) send(rq req) (*http.Request, *result) {
	e.t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	ctx := rq.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequestWithContext(ctx, rq.method, "http://127.0.0.1"+rq.path, body)
	r.RemoteAddr = "192.0.2.10:41000"
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	if rq.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if rq.user != "" {
		r.Header.Set("X-Callsign-User", rq.user)
	}
	if rq.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+rq.bearer)
	}
	for k, v := range rq.headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, r)
	res := &result{status: w.Code, header: w.Header(), raw: w.Body.Bytes()}
	if len(res.raw) > 0 {
		if err := json.Unmarshal(res.raw, &res.body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v: %q", rq.method, rq.path, err, res.raw)
		}
	}
	return r, res
}

// mustOK asserts a 200.
func (r *result) mustOK(t testing.TB) *result {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.raw)
	}
	return r
}

// wantError asserts an error response with status and code, in the exact
// error-body shape.
func (r *result) wantError(t testing.TB, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Fatalf("got %d %q, want %d %q (body %s)", r.status, r.errCode(), status, code, r.raw)
	}
	assertErrorShape(t, r.raw, false)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}

// assertErrorShape checks {"error":{"code","message"[,"retryAfterSeconds"]}}
// exactly (or the action form {"ok":false,"error":{...}}).
func assertErrorShape(t testing.TB, raw []byte, action bool) {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("error body is not a JSON object: %q", raw)
	}
	wantKeys := 1
	if action {
		wantKeys = 2
		if string(doc["ok"]) != "false" {
			t.Fatalf("action error without ok:false: %s", raw)
		}
	}
	if len(doc) != wantKeys {
		t.Fatalf("error body has keys beyond error: %s", raw)
	}
	var e map[string]any
	if err := json.Unmarshal(doc["error"], &e); err != nil {
		t.Fatalf("error member is not an object: %s", raw)
	}
	code, ok1 := e["code"].(string)
	msg, ok2 := e["message"].(string)
	if !ok1 || !ok2 || code == "" || msg == "" {
		t.Fatalf("error member lacks code/message: %s", raw)
	}
	for k, v := range e {
		switch k {
		case "code", "message":
		case "retryAfterSeconds":
			if n, ok := v.(float64); !ok || n < 1 || n != float64(int(n)) {
				t.Fatalf("bad retryAfterSeconds: %s", raw)
			}
		default:
			t.Fatalf("unexpected error member %q: %s", k, raw)
		}
	}
}
