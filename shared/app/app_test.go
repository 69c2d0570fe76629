package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/usersig"
)

const (
	testKey       = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	testAppSecret = "wechat-app-secret-0123456789abcdef"
	testTokenKey  = "token-key-fedcba9876543210-0123456789"
	testAppID     = 1400000000
)

// loadConfig loads the configuration from exactly the given variables.
func loadConfig(t *testing.T, vars map[string]string) config.Config {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, config.Prefix+"_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

// fakeWechat answers code2Session for the code "good-code".
func fakeWechat(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/sns/jscode2session" || q.Get("secret") != testAppSecret || q.Get("js_code") != "good-code" {
			io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`)
			return
		}
		io.WriteString(w, `{"openid":"oOPENID-alice","session_key":"SESSION-KEY-must-not-leak","unionid":"u1"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, h http.Handler, path, bearer, body string) (int, map[string]any, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: response is not JSON: %q", path, rec.Body.String())
	}
	return rec.Code, out, rec.Body.String()
}

// TestRedactionOverFullRequestPath runs session → usersig → create call →
// join with a known TRTC key, WeChat app secret and token key, and asserts
// that no log line and no response body contains any of them, nor any
// UserSig, PrivateMapKey, session token, call token or session_key.
func TestRedactionOverFullRequestPath(t *testing.T) {
	wx := fakeWechat(t)
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE":               "local",
		"CALLSIGN_SDK_APP_ID":          "1400000000",
		"CALLSIGN_SECRET_KEY":          testKey,
		"CALLSIGN_TOKEN_KEY":           testTokenKey,
		"CALLSIGN_WECHAT_APP_SECRET":   testAppSecret,
		"CALLSIGN_WECHAT_APP_ID":       "wxAPPID",
		"CALLSIGN_WECHAT_API_BASE_URL": wx.URL,
		"CALLSIGN_VERIFIERS":           "cloudbase,session",
		"CALLSIGN_USER_ID_MODE":        "raw",
		"CALLSIGN_USER_ID_PREFIX":      "wx_",
		"CALLSIGN_LOG_LEVEL":           "debug",
		"CALLSIGN_TRTC_CALLBACK_KEY":   testCallbackKey,
	})
	var logs, figures testlog.Buffer
	logger := logs.JSONLogger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Platform: app.PlatformLambda, Logger: logger, MetricsOut: &figures,
		Getenv: func(k string) string { return map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "callsign-dev-usersig"}[k] }})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}

	var bodies []string
	var tickets []string

	// Session: wx.login code → session token + UserSig.
	code, sess, raw := post(t, a, "/v1/session", "", `{"code":"good-code"}`)
	bodies = append(bodies, raw)
	if code != 200 || sess["userID"] != "wx_oOPENID-alice" {
		t.Fatalf("session: %d %v", code, sess)
	}
	sessionToken := sess["sessionToken"].(string)
	tickets = append(tickets, sessionToken, sess["userSig"].(string))

	// UserSig with the session token.
	code, us, raw := post(t, a, "/v1/usersig", sessionToken, `{}`)
	bodies = append(bodies, raw)
	if code != 200 {
		t.Fatalf("usersig: %d %v", code, us)
	}
	tickets = append(tickets, us["userSig"].(string))
	if _, err := usersig.Verify(us["userSig"].(string), []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "wx_oOPENID-alice", Now: time.Now()}); err != nil {
		t.Fatalf("issued UserSig does not verify: %v", err)
	}

	// The invitee arrives through CloudBase with its own OpenID.
	bob := identity.Credentials{CloudBase: &identity.CloudBaseContext{OpenID: "oBOB", AppID: "wxAPPID"}}
	code, call, raw := post(t, a, "/v1/calls", sessionToken, `{"type":"video","userIDList":["wx_oBOB"]}`)
	bodies = append(bodies, raw)
	if code != 200 {
		t.Fatalf("create call: %d %v", code, call)
	}
	callToken := call["callToken"].(string)
	tickets = append(tickets, callToken, call["privateMapKey"].(string))
	joinData, _ := json.Marshal(map[string]string{"callToken": callToken})
	env := a.Do(ctx, api.Action{RequestID: "cb-1", Name: "call.join", Data: joinData, Credentials: bob})
	bodies = append(bodies, string(env))
	var joined struct {
		OK   bool `json:"ok"`
		Data struct {
			PrivateMapKey string `json:"privateMapKey"`
		} `json:"data"`
	}
	if err := json.Unmarshal(env, &joined); err != nil || !joined.OK {
		t.Fatalf("join: %s", env)
	}
	tickets = append(tickets, joined.Data.PrivateMapKey)

	// Failures log too: a bad bearer token and a bad code.
	_, _, raw = post(t, a, "/v1/usersig", sessionToken+"x", `{}`)
	bodies = append(bodies, raw)
	_, _, raw = post(t, a, "/v1/session", "", `{"code":"bad-code"}`)
	bodies = append(bodies, raw)
	// A stranger enters the call's room (audit mode: a verdict), and a
	// callback with a wrong Sign is refused.
	room := call["roomID"].(map[string]any)["str"].(string)
	if rec := signedEnter(a, room, "mallory", 1764777600000); rec.Code != 200 {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/trtc", strings.NewReader(`{"EventGroupId":1}`))
	req.Header.Set("Sign", "bm90IGEgc2lnbmF0dXJl")
	req.Header.Set("SdkAppId", "1400000000")
	bad := httptest.NewRecorder()
	if a.ServeHTTP(bad, req); bad.Code != 401 {
		t.Fatalf("bad Sign: %d", bad.Code)
	}

	checkFigures(t, figures.String())
	checkTrail(t, logs.String())
	logText := logs.String() + figures.String()
	if !strings.Contains(logText, "wx_oOPENID-alice") {
		t.Fatalf("logs do not name the verified user:\n%s", logText)
	}
	secrets := []string{testKey, testAppSecret, testTokenKey, "SESSION-KEY-must-not-leak", "good-code", testCallbackKey}
	for _, s := range secrets {
		if strings.Contains(logText, s) {
			t.Errorf("a log line contains the secret %q", s)
		}
		for _, b := range bodies {
			if strings.Contains(b, s) {
				t.Errorf("a response body contains the secret %q", s)
			}
		}
	}
	for _, tk := range tickets {
		if tk == "" {
			t.Fatal("empty ticket in the flow")
		}
		if strings.Contains(logText, tk) {
			t.Errorf("a log line contains an issued ticket or token")
		}
		// The signature part of any JWT must not appear either.
		if i := strings.LastIndexByte(tk, '.'); i > 0 && strings.Contains(logText, tk[i+1:]) {
			t.Errorf("a log line contains a token signature")
		}
	}
}

