//go:build !callsign.notencent

package secret

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testctx"
	"github.com/callsign-dev/callsign/shared/internal/testtls"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// Test credentials of the fake Tencent Cloud API: SecretId -> SecretKey.
var tencentTestKeys = map[string]string{
	"AKIDtest1": "tcSecretKeyOne0123456789",
	"AKIDtest2": "tcSecretKeyTwo0123456789",
}

// tencentRequest is one request seen by the fake, after signature checks.
type tencentRequest struct {
	secretID string
	header   http.Header
	body     map[string]any
}

// fakeTencent speaks the Tencent Cloud API 3.0 wire protocol: it verifies
// the TC3-HMAC-SHA256 signature of each request (answering
// AuthFailure.SignatureFailure like the real API when it does not match)
// and then answers with what the test set.
type fakeTencent struct {
	srv *httptest.Server
	scripted[tencentRequest]
}

var tc3Auth = regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/ssm/tc3_request, SignedHeaders=content-type;host, Signature=([0-9a-f]{64})$`)

func newFakeTencent(t testing.TB) *fakeTencent {
	t.Helper()
	f := &fakeTencent{}
	f.status = http.StatusOK
	done := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		m := tc3Auth.FindStringSubmatch(r.Header.Get("Authorization"))
		if r.Method != http.MethodPost || r.URL.Path != "/" || m == nil {
			writeTencentError(w, "AuthFailure.InvalidAuthorization", "malformed authorization")
			return
		}
		id, date, sig := m[1], m[2], m[3]
		key, ok := tencentTestKeys[id]
		if !ok {
			writeTencentError(w, "AuthFailure.SecretIdNotFound", "unknown SecretId")
			return
		}
		if want := tc3Signature(key, date, r.Header.Get("X-TC-Timestamp"), r.Header.Get("Content-Type"), r.Host, raw); !hmac.Equal([]byte(want), []byte(sig)) {
			writeTencentError(w, "AuthFailure.SignatureFailure", "signature mismatch")
			return
		}
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.serve(w, r, done, tencentRequest{secretID: id, header: r.Header.Clone(), body: body})
	}))
	t.Cleanup(func() { close(done); f.srv.Close() })
	return f
}

// tc3Signature computes the TC3-HMAC-SHA256 signature of a POST / request
// signed over content-type and host (Tencent Cloud API 3.0 signing).
func tc3Signature(key, date, timestamp, contentType, host string, payload []byte) string {
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	mac := func(k []byte, msg string) []byte {
		h := hmac.New(sha256.New, k)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	canonical := "POST\n/\n\ncontent-type:" + contentType + "\nhost:" + host + "\n\ncontent-type;host\n" + sum(payload)
	toSign := "TC3-HMAC-SHA256\n" + timestamp + "\n" + date + "/ssm/tc3_request\n" + sum([]byte(canonical))
	k := mac(mac(mac([]byte("TC3"+key), date), "ssm"), "tc3_request")
	return hex.EncodeToString(mac(k, toSign))
}

func writeTencentError(w http.ResponseWriter, code, msg string) {
	_, _ = io.WriteString(w, `{"Response":{"Error":{"Code":"`+code+`","Message":"`+msg+`"},"RequestId":"tc-req-1"}}`)
}

// switchableCreds is a TencentCredentials whose values the test changes.
type switchableCreds struct {
	mu             sync.Mutex
	id, key, token string
}

func (c *switchableCreds) set(id, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id, c.key, c.token = id, tencentTestKeys[id], token
}

func (c *switchableCreds) get() (string, string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id, c.key, c.token
}

func tencentOK(fields map[string]any) string {
	resp := map[string]any{"SecretName": "callsign-prod-trtc", "VersionId": "v3", "RequestId": "tc-req-1"}
	for k, v := range fields {
		resp[k] = v
	}
	return jsonString(map[string]any{"Response": resp})
}

func newTestTencent(t *testing.T, f *fakeTencent, creds TencentCredentials, appID uint32) *TencentSSM {
	t.Helper()
	src, err := NewTencentSSM(TencentSSMOptions{
		Region: "ap-guangzhou", SecretName: "callsign-prod-trtc", VersionID: "v3", DefaultAppID: appID,
		Credentials: creds, Endpoint: f.srv.Listener.Addr().String(), Scheme: "HTTP", Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("NewTencentSSM: %v", err)
	}
	return src
}

func TestTencentSSM(t *testing.T) {
	fake := newFakeTencent(t)
	creds := &switchableCreds{}
	creds.set("AKIDtest1", "scf-session-token")
	jsonValue := `{"sdkAppID":1400000000,"secretKey":"` + testKey + `","tokenKey":"` + testTokenKey + `"}`
	const p = "secret: tencent-ssm: "
	tests := []struct {
		name     string
		appID    uint32
		status   int
		body     string
		block    bool
		want     Secret
		wantKind error
		wantErr  string
	}{
		{name: "bare string", appID: testAppID, body: tencentOK(map[string]any{"SecretString": testKey, "SecretBinary": ""}),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON string", body: tencentOK(map[string]any{"SecretString": jsonValue}),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, TokenKey: testTokenKey}},
		{name: "binary", body: tencentOK(map[string]any{"SecretString": "", "SecretBinary": base64.StdEncoding.EncodeToString([]byte(jsonValue))}),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, TokenKey: testTokenKey}},
		{name: "access denied", body: `{"Response":{"Error":{"Code":"UnauthorizedOperation","Message":"CAM denied ssm:GetSecretValue"},"RequestId":"tc-req-2"}}`,
			wantKind: ErrAccessDenied, wantErr: p + "access denied (code UnauthorizedOperation) (HTTP 200) (request tc-req-2)"},
		{name: "not found", body: `{"Response":{"Error":{"Code":"ResourceNotFound","Message":"The secret does not exist."},"RequestId":"tc-req-3"}}`,
			wantKind: ErrNotFound, wantErr: p + "not found (code ResourceNotFound) (HTTP 200) (request tc-req-3)"},
		{name: "throttled", body: `{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too many requests"},"RequestId":"tc-req-4"}}`,
			wantKind: ErrThrottled, wantErr: p + "throttled (code RequestLimitExceeded) (HTTP 200) (request tc-req-4)"},
		{name: "internal error", body: `{"Response":{"Error":{"Code":"InternalError","Message":"oops"},"RequestId":"tc-req-5"}}`,
			wantKind: ErrStoreFailure, wantErr: p + "store failure (code InternalError) (HTTP 200) (request tc-req-5)"},
		{name: "502 with body quoting the key", status: 502, body: "<html>" + testKey + "</html>",
			wantKind: ErrStoreFailure, wantErr: p + "store failure (HTTP 502)"},
		{name: "503 with JSON body quoting the key", status: 503, body: `{"Response":{"SecretString":"` + testKey + `"}}`,
			wantKind: ErrStoreFailure, wantErr: p + "store failure (HTTP 503)"},
		{name: "malformed JSON quoting the key", body: `{"Response":{"SecretString":"` + testKey,
			wantKind: ErrInvalidResponse, wantErr: p + "invalid store response: response is not the expected JSON (HTTP 200)"},
		{name: "missing value fields", body: tencentOK(nil),
			wantKind: ErrInvalidResponse, wantErr: p + "invalid store response: response has neither SecretString nor SecretBinary (request tc-req-1)"},
		{name: "both value fields", body: tencentOK(map[string]any{"SecretString": testKey, "SecretBinary": base64.StdEncoding.EncodeToString([]byte(testKey))}),
			wantKind: ErrInvalidResponse, wantErr: p + "invalid store response: response has both SecretString and SecretBinary (request tc-req-1)"},
		{name: "bad base64", body: tencentOK(map[string]any{"SecretBinary": "%%" + testKey}),
			wantKind: ErrInvalidResponse, wantErr: p + "invalid store response: SecretBinary is not base64 of UTF-8 text (request tc-req-1)"},
		{name: "value missing secretKey", body: tencentOK(map[string]any{"SecretString": `{"sdkAppID":1400000000}`}),
			wantKind: ErrInvalidValue, wantErr: p + "invalid value (request tc-req-1): secret: invalid value: JSON secret has no secretKey"},
		{name: "timeout", block: true,
			wantKind: ErrTimeout, wantErr: p + "timed out: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			fake.respond(status, tt.body)
			var ctx context.Context
			var cancel context.CancelFunc
			if tt.block {
				// The deadline passes once the request has arrived.
				ctx, cancel = testctx.DeadlineOn(fake.blockUntilCanceled(), 10*time.Second)
			} else {
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second) // a safety net
			}
			defer cancel()
			src := newTestTencent(t, fake, creds.get, tt.appID)
			got, err := src.Load(ctx)
			reqs := fake.take()
			if len(reqs) != 1 {
				t.Fatalf("%d signed requests reached the fake, want exactly 1", len(reqs))
			}
			checkTencentRequest(t, reqs[0], "AKIDtest1", "scf-session-token")
			checkLoad(t, got, err, tt.want, tt.wantKind, tt.wantErr)
		})
	}
}

