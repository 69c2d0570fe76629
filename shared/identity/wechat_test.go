package identity

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testctx"
	"github.com/callsign-dev/callsign/shared/internal/testtls"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

const (
	testWechatAppID  = "wx0123456789abcdef"
	testWechatSecret = "s3cr3t-app-secret-0123456789abcd"
	testCode         = "081AbCdEf0GhIj1kLmNo2pQrSt3AbCdE"
	testSessionKey   = "tiihtNczf5v6AKRyjwEUhQ=="
)

// fakeWechat is a local code2Session endpoint that answers each request
// with the next scripted response (the last one repeats).
type fakeWechat struct {
	t        testing.TB
	mu       sync.Mutex
	script   []func(http.ResponseWriter, *http.Request)
	requests []*http.Request
	srv      *httptest.Server
}

func newFakeWechat(t testing.TB, script ...func(http.ResponseWriter, *http.Request)) *fakeWechat {
	f := &fakeWechat{t: t, script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		step := f.script[min(len(f.requests), len(f.script))-1]
		f.mu.Unlock()
		step(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWechat) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func reply(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func errcodeReply(code int, msg string) func(http.ResponseWriter, *http.Request) {
	return reply(http.StatusOK, `{"errcode":`+strconv.Itoa(code)+`,"errmsg":"`+msg+` hint: [`+testWechatSecret+`]"}`)
}

var successBody = `{"openid":"` + testOpenID + `","session_key":"` + testSessionKey + `","unionid":"oUnion0123456789abcdefghijk"}`

func newTestWechat(t *testing.T, base string, timeout time.Duration) *Wechat {
	t.Helper()
	w, err := NewWechat(WechatOptions{
		BaseURL:    base,
		AppID:      testWechatAppID,
		AppSecret:  func(context.Context) (string, error) { return testWechatSecret, nil },
		Timeout:    timeout,
		RetryDelay: time.Microsecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestCode2Session(t *testing.T) {
	tests := []struct {
		name      string
		script    []func(http.ResponseWriter, *http.Request)
		want      WechatSession
		wantIs    error
		wantText  string
		wantCalls int
	}{
		{"success", []func(http.ResponseWriter, *http.Request){reply(200, successBody)},
			WechatSession{OpenID: testOpenID, UnionID: "oUnion0123456789abcdefghijk"}, nil, "", 1},
		{"success errcode 0 without unionid", []func(http.ResponseWriter, *http.Request){reply(200, `{"errcode":0,"errmsg":"ok","openid":"`+testOpenID+`","session_key":"k"}`)},
			WechatSession{OpenID: testOpenID}, nil, "", 1},
		{"busy then success", []func(http.ResponseWriter, *http.Request){errcodeReply(-1, "system error"), reply(200, successBody)},
			WechatSession{OpenID: testOpenID, UnionID: "oUnion0123456789abcdefghijk"}, nil, "", 2},
		{"busy twice", []func(http.ResponseWriter, *http.Request){errcodeReply(-1, "system error")},
			WechatSession{}, ErrUnavailable, "wechat code2Session: errcode -1: identity: upstream unavailable", 2},
		{"invalid code", []func(http.ResponseWriter, *http.Request){errcodeReply(40029, "invalid code")},
			WechatSession{}, ErrUnauthenticated, "wechat code2Session: errcode 40029: identity: unauthenticated", 1},
		{"code used", []func(http.ResponseWriter, *http.Request){errcodeReply(40163, "code been used")},
			WechatSession{}, ErrUnauthenticated, "wechat code2Session: errcode 40163: identity: unauthenticated", 1},
		{"rate limited", []func(http.ResponseWriter, *http.Request){errcodeReply(45011, "api minute-quota reach limit")},
			WechatSession{}, ErrRateLimited, "wechat code2Session: errcode 45011: identity: upstream rate limited", 1},
		{"blocked user", []func(http.ResponseWriter, *http.Request){errcodeReply(40226, "code blocked")},
			WechatSession{}, ErrForbidden, "wechat code2Session: errcode 40226: identity: forbidden", 1},
		{"invalid appsecret", []func(http.ResponseWriter, *http.Request){errcodeReply(40125, "invalid appsecret")},
			WechatSession{}, ErrMisconfigured, "wechat code2Session: errcode 40125: identity: misconfigured", 1},
		{"invalid appid", []func(http.ResponseWriter, *http.Request){errcodeReply(40013, "invalid appid")},
			WechatSession{}, ErrMisconfigured, "wechat code2Session: errcode 40013: identity: misconfigured", 1},
		{"invalid url", []func(http.ResponseWriter, *http.Request){errcodeReply(40066, "invalid url")},
			WechatSession{}, ErrMisconfigured, "wechat code2Session: errcode 40066: identity: misconfigured", 1},
		{"unknown errcode", []func(http.ResponseWriter, *http.Request){errcodeReply(48001, "api unauthorized")},
			WechatSession{}, ErrUnavailable, "wechat code2Session: errcode 48001: identity: upstream unavailable", 1},
		{"timeout", nil, // the loop sets a step that holds the request until the client gives up
			WechatSession{}, context.DeadlineExceeded, "wechat code2Session: identity: upstream unavailable: request did not complete: context deadline exceeded", 1},
		{"malformed JSON", []func(http.ResponseWriter, *http.Request){reply(200, `{"openid":`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: malformed response", 1},
		{"HTML error page", []func(http.ResponseWriter, *http.Request){reply(200, `<html>busy</html>`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: malformed response", 1},
		{"missing openid", []func(http.ResponseWriter, *http.Request){reply(200, `{"session_key":"`+testSessionKey+`"}`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: response has no openid", 1},
		{"malformed openid", []func(http.ResponseWriter, *http.Request){reply(200, `{"openid":"a b","session_key":"`+testSessionKey+`"}`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: response has a malformed openid or unionid", 1},
		{"5xx", []func(http.ResponseWriter, *http.Request){reply(502, `{"errcode":0,"openid":"`+testOpenID+`"}`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: HTTP status 502", 1},
		{"redirect not followed", []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/steal?"+r.URL.RawQuery, http.StatusFound)
		}}, WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: HTTP status 302", 1},
		{"oversized body", []func(http.ResponseWriter, *http.Request){reply(200, `{"openid":"`+testOpenID+`","pad":"`+strings.Repeat("x", 70<<10)+`"}`)},
			WechatSession{}, ErrUnavailable, "wechat code2Session: identity: upstream unavailable: response too large", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, ctx := tt.script, context.Background()
			if tt.name == "timeout" {
				// The caller's deadline passes once the request has
				// arrived (the fake records it before the step runs).
				entered := testctx.NewSignal()
				script = []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
					entered.Fire()
					<-r.Context().Done()
				}}
				var cancel context.CancelFunc
				ctx, cancel = testctx.DeadlineOn(entered.C(), 10*time.Second)
				defer cancel()
			}
			f := newFakeWechat(t, script...)
			w := newTestWechat(t, f.srv.URL+"/", 10*time.Second)
			got, err := w.Code2Session(ctx, testCode)
			if tt.wantText == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
				}
			} else {
				if err == nil || err.Error() != tt.wantText {
					t.Fatalf("err = %v, want %q", err, tt.wantText)
				}
				if !errors.Is(err, tt.wantIs) || (tt.wantIs == context.DeadlineExceeded && !errors.Is(err, ErrUnavailable)) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.wantIs)
				}
				if got != (WechatSession{}) {
					t.Fatalf("session returned with error: %+v", got)
				}
				for _, secret := range []string{testWechatSecret, testSessionKey, testCode} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error text leaks %q: %v", secret, err)
					}
				}
			}
			if n := f.count(); n != tt.wantCalls {
				t.Fatalf("requests = %d, want %d", n, tt.wantCalls)
			}
			for _, r := range f.requests {
				q := r.URL.Query()
				if r.Method != http.MethodGet || r.URL.Path != "/sns/jscode2session" || len(q) != 4 ||
					q.Get("appid") != testWechatAppID || q.Get("secret") != testWechatSecret ||
					q.Get("js_code") != testCode || q.Get("grant_type") != "authorization_code" {
					t.Fatalf("request = %s %s", r.Method, r.URL.Path)
				}
			}
		})
	}
}

// TestCode2SessionTimeout: WechatOptions.Timeout bounds a call whose caller
// set no deadline. The client may give up before its request reaches the
// server on a loaded machine, so at most one request is expected.
func TestCode2SessionTimeout(t *testing.T) {
	f := newFakeWechat(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	w := newTestWechat(t, f.srv.URL+"/", 50*time.Millisecond)
	_, err := w.Code2Session(context.Background(), testCode)
	const want = "wechat code2Session: identity: upstream unavailable: request did not complete: context deadline exceeded"
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := f.count(); n > 1 {
		t.Fatalf("requests = %d, want at most 1", n)
	}
}

func TestCode2SessionTransportErrorHidesSecret(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	w := newTestWechat(t, base, time.Second)
	_, err := w.Code2Session(context.Background(), testCode)
	if err == nil || err.Error() != "wechat code2Session: identity: upstream unavailable: transport error" || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// TestCode2SessionDefaultClientVerifies exchanges a code with a loopback
// HTTPS server whose certificate chains to no trusted root through the
// default client, which verifies in VerifyConnection (tlstrust): the
// exchange fails as unavailable, without the secret in the error, and the
// request (whose query carries the AppSecret) never reaches the server.
func TestCode2SessionDefaultClientVerifies(t *testing.T) {
	t.Setenv(tlstrust.EnvCertFile, "")
	t.Setenv(tlstrust.EnvCertDir, "")
	var reached atomic.Bool
	srv := testtls.NewCA(t, "untrusted root", nil).Serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }), []string{"127.0.0.1"})
	w := newTestWechat(t, srv.URL, 10*time.Second) // only guards a hang: a failed check loads the system roots, slow under -race
	tr, ok := w.client().Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.VerifyConnection == nil {
		t.Fatalf("default transport %T does not verify through tlstrust", w.client().Transport)
	}
	_, err := w.Code2Session(context.Background(), testCode)
	if err == nil || err.Error() != "wechat code2Session: identity: upstream unavailable: transport error" || strings.Contains(err.Error(), testWechatSecret) {
		t.Fatalf("err = %v", err)
	}
	if reached.Load() {
		t.Error("the request reached a server whose certificate does not verify")
	}
}

func TestCode2SessionCallerCanceled(t *testing.T) {
	f := newFakeWechat(t, reply(200, successBody))
	w := newTestWechat(t, f.srv.URL, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.Code2Session(ctx, testCode)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), testWechatSecret) {
		t.Fatalf("err = %v", err)
	}
}

func TestCode2SessionRejectsBadCode(t *testing.T) {
	f := newFakeWechat(t, reply(200, successBody))
	w := newTestWechat(t, f.srv.URL, time.Second)
	for _, code := range []string{"", "a b", "abc\n", "ä", strings.Repeat("a", 129), "a\x00"} {
		_, err := w.Code2Session(context.Background(), code)
		if err == nil || err.Error() != "wechat code2Session: identity: unauthenticated: malformed login code" || !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("code %q: err = %v", code, err)
		}
	}
	if _, err := w.Code2Session(context.Background(), strings.Repeat("a", 128)); err != nil {
		t.Fatalf("128-byte code refused: %v", err)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("requests = %d, want 1 (bad codes never reach WeChat)", n)
	}
}

func TestCode2SessionSecretSourceFailure(t *testing.T) {
	storeDown := errors.New("secret: unavailable")
	f := newFakeWechat(t, reply(200, successBody))
	w, err := NewWechat(WechatOptions{BaseURL: f.srv.URL, AppID: testWechatAppID,
		AppSecret: func(context.Context) (string, error) { return "", storeDown }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Code2Session(context.Background(), testCode); !errors.Is(err, storeDown) || err.Error() != "wechat code2Session: loading AppSecret: secret: unavailable" {
		t.Fatalf("err = %v", err)
	}
	w, err = NewWechat(WechatOptions{BaseURL: f.srv.URL, AppID: testWechatAppID,
		AppSecret: func(context.Context) (string, error) { return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Code2Session(context.Background(), testCode); !errors.Is(err, ErrMisconfigured) {
		t.Fatalf("err = %v", err)
	}
	if n := f.count(); n != 0 {
		t.Fatalf("requests = %d, want 0", n)
	}
}

func TestNewWechatOptions(t *testing.T) {
	secret := func(context.Context) (string, error) { return testWechatSecret, nil }
	tests := []struct {
		name string
		opts WechatOptions
		want string
	}{
		{"no appid", WechatOptions{AppSecret: secret}, "identity: wechat client needs the AppID (CALLSIGN_WECHAT_APP_ID)"},
		{"no secret", WechatOptions{AppID: testWechatAppID}, "identity: wechat client needs an AppSecret source"},
		{"bad base", WechatOptions{AppID: testWechatAppID, AppSecret: secret, BaseURL: "ftp://x"}, "identity: wechat base URL must be an absolute https URL without a query (plain http only for localhost or a loopback IP)"},
		{"plain http to another host", WechatOptions{AppID: testWechatAppID, AppSecret: secret, BaseURL: "http://api.weixin.qq.com"}, "identity: wechat base URL must be an absolute https URL without a query (plain http only for localhost or a loopback IP)"},
		{"plain http to a name resolving anywhere", WechatOptions{AppID: testWechatAppID, AppSecret: secret, BaseURL: "http://127.0.0.1.nip.io:8080"}, "identity: wechat base URL must be an absolute https URL without a query (plain http only for localhost or a loopback IP)"},
		{"base with query", WechatOptions{AppID: testWechatAppID, AppSecret: secret, BaseURL: "https://x/?a=b"}, "identity: wechat base URL must be an absolute https URL without a query (plain http only for localhost or a loopback IP)"},
		{"negative timeout", WechatOptions{AppID: testWechatAppID, AppSecret: secret, Timeout: -1}, "identity: wechat timeout and retry delay must not be negative"},
	}
	for _, tt := range tests {
		if _, err := NewWechat(tt.opts); err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	w, err := NewWechat(WechatOptions{AppID: testWechatAppID, AppSecret: secret})
	if err != nil || w.endpoint != "https://api.weixin.qq.com/sns/jscode2session" || w.timeout != 3*time.Second {
		t.Fatalf("defaults: %+v, %v", w, err)
	}
}

func FuzzParseCode2Session(f *testing.F) {
	f.Add([]byte(successBody))
	f.Add([]byte(`{"errcode":40029,"errmsg":"invalid code"}`))
	f.Add([]byte(`{"errcode":"40029"}`))
	f.Add([]byte(`{"openid":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, code, err := parseCode2Session(body)
		switch {
		case err != nil:
			if !errors.Is(err, ErrUnavailable) || s != (WechatSession{}) || code != 0 {
				t.Fatalf("bad error result: %+v %d %v", s, code, err)
			}
		case code != 0:
			if s != (WechatSession{}) {
				t.Fatalf("session with errcode: %+v", s)
			}
		default:
			if !plausibleID(s.OpenID) {
				t.Fatalf("implausible openid accepted: %q", s.OpenID)
			}
		}
	})
}