// TestManagedSecretFromSecretsManager wires CALLSIGN_SECRET_SOURCE=
// aws-secretsmanager to a local endpoint speaking the Secrets Manager wire
// protocol and checks that the tickets are signed with the stored key.
func TestManagedSecretFromSecretsManager(t *testing.T) {
	const stored = `{"sdkAppID":1600000001,"secretKey":"stored-key-0123456789","previousSecretKey":"old-key"}`
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
			http.Error(w, `{"__type":"AccessDeniedException"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"Name": "callsign/dev/trtc", "SecretString": stored, "VersionId": "v1"})
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "ap-southeast-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE":           "prod",
		"CALLSIGN_SECRET_SOURCE":   "aws-secretsmanager",
		"CALLSIGN_SECRET_NAME":     "callsign/dev/trtc",
		"CALLSIGN_SECRET_ENDPOINT": srv.URL,
		"CALLSIGN_VERIFIERS":       "gateway",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Platform: app.PlatformLambda, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	rec := gatewayUserSig(a, "user-42")
	if rec.Code != 200 {
		t.Fatalf("usersig: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		SDKAppID uint32 `json:"sdkAppID"`
		UserID   string `json:"userID"`
		UserSig  string `json:"userSig"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	if out.SDKAppID != 1600000001 || len(out.UserID) != 32 {
		t.Fatalf("response = %+v", out)
	}
	if _, err := usersig.Verify(out.UserSig, []string{"stored-key-0123456789"}, usersig.Expect{SDKAppID: 1600000001, UserID: out.UserID, Now: time.Now()}); err != nil {
		t.Fatalf("ticket not signed with the stored key: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("the store was asked %d times, want 1 (cached)", calls)
	}
}

// TestFirstSecretLoadFailureAnswers503 checks that a store that fails at
// start-up yields 503 unavailable, never a partial credential.
func TestFirstSecretLoadFailureAnswers503(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"not found"}`)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "ap-southeast-1")
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE":           "prod",
		"CALLSIGN_SDK_APP_ID":      "1400000000",
		"CALLSIGN_SECRET_SOURCE":   "aws-ssm",
		"CALLSIGN_SECRET_NAME":     "/callsign/prod/trtc",
		"CALLSIGN_SECRET_ENDPOINT": srv.URL,
		"CALLSIGN_VERIFIERS":       "gateway",
	})
	a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLambda, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	rec := gatewayUserSig(a, "user-42")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Fatalf("got %d %s, want 503 unavailable", rec.Code, rec.Body)
	}
}

// TestTencentSSMCredentialsReadAtEachFetch wires CALLSIGN_SECRET_SOURCE=
// tencent-ssm to a local endpoint and changes SCF's temporary credentials
// between two fetches: each request carries the credentials current at
// that fetch, and the region falls back to TENCENTCLOUD_REGION.
func TestTencentSSMCredentialsReadAtEachFetch(t *testing.T) {
	type seen struct{ auth, token, region, version string }
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ VersionId string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		reqs = append(reqs, seen{r.Header.Get("Authorization"), r.Header.Get("X-TC-Token"), r.Header.Get("X-TC-Region"), body.VersionId})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Response":{"SecretName":"callsign-prod","VersionId":"v7","SecretString":"`+testKey+`","RequestId":"r1"}}`)
	}))
	defer srv.Close()
	env := map[string]string{
		"TENCENTCLOUD_REGION":       "ap-guangzhou",
		"TENCENTCLOUD_SECRETID":     "AKIDfirst",
		"TENCENTCLOUD_SECRETKEY":    "key-first",
		"TENCENTCLOUD_SESSIONTOKEN": "token-first",
	}
	var envMu sync.Mutex
	getenv := func(k string) string {
		envMu.Lock()
		defer envMu.Unlock()
		return env[k]
	}
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE":            "prod",
		"CALLSIGN_SDK_APP_ID":       "1400000000",
		"CALLSIGN_SECRET_SOURCE":    "tencent-ssm",
		"CALLSIGN_SECRET_NAME":      "callsign-prod",
		"CALLSIGN_SECRET_VERSION":   "v7",
		"CALLSIGN_SECRET_ENDPOINT":  srv.URL,
		"CALLSIGN_SECRET_CACHE_TTL": "10m",
		"CALLSIGN_VERIFIERS":        "gateway",
	})
	clock := testclock.AtEpoch()
	a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformSCF, Logger: slog.New(slog.DiscardHandler), Getenv: getenv, Now: clock.Now})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	envMu.Lock()
	env["TENCENTCLOUD_SECRETID"], env["TENCENTCLOUD_SECRETKEY"], env["TENCENTCLOUD_SESSIONTOKEN"] = "AKIDsecond", "key-second", "token-second"
	envMu.Unlock()
	clock.Advance(10 * time.Minute) // the cached secret expires: the next request refetches
	rec := gatewayUserSig(a, "user-42")
	if rec.Code != 200 {
		t.Fatalf("usersig: %d %s", rec.Code, rec.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 2 {
		t.Fatalf("%d fetches, want 2 (start-up and after the TTL)", len(reqs))
	}
	for i, want := range []struct{ id, token string }{{"AKIDfirst", "token-first"}, {"AKIDsecond", "token-second"}} {
		r := reqs[i]
		if !strings.HasPrefix(r.auth, "TC3-HMAC-SHA256 Credential="+want.id+"/") || r.token != want.token || r.region != "ap-guangzhou" || r.version != "v7" {
			t.Errorf("fetch %d: Authorization %q, X-TC-Token %q, region %q, VersionId %q; want credential %s, token %s, ap-guangzhou, v7",
				i+1, r.auth, r.token, r.region, r.version, want.id, want.token)
		}
	}
}

// TestTencentSSMWithoutRegion: no CALLSIGN_SECRET_REGION and no
// TENCENTCLOUD_REGION stops start-up with an error naming the variable.
func TestTencentSSMWithoutRegion(t *testing.T) {
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE":          "prod",
		"CALLSIGN_SECRET_SOURCE":  "tencent-ssm",
		"CALLSIGN_SECRET_NAME":    "callsign-prod",
		"CALLSIGN_SECRET_VERSION": "v1",
		"CALLSIGN_VERIFIERS":      "gateway",
	})
	_, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformSCF, Logger: slog.New(slog.DiscardHandler), Getenv: func(string) string { return "" }})
	const want = "app: CALLSIGN_SECRET_REGION is required with tencent-ssm when TENCENTCLOUD_REGION is unset"
	if err == nil || err.Error() != want {
		t.Fatalf("app.New error = %v, want %q", err, want)
	}
}