func checkTencentRequest(t *testing.T, r tencentRequest, wantID, wantToken string) {
	t.Helper()
	if r.secretID != wantID {
		t.Errorf("signed by %q, want %q", r.secretID, wantID)
	}
	want := map[string]string{
		"Content-Type": "application/json",
		"X-TC-Action":  "GetSecretValue",
		"X-TC-Version": "2019-09-23",
		"X-TC-Region":  "ap-guangzhou",
		"X-TC-Token":   wantToken,
	}
	for h, v := range want {
		if got := r.header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	if ts, err := strconv.ParseInt(r.header.Get("X-TC-Timestamp"), 10, 64); err != nil || ts <= 0 {
		t.Errorf("X-TC-Timestamp = %q", r.header.Get("X-TC-Timestamp"))
	}
	if wantBody := map[string]any{"SecretName": "callsign-prod-trtc", "VersionId": "v3"}; !reflect.DeepEqual(r.body, wantBody) {
		t.Errorf("body = %v, want %v", r.body, wantBody)
	}
}

// TestTencentSSMCredentialsPerFetch changes the credentials between two
// fetches and expects the new SecretId and token on the wire.
func TestTencentSSMCredentialsPerFetch(t *testing.T) {
	fake := newFakeTencent(t)
	fake.respond(http.StatusOK, tencentOK(map[string]any{"SecretString": testKey}))
	creds := &switchableCreds{}
	src := newTestTencent(t, fake, creds.get, testAppID)
	steps := []struct{ id, token string }{
		{"AKIDtest1", "token-one"},
		{"AKIDtest2", "token-two"},
		{"AKIDtest2", ""}, // permanent key: no X-TC-Token
	}
	for i, st := range steps {
		creds.set(st.id, st.token)
		got, err := src.Load(context.Background())
		if err != nil {
			t.Fatalf("step %d: Load: %v", i, err)
		}
		if got.SecretKey != testKey {
			t.Fatalf("step %d: wrong secret", i)
		}
		reqs := fake.take()
		if len(reqs) != 1 {
			t.Fatalf("step %d: %d requests", i, len(reqs))
		}
		checkTencentRequest(t, reqs[0], st.id, st.token)
		if _, ok := reqs[0].header["X-Tc-Token"]; ok != (st.token != "") {
			t.Errorf("step %d: X-TC-Token present = %v", i, ok)
		}
	}
}

// TestTencentSSMSignatureRejected: credentials the fake does not accept
// surface as access denied.
func TestTencentSSMSignatureRejected(t *testing.T) {
	fake := newFakeTencent(t)
	fake.respond(http.StatusOK, tencentOK(map[string]any{"SecretString": testKey}))
	src := newTestTencent(t, fake, func() (string, string, string) { return "AKIDtest1", "not-the-key", "tok" }, testAppID)
	_, err := src.Load(context.Background())
	checkStoreError(t, err, ErrAccessDenied, "secret: tencent-ssm: access denied (code AuthFailure.SignatureFailure) (HTTP 200) (request tc-req-1)")
}

func TestTencentSSMNoCredentials(t *testing.T) {
	fake := newFakeTencent(t)
	t.Setenv("TENCENTCLOUD_SECRETID", "")
	t.Setenv("TENCENTCLOUD_SECRETKEY", "")
	t.Setenv("TENCENTCLOUD_SESSIONTOKEN", "")
	src := newTestTencent(t, fake, nil, testAppID) // default: SCFCredentials
	_, err := src.Load(context.Background())
	checkStoreError(t, err, ErrAccessDenied, "secret: tencent-ssm: access denied: no Tencent Cloud credentials (bind a run role to the function: SCF then sets TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY)")
	if n := len(fake.take()); n != 0 {
		t.Fatalf("%d requests sent without credentials", n)
	}
}

// TestTencentSSMEnvCredentials: the default reads SCF's variables at each
// fetch.
func TestTencentSSMEnvCredentials(t *testing.T) {
	fake := newFakeTencent(t)
	fake.respond(http.StatusOK, tencentOK(map[string]any{"SecretString": testKey}))
	src := newTestTencent(t, fake, nil, testAppID)
	for _, id := range []string{"AKIDtest1", "AKIDtest2"} {
		t.Setenv("TENCENTCLOUD_SECRETID", id)
		t.Setenv("TENCENTCLOUD_SECRETKEY", tencentTestKeys[id])
		t.Setenv("TENCENTCLOUD_SESSIONTOKEN", "env-token-"+id)
		if _, err := src.Load(context.Background()); err != nil {
			t.Fatalf("Load with %s: %v", id, err)
		}
		reqs := fake.take()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		checkTencentRequest(t, reqs[0], id, "env-token-"+id)
	}
}

func TestTencentSSMUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	src, err := NewTencentSSM(TencentSSMOptions{Region: "ap-guangzhou", SecretName: "s", VersionID: "v1", DefaultAppID: testAppID,
		Credentials: func() (string, string, string) { return "AKIDtest1", tencentTestKeys["AKIDtest1"], "" },
		Endpoint:    "http://" + addr, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Load(context.Background())
	checkStoreError(t, err, ErrStoreFailure, "secret: tencent-ssm: store failure: could not reach the store")
}

// TestTencentSSMDefaultTransportVerifies loads from a loopback HTTPS
// endpoint whose certificate chains to no trusted root through the default
// transport, which verifies in VerifyConnection (tlstrust): the load fails
// as unreachable and the request never reaches the server.
func TestTencentSSMDefaultTransportVerifies(t *testing.T) {
	t.Setenv(tlstrust.EnvCertFile, "")
	t.Setenv(tlstrust.EnvCertDir, "")
	var reached atomic.Bool
	srv := testtls.NewCA(t, "untrusted root", nil).Serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }), []string{"127.0.0.1"})
	src, err := NewTencentSSM(TencentSSMOptions{Region: "ap-guangzhou", SecretName: "s", VersionID: "v1", DefaultAppID: testAppID,
		Credentials: func() (string, string, string) { return "AKIDtest1", tencentTestKeys["AKIDtest1"], "" },
		Endpoint:    srv.URL, Timeout: 10 * time.Second}) // only guards a hang: a failed check loads the system roots, slow under -race
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := src.transport.(statusTransport).base.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.VerifyConnection == nil {
		t.Fatalf("default transport %T does not verify through tlstrust", src.transport.(statusTransport).base)
	}
	_, err = src.Load(context.Background())
	checkStoreError(t, err, ErrStoreFailure, "secret: tencent-ssm: store failure: could not reach the store")
	if reached.Load() {
		t.Error("the request reached a server whose certificate does not verify")
	}
}

