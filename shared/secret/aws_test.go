package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi"
	"github.com/callsign-dev/callsign/shared/internal/testctx"
)

// awsRequest is one request seen by the fake AWS endpoint.
type awsRequest struct {
	header http.Header
	method string
	path   string
	body   map[string]any
}

// fakeAWS is an httptest server speaking the JSON 1.1 protocol of Secrets
// Manager and SSM: it records every request and answers with the status,
// headers and body the test sets.
type fakeAWS struct {
	srv *httptest.Server
	scripted[awsRequest]
}

func newFakeAWS(t testing.TB) *fakeAWS {
	t.Helper()
	f := &fakeAWS{}
	f.status = http.StatusOK
	done := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", "req-0001")
		f.serve(w, r, done, awsRequest{header: r.Header.Clone(), method: r.Method, path: r.URL.Path, body: body})
	}))
	t.Cleanup(func() { close(done); f.srv.Close() })
	return f
}

// newTestAWSClients builds real clients against the fake with static
// credentials (incl. a session token) and no retries.
func newTestAWSClients(t testing.TB, endpoint string) (SecretsManagerAPI, SSMAPI) {
	t.Helper()
	sm, ps, err := NewAWSClients(awsapi.Options{
		Region:   "us-east-1",
		Endpoint: endpoint,
		Credentials: func(context.Context) (awsapi.Credentials, error) {
			return awsapi.Credentials{AccessKeyID: "AKID", SecretAccessKey: "awsSecretAccessKeyForTests", SessionToken: "SESSIONTOKEN"}, nil
		},
		MaxAttempts: 1,
	})
	if err != nil {
		t.Fatalf("NewAWSClients: %v", err)
	}
	return sm, ps
}

var sigV4Auth = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKID/\d{8}/us-east-1/(secretsmanager|ssm)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

// checkAWSRequest asserts the request is a well-formed, signed JSON 1.1 call.
func checkAWSRequest(t *testing.T, r awsRequest, service, target string, wantBody map[string]any) {
	t.Helper()
	if r.method != http.MethodPost || r.path != "/" {
		t.Errorf("request %s %s, want POST /", r.method, r.path)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := r.header.Get("X-Amz-Target"); got != target {
		t.Errorf("X-Amz-Target = %q, want %q", got, target)
	}
	auth := r.header.Get("Authorization")
	m := sigV4Auth.FindStringSubmatch(auth)
	if m == nil {
		t.Fatalf("Authorization = %q is not SigV4 by AKID", auth)
	}
	if m[1] != service {
		t.Errorf("signing service = %q, want %q", m[1], service)
	}
	for _, h := range []string{"host", "x-amz-date", "x-amz-security-token", "x-amz-target"} {
		if !regexp.MustCompile(`(^|;)` + h + `(;|$)`).MatchString(m[2]) {
			t.Errorf("SignedHeaders %q lacks %s", m[2], h)
		}
	}
	if got := r.header.Get("X-Amz-Security-Token"); got != "SESSIONTOKEN" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
	if !reflect.DeepEqual(r.body, wantBody) {
		t.Errorf("body = %v, want %v", r.body, wantBody)
	}
}

// checkStoreError asserts err is a *StoreError with the given message and
// kind, wraps ErrUnavailable, and leaks no secret value in any rendering.
func checkStoreError(t *testing.T, err error, kind error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	var se *StoreError
	if !errors.As(err, &se) {
		t.Fatalf("error %T is not a *StoreError: %v", err, err)
	}
	if got := err.Error(); got != want {
		t.Errorf("error = %q\n want %q", got, want)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error does not match kind %v", kind)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("error does not wrap ErrUnavailable")
	}
	assertRedacted(t, err)
}

// assertRedacted renders v with every fmt verb form and slog's JSON handler
// and fails if a test secret appears.
func assertRedacted(t *testing.T, v any) {
	t.Helper()
	assertNoSecrets(t, fmt.Sprintf("%v %+v %#v %s %q %x %d", v, v, v, v, v, v, v))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "value", v)
	assertNoSecrets(t, buf.String())
	if err, ok := v.(error); ok {
		for _, e := range unwrapAll(err) {
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(e, &syntax) || errors.As(e, &typ) {
				t.Errorf("a JSON decoding error (may quote the body) is kept as a cause")
			}
		}
	}
}