// gatewayUserSig sends POST /v1/usersig as the API-gateway authorizer's
// subject sub would.
func gatewayUserSig(h http.Handler, sub string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/usersig", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(identity.WithGatewayClaims(req.Context(), map[string]string{"sub": sub}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSelfTest(t *testing.T) {
	now := testclock.Epoch()
	if err := app.SelfTest(secret.Secret{SDKAppID: testAppID, SecretKey: testKey}, now); err != nil {
		t.Fatalf("valid secret refused: %v", err)
	}
	if err := app.SelfTest(secret.Secret{SDKAppID: 0, SecretKey: testKey}, now); err == nil {
		t.Fatal("SDKAppID 0 passed the self-test")
	}
	if err := app.SelfTest(secret.Secret{SDKAppID: testAppID}, now); err == nil {
		t.Fatal("an empty key passed the self-test")
	}
}

func TestDevVerifierRefusedOffTheLocalServer(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"CALLSIGN_VERIFIERS": "dev", "CALLSIGN_SDK_APP_ID": "1", "CALLSIGN_SECRET_KEY": "k"})
	_, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLambda, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "dev verifier") {
		t.Fatalf("app.New error = %v, want the dev verifier refused", err)
	}
}

// TestDevVerifierAnswersOnlyLoopback: whatever address the server listens
// on, an app with the dev verifier serves only loopback peers that name a
// loopback host, so the header that names the user never reaches the
// network; without the dev verifier nothing is filtered.
func TestDevVerifierAnswersOnlyLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, verifiers, remote, host string
		want                          int
	}{
		{"dev, loopback", "dev", "127.0.0.1:41000", "localhost:8080", http.StatusOK},
		{"dev, peer on the network", "dev", "192.0.2.1:41000", "127.0.0.1:8080", http.StatusForbidden},
		{"dev, DNS rebinding", "dev", "127.0.0.1:41000", "rebind.attacker.example:8080", http.StatusForbidden},
		{"no dev verifier, peer on the network", "gateway", "192.0.2.1:41000", "api.example", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, map[string]string{"CALLSIGN_VERIFIERS": tc.verifiers, "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey})
			a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLocal, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/usersig", strings.NewReader(`{}`))
			req.RemoteAddr, req.Host = tc.remote, tc.host
			req.Header.Set("X-Callsign-User", "alice")
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

// TestConfigAndStartUpAgree: what config.Load (and so callsign config)
// accepts, app.New (callsign serve, every function) starts with, and what
// it refuses, app.New refuses too: one rule, not two that drift apart.
func TestConfigAndStartUpAgree(t *testing.T) {
	base := map[string]string{"CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey, "CALLSIGN_VERIFIERS": "session"}
	secret32 := strings.Repeat("s", 32)
	jwt := map[string]string{"CALLSIGN_VERIFIERS": "jwt", "CALLSIGN_JWT_ISSUER": "https://idp.example/", "CALLSIGN_JWT_AUDIENCE": "callsign", "CALLSIGN_JWT_SECRET": secret32}
	wechat := map[string]string{"CALLSIGN_WECHAT_APP_ID": "wx1"}
	tests := []struct {
		name    string
		vars    map[string]string // on top of base
		refused string            // the variable config.Load must name; "" = accepted
		// apply sets the refused value on a configuration loaded from
		// base+vars without it, as if it had slipped past config.Load.
		apply func(*config.Config)
	}{
		{"most invitees", map[string]string{"CALLSIGN_MAX_INVITEES": "32"}, "", nil},
		{"too many invitees", map[string]string{"CALLSIGN_MAX_INVITEES": "50"}, "CALLSIGN_MAX_INVITEES", func(c *config.Config) { c.MaxInvitees = 50 }},
		{"longest hash prefix", map[string]string{"CALLSIGN_USER_ID_PREFIX": "abcdefghijkl"}, "", nil},
		{"hash prefix too long", map[string]string{"CALLSIGN_USER_ID_PREFIX": "abcdefghijklm"}, "CALLSIGN_USER_ID_PREFIX", func(c *config.Config) { c.UserIDPrefix = "abcdefghijklm" }},
		{"jwt secret of 32 bytes", jwt, "", nil},
		{"jwt secret too short", merge(jwt, map[string]string{"CALLSIGN_JWT_SECRET": "short"}), "CALLSIGN_JWT_SECRET", func(c *config.Config) { c.JWTSecret = "short" }},
		{"jwt RS256 without a JWKS", merge(jwt, map[string]string{"CALLSIGN_JWT_ALGORITHMS": "RS256"}), "CALLSIGN_JWT_ALGORITHMS", func(c *config.Config) { c.JWTAlgorithms = []string{"RS256"} }},
		{"jwt reserved issuer", merge(jwt, map[string]string{"CALLSIGN_JWT_ISSUER": "callsign"}), "CALLSIGN_JWT_ISSUER", func(c *config.Config) { c.JWTIssuer = "callsign" }},
		{"jwks over plain http", merge(withoutKeys(jwt, "CALLSIGN_JWT_SECRET"), map[string]string{"CALLSIGN_JWT_JWKS_URL": "http://idp.example/jwks"}), "CALLSIGN_JWT_JWKS_URL",
			func(c *config.Config) { c.JWTSecret, c.JWTJwksURL = "", "http://idp.example/jwks" }},
		{"wechat base with a query", merge(wechat, map[string]string{"CALLSIGN_WECHAT_API_BASE_URL": "https://api.weixin.qq.com/?a=b"}), "CALLSIGN_WECHAT_API_BASE_URL",
			func(c *config.Config) { c.WechatAPIBaseURL = "https://api.weixin.qq.com/?a=b" }},
		{"wechat base over plain http", merge(wechat, map[string]string{"CALLSIGN_WECHAT_API_BASE_URL": "http://api.weixin.qq.com"}), "CALLSIGN_WECHAT_API_BASE_URL",
			func(c *config.Config) { c.WechatAPIBaseURL = "http://api.weixin.qq.com" }},
	}
	start := func(cfg config.Config) error {
		_, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLocal, Logger: slog.New(slog.DiscardHandler)})
		return err
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vars := merge(base, tc.vars)
			if tc.refused == "" {
				if err := start(loadConfig(t, vars)); err != nil {
					t.Fatalf("config accepted, app.New failed: %v", err)
				}
				return
			}
			cfg := loadConfig(t, withoutKeys(vars, tc.refused, "CALLSIGN_JWT_JWKS_URL", "CALLSIGN_JWT_ALGORITHMS", "CALLSIGN_VERIFIERS"))
			for k, v := range vars {
				t.Setenv(k, v)
			}
			if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), tc.refused+":") {
				t.Fatalf("config.Load error = %v, want it to name %s", err, tc.refused)
			}
			// The same value slipped past configuration: start-up refuses it.
			cfg.Verifiers = strings.Split(vars["CALLSIGN_VERIFIERS"], ",")
			cfg.JWTIssuer, cfg.JWTAudience, cfg.JWTSecret, cfg.WechatAppID = vars["CALLSIGN_JWT_ISSUER"], vars["CALLSIGN_JWT_AUDIENCE"], vars["CALLSIGN_JWT_SECRET"], vars["CALLSIGN_WECHAT_APP_ID"]
			tc.apply(&cfg)
			if err := start(cfg); err == nil {
				t.Fatal("app.New accepted what config refuses")
			}
		})
	}
}

