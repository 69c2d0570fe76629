package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testctx"
)

// seen is one request the fake service received.
type seen struct {
	header http.Header
	path   string
	body   string
}

// fakeService answers each request with the next scripted reply (the last
// one repeats) and records what it received.
type fakeService struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies []func(w http.ResponseWriter, r *http.Request)
	reqs    []seen
}

func newFake(t *testing.T, replies ...func(w http.ResponseWriter, r *http.Request)) *fakeService {
	t.Helper()
	f := &fakeService{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{header: r.Header.Clone(), path: r.URL.Path, body: string(b)})
		reply := f.replies[min(len(f.reqs), len(f.replies))-1]
		f.mu.Unlock()
		reply(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func reply(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-RequestId", "REQ1")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

var testCreds = Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret-key-for-tests", SessionToken: "session-token-for-tests"}

func staticCreds(c Credentials) CredentialsFunc {
	return func(context.Context) (Credentials, error) { return c, nil }
}

func newTestClient(t *testing.T, endpoint string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{Service: DynamoDB, Region: "eu-west-1", Credentials: staticCreds(testCreds), Endpoint: endpoint, Now: testclock.AtEpoch().Now}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRequestShape pins the wire form of a JSON 1.0 and a JSON 1.1 call,
// and checks the signature by signing the received request again.
func TestRequestShape(t *testing.T) {
	for _, svc := range []Service{DynamoDB, SecretsManager, SSM} {
		t.Run(svc.Name, func(t *testing.T) {
			f := newFake(t, reply(200, `{"Item":{"pk":{"S":"a"}}}`))
			c := newTestClient(t, f.srv.URL, func(o *Options) { o.Service = svc })
			var out struct{ Item map[string]map[string]string }
			if err := c.Call(context.Background(), "GetItem", map[string]string{"TableName": "t"}, &out); err != nil {
				t.Fatal(err)
			}
			if out.Item["pk"]["S"] != "a" {
				t.Fatalf("decoded %+v", out)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			wantDate := testclock.Epoch().UTC().Format(AmzDateFormat)
			for h, want := range map[string]string{
				"Content-Type":         string(svc.Protocol),
				"X-Amz-Target":         svc.TargetPrefix + ".GetItem",
				"X-Amz-Date":           wantDate,
				"X-Amz-Security-Token": testCreds.SessionToken,
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if r.path != "/" || r.body != `{"TableName":"t"}` {
				t.Errorf("path %q body %q", r.path, r.body)
			}
			// Sign the received request again: same Authorization.
			again, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(r.body))
			for _, h := range []string{"Content-Type", "X-Amz-Target"} {
				again.Header.Set(h, r.header.Get(h))
			}
			Sign(again, PayloadHash([]byte(r.body)), testCreds, svc.Name, "eu-west-1", testclock.Epoch())
			if got, want := r.header.Get("Authorization"), again.Header.Get("Authorization"); got != want {
				t.Errorf("Authorization =\n %s\nwant\n %s", got, want)
			}
			wantPrefix := "AWS4-HMAC-SHA256 Credential=AKIDTEST/" + testclock.Epoch().UTC().Format("20060102") + "/eu-west-1/" + svc.Name + "/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="
			if got := r.header.Get("Authorization"); !strings.HasPrefix(got, wantPrefix) {
				t.Errorf("Authorization = %q, want prefix %q", got, wantPrefix)
			}
		})
	}
}

// TestCredentialsReadPerCall: every call asks the provider again, and a
// provider without a key fails before anything is sent.
func TestCredentialsReadPerCall(t *testing.T) {
	f := newFake(t, reply(200, `{}`))
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDONE", "AWS_SECRET_ACCESS_KEY": "one-secret"}
	var mu sync.Mutex
	getenv := func(k string) string { mu.Lock(); defer mu.Unlock(); return env[k] }
	c := newTestClient(t, f.srv.URL, func(o *Options) { o.Credentials = EnvCredentials(getenv) })
	ctx := context.Background()
	if err := c.Call(ctx, "GetItem", nil, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	env = map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTWO", "AWS_SECRET_ACCESS_KEY": "two-secret", "AWS_SESSION_TOKEN": "two-token"}
	mu.Unlock()
	if err := c.Call(ctx, "GetItem", nil, nil); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if !strings.Contains(reqs[0].header.Get("Authorization"), "Credential=AKIDONE/") || reqs[0].header.Get("X-Amz-Security-Token") != "" ||
		!strings.Contains(reqs[1].header.Get("Authorization"), "Credential=AKIDTWO/") || reqs[1].header.Get("X-Amz-Security-Token") != "two-token" {
		t.Fatalf("requests did not carry the credentials current at each call: %v / %v", reqs[0].header, reqs[1].header)
	}
	mu.Lock()
	env = map[string]string{"AWS_SECRET_ACCESS_KEY": "leftover-secret"}
	mu.Unlock()
	err := c.Call(ctx, "GetItem", nil, nil)
	const want = "awsapi: dynamodb GetItem: awsapi: cannot get AWS credentials: awsapi: no AWS credentials: AWS_ACCESS_KEY_ID not set"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNoCredentials) || !errors.Is(err, ErrCredentials) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), "leftover-secret") {
		t.Fatal("the error echoes a credential")
	}
	if n := len(f.requests()); n != 2 {
		t.Fatalf("%d requests, want none sent without credentials", n)
	}
}

func TestEnvProvider(t *testing.T) {
	tests := []struct {
		env        map[string]string
		wantRegion string
		wantErr    string
	}{
		{map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"}, "eu-west-1", ""},
		{map[string]string{"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"}, "us-east-1", ""},
		{map[string]string{}, "", "awsapi: no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"},
		{map[string]string{"AWS_ACCESS_KEY_ID": "A"}, "", "awsapi: no AWS credentials: AWS_SECRET_ACCESS_KEY not set"},
	}
	for _, tt := range tests {
		p := EnvProvider(func(k string) string { return tt.env[k] })
		c, err := p.Credentials(context.Background())
		got := ""
		if err != nil {
			got = err.Error()
		}
		if p.Region != tt.wantRegion || got != tt.wantErr {
			t.Errorf("env %v: region %q err %q, want %q %q", tt.env, p.Region, got, tt.wantRegion, tt.wantErr)
		}
		if err == nil && (c.AccessKeyID != "A" || c.SecretAccessKey != "S" || c.SessionToken != "") {
			t.Errorf("env %v: credentials %#v", tt.env, c)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v %s", testCreds, testCreds, testCreds, testCreds); strings.Contains(s, "secret-key") || strings.Contains(s, "session-token") || strings.Contains(s, "AKIDTEST") {
		t.Fatalf("Credentials render their values: %s", s)
	}
}

// TestRetries: which answers are retried, how often, and what is returned.
func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		replies  []func(http.ResponseWriter, *http.Request)
		attempts int
		wantReqs int
		wantErr  string
	}{
		{name: "5xx then success", replies: []func(http.ResponseWriter, *http.Request){reply(500, `{"__type":"InternalServerError"}`), reply(200, `{}`)}, wantReqs: 2},
		{name: "throttled then success", replies: []func(http.ResponseWriter, *http.Request){reply(400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`), reply(200, `{}`)}, wantReqs: 2},
		{name: "hang-up then success", replies: []func(http.ResponseWriter, *http.Request){hangUp, reply(200, `{}`)}, wantReqs: 2},
		{name: "503 every time", replies: []func(http.ResponseWriter, *http.Request){reply(503, `<html>busy</html>`)}, wantReqs: 3,
			wantErr: "awsapi: dynamodb GetItem: error status (HTTP 503, request REQ1)"},
		{name: "429 with one attempt", attempts: 1, replies: []func(http.ResponseWriter, *http.Request){reply(429, `{}`)}, wantReqs: 1,
			wantErr: "awsapi: dynamodb GetItem: error status (HTTP 429, request REQ1)"},
		{name: "validation error not retried", replies: []func(http.ResponseWriter, *http.Request){reply(400, `{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}`)}, wantReqs: 1,
			wantErr: "awsapi: dynamodb GetItem: ValidationException (HTTP 400, request REQ1): One or more parameter values were invalid"},
		{name: "condition failure not retried", replies: []func(http.ResponseWriter, *http.Request){reply(400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`)}, wantReqs: 1,
			wantErr: "awsapi: dynamodb GetItem: ConditionalCheckFailedException (HTTP 400, request REQ1): The conditional request failed"},
		{name: "invalid JSON not retried", replies: []func(http.ResponseWriter, *http.Request){reply(200, `{"Item":`)}, wantReqs: 1,
			wantErr: "awsapi: dynamodb GetItem: response is not the expected JSON (HTTP 200, request REQ1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.replies...)
			c := newTestClient(t, f.srv.URL, func(o *Options) { o.MaxAttempts = tt.attempts })
			var out map[string]any
			err := c.Call(context.Background(), "GetItem", nil, &out)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("err = %q, want %q", got, tt.wantErr)
			}
			if n := len(f.requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

// TestNoRetryPastDeadline: a retry is sent only when the pause before it
// ends before the context's deadline; the first pause that would not is
// not waited, and the last answer's error is returned. The pauses are
// chosen by the test (the real ones are random; see TestBackoff), so the
// number of requests is exact.
func TestNoRetryPastDeadline(t *testing.T) {
	const want500 = "awsapi: dynamodb GetItem: error status (HTTP 500, request REQ1)"
	tests := []struct {
		name string
		// fits is how many pauses are short enough (0) before one is
		// longer than the time left (an hour, against a deadline of 10 s).
		fits       int
		wantReqs   int
		wantPauses []int
	}{
		{name: "no pause fits: the first answer's error, no wait", fits: 0, wantReqs: 1, wantPauses: []int{1}},
		{name: "two pauses fit: the third answer's error", fits: 2, wantReqs: 3, wantPauses: []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, reply(500, `{}`))
			c := newTestClient(t, f.srv.URL, func(o *Options) { o.MaxAttempts = 100 })
			var pauses []int
			c.pause = func(attempt int) time.Duration {
				pauses = append(pauses, attempt)
				if attempt <= tt.fits {
					return 0
				}
				return time.Hour
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := c.Call(ctx, "GetItem", nil, nil)
			var e *Error
			if !errors.As(err, &e) || e.Status != 500 || err.Error() != want500 {
				t.Fatalf("err = %v, want %q", err, want500)
			}
			if ctx.Err() != nil {
				t.Error("Do waited for the deadline instead of returning at once")
			}
			if n := len(f.requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if !slices.Equal(pauses, tt.wantPauses) {
				t.Errorf("pauses asked for attempts %v, want %v", pauses, tt.wantPauses)
			}
		})
	}
}

// TestBackoff: the real pause before attempt n+1 is within
// [0, min(retryCap, retryBase·2^(n-1))), and New uses it.
func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= 70; attempt++ {
		ceiling := retryCap
		if attempt <= 5 {
			ceiling = retryBase << (attempt - 1) // 50ms … 800ms
		}
		for range 200 {
			if d := backoff(attempt); d < 0 || d >= ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v)", attempt, d, ceiling)
			}
		}
	}
	c := newTestClient(t, "http://127.0.0.1:1", nil)
	if reflect.ValueOf(c.pause).Pointer() != reflect.ValueOf(backoff).Pointer() {
		t.Fatal("New does not pause with backoff")
	}
}

func TestTransportErrors(t *testing.T) {
	f := newFake(t, hangUp)
	c := newTestClient(t, f.srv.URL, func(o *Options) { o.MaxAttempts = 2 })
	err := c.Call(context.Background(), "GetItem", nil, nil)
	if !errors.Is(err, ErrNoResponse) || len(f.requests()) != 2 {
		t.Fatalf("err = %v after %d requests, want ErrNoResponse after 2", err, len(f.requests()))
	}

	// The deadline passes once the request has reached the server (the
	// fake records it before the handler runs), so exactly one arrives.
	block := make(chan struct{})
	entered := testctx.NewSignal()
	slow := newFake(t, func(http.ResponseWriter, *http.Request) { entered.Fire(); <-block })
	t.Cleanup(func() { close(block) }) // runs before the server's Close
	c = newTestClient(t, slow.srv.URL, nil)
	ctx, cancel := testctx.DeadlineOn(entered.C(), 10*time.Second)
	defer cancel()
	err = c.Call(ctx, "GetItem", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNoResponse) || len(slow.requests()) != 1 {
		t.Fatalf("err = %v after %d requests, want DeadlineExceeded after 1", err, len(slow.requests()))
	}
	if want := "awsapi: dynamodb GetItem: context deadline exceeded"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if r := slow.requests()[0]; r.header.Get("X-Amz-Target") != "DynamoDB_20120810.GetItem" || r.body != "{}" {
		t.Errorf("request: target %q body %q", r.header.Get("X-Amz-Target"), r.body)
	}
}

func TestRedirectRefused(t *testing.T) {
	target := newFake(t, reply(200, `{}`))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+"/", http.StatusTemporaryRedirect)
	})
	c := newTestClient(t, f.srv.URL, nil)
	err := c.Call(context.Background(), "GetItem", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusTemporaryRedirect || len(target.requests()) != 0 {
		t.Fatalf("err = %v, target got %d requests; want the 307 as an error and no request followed", err, len(target.requests()))
	}
}

func TestResponseCap(t *testing.T) {
	big := `{"Item":{"pk":{"S":"` + strings.Repeat("x", 2000) + `"}}}`
	f := newFake(t, reply(200, big))
	c := newTestClient(t, f.srv.URL, func(o *Options) { o.MaxResponseBytes = 1000 })
	err := c.Call(context.Background(), "GetItem", nil, &map[string]any{})
	if !errors.Is(err, ErrResponseTooLarge) || strings.Contains(err.Error(), "xxx") {
		t.Fatalf("err = %v, want ErrResponseTooLarge without the body", err)
	}
	c = newTestClient(t, f.srv.URL, func(o *Options) { o.MaxResponseBytes = int64(len(big)) })
	if err := c.Call(context.Background(), "GetItem", nil, &map[string]any{}); err != nil {
		t.Fatalf("a body of exactly the cap: %v", err)
	}
}

func TestErrorDetail(t *testing.T) {
	f := newFake(t, reply(400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"tat":{"N":"42"}}}`))
	c := newTestClient(t, f.srv.URL, nil)
	var detail struct{ Item map[string]map[string]string }
	err := c.Do(context.Background(), Request{Operation: "UpdateItem", ErrorDetail: &detail})
	var e *Error
	if !errors.As(err, &e) || e.Code != "ConditionalCheckFailedException" || detail.Item["tat"]["N"] != "42" {
		t.Fatalf("err = %v, detail %+v", err, detail)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), "42") {
		t.Fatal("the error holds the response body")
	}
}

func TestDecodeError(t *testing.T) {
	long := strings.Repeat("é", 200)
	tests := []struct {
		name, header, body string
		wantCode, wantMsg  string
	}{
		{"__type with namespace", "", `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`, "ResourceNotFoundException", "Requested resource not found"},
		{"capital Message", "", `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."},
		{"code field", "", `{"code":"ThrottlingException","message":"Rate exceeded"}`, "ThrottlingException", "Rate exceeded"},
		{"header wins", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/", `{"__type":"Other"}`, "AccessDeniedException", ""},
		{"signature message dropped", "", `{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/\nx-amz-security-token:TOKEN'"}`, "InvalidSignatureException", ""},
		{"first line only", "", `{"__type":"ValidationException","message":"line one\nline two"}`, "ValidationException", "line one"},
		{"controls dropped", "", `{"__type":"ValidationException","message":"a\u0000b\u001bc"}`, "ValidationException", "abc"},
		{"long message cut", "", `{"__type":"ValidationException","message":"` + long + `"}`, "ValidationException", strings.Repeat("é", 128)},
		{"odd code refused", "", `{"__type":"<script>","message":"m"}`, "", "m"},
		{"not JSON", "", `<html>Service Unavailable</html>`, "", ""},
		{"empty", "", ``, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-Amzn-ErrorType", tt.header)
			}
			code, msg := DecodeError(h, []byte(tt.body))
			if code != tt.wantCode || msg != tt.wantMsg {
				t.Fatalf("DecodeError = %q, %q; want %q, %q", code, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		service, region, override string
		want                      string
		wantErr                   bool
	}{
		{"dynamodb", "eu-west-1", "", "https://dynamodb.eu-west-1.amazonaws.com/", false},
		{"secretsmanager", "cn-north-1", "", "https://secretsmanager.cn-north-1.amazonaws.com.cn/", false},
		{"ssm", "us-east-1", "https://vpce-1.ssm.us-east-1.vpce.amazonaws.com", "https://vpce-1.ssm.us-east-1.vpce.amazonaws.com/", false},
		{"dynamodb", "us-east-1", "http://127.0.0.1:8000", "http://127.0.0.1:8000/", false},
		{"dynamodb", "us-east-1", "http://localhost:8000/", "http://localhost:8000/", false},
		{"dynamodb", "us-east-1", "http://[::1]:8000", "http://[::1]:8000/", false},
		{"dynamodb", "us-east-1", "http://dynamo.example.com", "", true},
		{"dynamodb", "us-east-1", "http://10.0.0.1:8000", "", true},
		{"dynamodb", "us-east-1", "https://u:p@dynamo.example.com", "", true},
		{"dynamodb", "us-east-1", "https://dynamo.example.com/?x=1", "", true},
		{"dynamodb", "us-east-1", "https://dynamo.example.com/#f", "", true},
		{"dynamodb", "us-east-1", "ftp://dynamo.example.com", "", true},
		{"dynamodb", "us-east-1", "dynamo.example.com", "", true},
	}
	for _, tt := range tests {
		got, err := ResolveEndpoint(tt.service, tt.region, tt.override)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ResolveEndpoint(%q, %q, %q) = %q, %v; want %q (error %v)", tt.service, tt.region, tt.override, got, err, tt.want, tt.wantErr)
		}
		if err != nil && (!errors.Is(err, ErrBadEndpoint) || strings.Contains(err.Error(), "example")) {
			t.Errorf("error %v is not ErrBadEndpoint or echoes the URL", err)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := Options{Service: SSM, Region: "eu-west-1", Credentials: staticCreds(testCreds)}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"ok", func(*Options) {}, ""},
		{"no service", func(o *Options) { o.Service = Service{} }, "awsapi: incomplete Service"},
		{"no region", func(o *Options) { o.Region = "" }, "awsapi: ssm: no AWS region (set AWS_REGION)"},
		{"host in region", func(o *Options) { o.Region = "evil.com/x" }, "awsapi: ssm: region is not a valid AWS region name"},
		{"no credentials", func(o *Options) { o.Credentials = nil }, "awsapi: ssm: Credentials is required"},
		{"remote http", func(o *Options) { o.Endpoint = "http://ssm.example.com" }, ErrBadEndpoint.Error()},
	}
	for _, tt := range tests {
		o := ok
		tt.mod(&o)
		_, err := New(o)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("%s: err = %q, want %q", tt.name, got, tt.wantErr)
		}
	}
}

func TestErrorJSONRoundTrip(t *testing.T) {
	// A marshalled *Error (as a structured logger renders it) holds only
	// its fields.
	e := &Error{Service: "ssm", Operation: "GetParameter", Code: "ParameterNotFound", Status: 400, RequestID: "r"}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Service":"ssm","Operation":"GetParameter","Code":"ParameterNotFound","Status":400,"Message":"","RequestID":"r","Err":null}`; string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
}

func TestValidRegion(t *testing.T) {
	for _, tc := range []struct {
		region string
		want   bool
	}{
		{"us-east-1", true},
		{"cn-north-1", true},
		{"ap-southeast-2", true},
		{"local", true},
		{"", false},
		{"-us-east-1", false},
		{"us-east-1-", false},
		{"us--east-1", false},
		{"US-east-1", false},
		{"us_east_1", false},
		{"evil.com/x", false},
		{"us-east-1\n", false},
	} {
		if got := validRegion(tc.region); got != tc.want {
			t.Errorf("validRegion(%q) = %v, want %v", tc.region, got, tc.want)
		}
	}
}