func unwrapAll(err error) []error {
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			out = append(out, unwrapAll(e)...)
		}
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestAWSSecretsManager(t *testing.T) {
	fake := newFakeAWS(t)
	sm, _ := newTestAWSClients(t, fake.srv.URL)
	jsonValue := `{"sdkAppID":1400000000,"secretKey":"` + testKey + `","previousSecretKey":"` + testPrevKey + `"}`
	const sm400 = "secret: aws-secretsmanager: "
	tests := []struct {
		name      string
		stage     string
		appID     uint32
		status    int
		body      string
		block     bool
		want      Secret
		wantKind  error
		wantErr   string
		wantStage bool
	}{
		{name: "bare string", appID: testAppID, body: jsonString(map[string]any{"Name": "callsign/prod/trtc", "SecretString": testKey, "VersionId": "v1"}),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON string, previous stage", stage: "AWSPREVIOUS", body: jsonString(map[string]any{"SecretString": jsonValue}), wantStage: true,
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, PreviousSecretKey: testPrevKey}},
		{name: "binary", appID: testAppID, body: jsonString(map[string]any{"SecretBinary": base64.StdEncoding.EncodeToString([]byte(jsonValue))}),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, PreviousSecretKey: testPrevKey}},
		{name: "access denied", status: 400, body: `{"__type":"AccessDeniedException","message":"User: arn:aws:sts::1:assumed-role/r is not authorized"}`,
			wantKind: ErrAccessDenied, wantErr: sm400 + "access denied (code AccessDeniedException) (HTTP 400) (request req-0001)"},
		{name: "not found", status: 400, body: `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`,
			wantKind: ErrNotFound, wantErr: sm400 + "not found (code ResourceNotFoundException) (HTTP 400) (request req-0001)"},
		{name: "throttled", status: 400, body: `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
			wantKind: ErrThrottled, wantErr: sm400 + "throttled (code ThrottlingException) (HTTP 400) (request req-0001)"},
		{name: "internal error", status: 500, body: `{"__type":"InternalServiceError","message":"oops"}`,
			wantKind: ErrStoreFailure, wantErr: sm400 + "store failure (code InternalServiceError) (HTTP 500) (request req-0001)"},
		{name: "503 with HTML body quoting the key", status: 503, body: "<html>" + testKey + "</html>",
			wantKind: ErrStoreFailure, wantErr: sm400 + "store failure (HTTP 503) (request req-0001)"},
		{name: "malformed JSON quoting the key", body: `{"SecretString":"` + testKey + `"` + testKey,
			wantKind: ErrInvalidResponse, wantErr: sm400 + "invalid store response: response is not the expected JSON (HTTP 200) (request req-0001)"},
		{name: "missing value fields", body: `{"Name":"callsign/prod/trtc","VersionId":"v1"}`,
			wantKind: ErrInvalidResponse, wantErr: sm400 + "invalid store response: response has neither SecretString nor SecretBinary"},
		{name: "value missing secretKey", body: jsonString(map[string]any{"SecretString": `{"sdkAppID":1400000000,"tokenKey":"` + testTokenKey + `"}`}),
			wantKind: ErrInvalidValue, wantErr: sm400 + "invalid value: secret: invalid value: JSON secret has no secretKey"},
		{name: "value app ID mismatch", appID: otherTestApp, body: jsonString(map[string]any{"SecretString": jsonValue}),
			wantKind: ErrInvalidValue, wantErr: sm400 + "invalid value: secret: invalid value: sdkAppID in the secret (1400000000) does not match the configured SDKAppID (1400000001)"},
		{name: "timeout", block: true,
			wantKind: ErrTimeout, wantErr: sm400 + "timed out: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			fake.respond(status, tt.body)
			ctx := context.Background()
			if tt.block {
				// The deadline passes once the request has arrived.
				var cancel context.CancelFunc
				ctx, cancel = testctx.DeadlineOn(fake.blockUntilCanceled(), 10*time.Second)
				defer cancel()
			}
			src, err := NewAWSSecretsManager(sm, "callsign/prod/trtc", tt.stage, tt.appID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Load(ctx)
			reqs := fake.take()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want exactly 1 (no retries)", len(reqs))
			}
			wantBody := map[string]any{"SecretId": "callsign/prod/trtc"}
			if tt.wantStage {
				wantBody["VersionStage"] = tt.stage
			}
			checkAWSRequest(t, reqs[0], "secretsmanager", "secretsmanager.GetSecretValue", wantBody)
			checkLoad(t, got, err, tt.want, tt.wantKind, tt.wantErr)
		})
	}
}

func TestAWSSSM(t *testing.T) {
	fake := newFakeAWS(t)
	_, ps := newTestAWSClients(t, fake.srv.URL)
	param := func(value, typ string) string {
		return jsonString(map[string]any{"Parameter": map[string]any{"Name": "/callsign/prod/trtc", "Type": typ, "Value": value, "Version": 3}})
	}
	const ssmPrefix = "secret: aws-ssm: "
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
		{name: "bare SecureString", appID: testAppID, body: param(testKey, "SecureString"), want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON SecureString", body: param(`{"sdkAppID":"1400000000","secretKey":"`+testKey+`","wechatAppSecret":"`+testWeChat+`"}`, "SecureString"),
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, WeChatAppSecret: testWeChat}},
		{name: "plain String refused", appID: testAppID, body: param(testKey, "String"),
			wantKind: ErrInvalidValue, wantErr: ssmPrefix + "invalid value: parameter type is String; store the secret as a SecureString"},
		{name: "access denied", status: 400, body: `{"__type":"AccessDeniedException","message":"not authorized to perform ssm:GetParameter"}`,
			wantKind: ErrAccessDenied, wantErr: ssmPrefix + "access denied (code AccessDeniedException) (HTTP 400) (request req-0001)"},
		{name: "not found", status: 400, body: `{"__type":"ParameterNotFound"}`,
			wantKind: ErrNotFound, wantErr: ssmPrefix + "not found (code ParameterNotFound) (HTTP 400) (request req-0001)"},
		{name: "throttled", status: 400, body: `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
			wantKind: ErrThrottled, wantErr: ssmPrefix + "throttled (code ThrottlingException) (HTTP 400) (request req-0001)"},
		{name: "internal error", status: 500, body: `{"__type":"InternalServerError"}`,
			wantKind: ErrStoreFailure, wantErr: ssmPrefix + "store failure (code InternalServerError) (HTTP 500) (request req-0001)"},
		{name: "malformed JSON", body: `{"Parameter":{"Value":"` + testKey,
			wantKind: ErrInvalidResponse, wantErr: ssmPrefix + "invalid store response: response is not the expected JSON (HTTP 200) (request req-0001)"},
		{name: "missing Parameter", body: `{}`,
			wantKind: ErrInvalidResponse, wantErr: ssmPrefix + "invalid store response: response has no Parameter.Value"},
		{name: "missing Value", body: `{"Parameter":{"Name":"/callsign/prod/trtc","Type":"SecureString"}}`,
			wantKind: ErrInvalidResponse, wantErr: ssmPrefix + "invalid store response: response has no Parameter.Value"},
		{name: "timeout", block: true,
			wantKind: ErrTimeout, wantErr: ssmPrefix + "timed out: context deadline exceeded"},
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
			src, err := NewAWSSSM(ps, "/callsign/prod/trtc", tt.appID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Load(ctx)
			reqs := fake.take()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want exactly 1 (no retries)", len(reqs))
			}
			checkAWSRequest(t, reqs[0], "ssm", "AmazonSSM.GetParameter", map[string]any{"Name": "/callsign/prod/trtc", "WithDecryption": true})
			checkLoad(t, got, err, tt.want, tt.wantKind, tt.wantErr)
		})
	}
}