// merge returns a copy of a with b's entries added.
func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// withoutKeys returns a copy of m without the given variables.
func withoutKeys(m map[string]string, names ...string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !slices.Contains(names, k) {
			out[k] = v
		}
	}
	return out
}

// testLimiterTimeout is the tests' CALLSIGN_LIMITER_TIMEOUT, the deadline
// of one limiter decision and one ban lookup on the shared store: only a
// hang guard, the largest the configuration accepts. Past it the limiter
// of TestSharedLimiters (CALLSIGN_LIMITER_FAILURE=closed) refuses a request
// the test wants allowed, and the ban checker of TestBanAcrossInstances
// answers from its last known state, "not banned", where the test wants
// 403 user_banned. No test here exercises the timeout itself.
const testLimiterTimeout = "5s"

// TestSharedLimiters wires each shared-store backend through the
// configuration against a real server and exhausts a burst of two.
func TestSharedLimiters(t *testing.T) {
	redisAddr := teststore.StartRedis(t)
	dynamoEndpoint := teststore.StartDynalite(t)
	if err := teststore.CreateLimitsTable(context.Background(), teststore.DynamoDBClient(dynamoEndpoint), "limits"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "ap-southeast-1")
	for _, tc := range []struct {
		name string
		vars map[string]string
	}{
		{"redis", map[string]string{"CALLSIGN_LIMITER": "redis", "CALLSIGN_REDIS_URL": teststore.RedisURL(redisAddr)}},
		{"dynamodb", map[string]string{"CALLSIGN_LIMITER": "dynamodb", "CALLSIGN_DYNAMODB_TABLE": "limits", "CALLSIGN_DYNAMODB_ENDPOINT": dynamoEndpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{
				"CALLSIGN_STAGE": "local", "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey,
				"CALLSIGN_VERIFIERS": "gateway", "CALLSIGN_RATE_LIMITS": "usersig=2/1h",
				"CALLSIGN_LIMITER_KEY_PREFIX": "test:" + tc.name + ":", "CALLSIGN_LIMITER_TIMEOUT": testLimiterTimeout,
				"CALLSIGN_LIMITER_FAILURE": "closed",
			}
			for k, v := range tc.vars {
				vars[k] = v
			}
			cfg := loadConfig(t, vars)
			a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLambda, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			var codes []int
			for range 3 {
				rec := gatewayUserSig(a, "limited-user")
				codes = append(codes, rec.Code)
				if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
			if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
				t.Fatalf("status codes = %v, want [200 200 429]", codes)
			}
		})
	}
}