func TestNewTencentSSMValidation(t *testing.T) {
	const plainHTTP = "secret: tencent-ssm: plain HTTP only to a loopback endpoint (a local stand-in); use HTTPS"
	ok := TencentSSMOptions{Region: "ap-guangzhou", SecretName: "s", VersionID: "v1"}
	tests := []struct {
		name    string
		edit    func(*TencentSSMOptions)
		wantErr string
	}{
		{name: "ok", edit: func(*TencentSSMOptions) {}},
		{name: "no region", edit: func(o *TencentSSMOptions) { o.Region = "" }, wantErr: "secret: tencent-ssm: region is empty"},
		{name: "no name", edit: func(o *TencentSSMOptions) { o.SecretName = "" }, wantErr: "secret: tencent-ssm: secret name is empty"},
		{name: "no version", edit: func(o *TencentSSMOptions) { o.VersionID = "" }, wantErr: "secret: tencent-ssm: version ID is empty (user-defined secrets have no current label; set the VersionId to read)"},
		{name: "bad scheme", edit: func(o *TencentSSMOptions) { o.Scheme = "ftp" }, wantErr: `secret: tencent-ssm: scheme "ftp" is not HTTP or HTTPS`},
		{name: "endpoint URL", edit: func(o *TencentSSMOptions) { o.Endpoint = "http://127.0.0.1:9000/" }},
		{name: "endpoint URL bad scheme", edit: func(o *TencentSSMOptions) { o.Endpoint = "ftp://127.0.0.1:9000" }, wantErr: `secret: tencent-ssm: scheme "ftp" is not HTTP or HTTPS`},
		{name: "endpoint URL with path", edit: func(o *TencentSSMOptions) { o.Endpoint = "http://127.0.0.1:9000/x" }, wantErr: "secret: tencent-ssm: endpoint must be host[:port] or scheme://host[:port]"},
		{name: "plain http to a remote host", edit: func(o *TencentSSMOptions) { o.Endpoint = "http://ssm.example.com" }, wantErr: plainHTTP},
		{name: "HTTP scheme to a remote host", edit: func(o *TencentSSMOptions) { o.Scheme, o.Endpoint = "HTTP", "ssm.internal.tencentcloudapi.com:80" }, wantErr: plainHTTP},
		{name: "HTTP scheme to the default endpoint", edit: func(o *TencentSSMOptions) { o.Scheme = "http" }, wantErr: plainHTTP},
		{name: "plain http to IPv6 loopback", edit: func(o *TencentSSMOptions) { o.Endpoint = "http://[::1]:9000" }},
		{name: "HTTP scheme to localhost", edit: func(o *TencentSSMOptions) { o.Scheme, o.Endpoint = "HTTP", "localhost:9000" }},
		{name: "https to a remote host", edit: func(o *TencentSSMOptions) { o.Endpoint = "https://ssm.internal.tencentcloudapi.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			_, err := NewTencentSSM(o)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestTencentKind pins the error-code mapping.
func TestTencentKind(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"AuthFailure.SignatureExpire", ErrAccessDenied},
		{"AuthFailure.TokenFailure", ErrAccessDenied},
		{"UnauthorizedOperation", ErrAccessDenied},
		{"OperationDenied", ErrAccessDenied},
		{"ResourceNotFound", ErrNotFound},
		{"ResourceUnavailable.SecretNotExist", ErrNotFound},
		{"RequestLimitExceeded", ErrThrottled},
		{"RequestLimitExceeded.UinLimitExceeded", ErrThrottled},
		{"InternalError", ErrStoreFailure},
		{"InvalidParameterValue", ErrStoreFailure},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := tencentKind(tt.code); !errors.Is(got, tt.want) {
				t.Fatalf("tencentKind(%q) = %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func BenchmarkTencentSSMLoad(b *testing.B) {
	fake := newFakeTencent(b)
	fake.respond(http.StatusOK, tencentOK(map[string]any{"SecretString": testKey}))
	src, err := NewTencentSSM(TencentSSMOptions{Region: "ap-guangzhou", SecretName: "callsign-prod-trtc", VersionID: "v3", DefaultAppID: testAppID,
		Credentials: func() (string, string, string) { return "AKIDtest1", tencentTestKeys["AKIDtest1"], "tok" },
		Endpoint:    fake.srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Load(ctx); err != nil {
			b.Fatal(err)
		}
		fake.take()
	}
}