func TestAWSConstructors(t *testing.T) {
	fake := newFakeAWS(t)
	sm, ps := newTestAWSClients(t, fake.srv.URL)
	tests := []struct {
		name    string
		build   func() error
		wantErr string
	}{
		{name: "sm nil client", build: func() error { _, err := NewAWSSecretsManager(nil, "x", "", 0); return err }, wantErr: "secret: aws-secretsmanager: nil client"},
		{name: "sm empty id", build: func() error { _, err := NewAWSSecretsManager(sm, "", "", 0); return err }, wantErr: "secret: aws-secretsmanager: secret ID is empty"},
		{name: "ssm nil client", build: func() error { _, err := NewAWSSSM(nil, "x", 0); return err }, wantErr: "secret: aws-ssm: nil client"},
		{name: "ssm empty name", build: func() error { _, err := NewAWSSSM(ps, "", 0); return err }, wantErr: "secret: aws-ssm: parameter name is empty"},
		{name: "ok", build: func() error { _, err := NewAWSSSM(ps, "/x", 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build()
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

// TestAWSUnreachable covers a store that refuses connections.
func TestAWSUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	sm, _ := newTestAWSClients(t, url)
	src, err := NewAWSSecretsManager(sm, "callsign/prod/trtc", "", testAppID)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = src.Load(ctx)
	checkStoreError(t, err, ErrStoreFailure, "secret: aws-secretsmanager: store failure: could not reach the store")
}

func BenchmarkAWSSecretsManagerLoad(b *testing.B) {
	fake := newFakeAWS(b)
	fake.respond(http.StatusOK, jsonString(map[string]any{"SecretString": testKey}))
	sm, _ := newTestAWSClients(b, fake.srv.URL)
	src, err := NewAWSSecretsManager(sm, "callsign/prod/trtc", "", testAppID)
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

// TestAWSHungStoreColdStart: a store endpoint that accepts connections but
// never answers. The real client behind a Cache still gives up after
// the fetch timeout with an error the API answers 503.
func TestAWSHungStoreColdStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held <- conn // accepted, never read from or answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case conn := <-held:
				conn.Close()
			default:
				return
			}
		}
	})
	sm, _ := newTestAWSClients(t, "http://"+ln.Addr().String())
	src, err := NewAWSSecretsManager(sm, "callsign/prod/trtc", "", testAppID)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(src, CacheOptions{Now: newFakeClock().Now, Logger: slog.New(slog.DiscardHandler),
		FetchTimeout: 100 * time.Millisecond})
	s, err := loadGuarded(t, c, context.Background())
	if s != (Secret{}) || !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Load = %v, %v; want ErrUnavailable and ErrTimeout", fieldsOf(s), err)
	}
}

// TestAWSCredentialFailures: no request is sent without credentials, and
// the error is access denied without the provider's text or any value.
func TestAWSCredentialFailures(t *testing.T) {
	fake := newFakeAWS(t)
	tests := []struct {
		name  string
		creds awsapi.CredentialsFunc
		want  string
	}{
		{"environment lacks the key", awsapi.EnvCredentials(func(k string) string {
			return map[string]string{"AWS_SECRET_ACCESS_KEY": "leftover-" + testKey}[k]
		}), "secret: aws-secretsmanager: access denied: no AWS credentials"},
		{"provider fails", func(context.Context) (awsapi.Credentials, error) {
			return awsapi.Credentials{}, errors.New("sso token for profile with " + testKey + " expired")
		}, "secret: aws-secretsmanager: access denied: could not get AWS credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm, _, err := NewAWSClients(awsapi.Options{Region: "us-east-1", Endpoint: fake.srv.URL, Credentials: tt.creds})
			if err != nil {
				t.Fatal(err)
			}
			src, err := NewAWSSecretsManager(sm, "callsign/prod/trtc", "", testAppID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Load(context.Background())
			checkStoreError(t, err, ErrAccessDenied, tt.want)
			if n := len(fake.take()); n != 0 {
				t.Fatalf("%d requests sent without credentials", n)
			}
		})
	}
}
