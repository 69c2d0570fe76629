package imapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/usersig"
)

const (
	testAppID = 1400000000
	testKey   = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
)

// request is one request the fake IM REST server saw.
type request struct {
	path  string
	query map[string][]string
	body  string
}

// fakeIM emulates the IM REST API: it records every request and answers
// with the body answer returns for its path.
func fakeIM(t *testing.T, answer func(path, body string) string) (*httptest.Server, func() []request) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen = append(seen, request{path: r.URL.Path, query: r.URL.Query(), body: string(b)})
		mu.Unlock()
		_, _ = io.WriteString(w, answer(r.URL.Path, string(b)))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), seen...)
	}
}

const ok = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`

func newClient(t *testing.T, base string, c *testclock.Clock) *Client {
	t.Helper()
	cl, err := New(Options{BaseURL: base, Secrets: secret.Static(secret.Secret{SDKAppID: testAppID, SecretKey: testKey}), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// checkQuery asserts the REST query: sdkappid, the administrator
// identifier, a usersig that verifies for it at now, a uint32 random and
// contenttype=json, and nothing else.
func checkQuery(t *testing.T, q map[string][]string, now time.Time) string {
	t.Helper()
	if len(q) != 5 || q["sdkappid"][0] != "1400000000" || q["identifier"][0] != "administrator" || q["contenttype"][0] != "json" {
		t.Fatalf("query = %v", q)
	}
	if _, err := strconv.ParseUint(q["random"][0], 10, 32); err != nil {
		t.Fatalf("random = %q", q["random"][0])
	}
	sig := q["usersig"][0]
	if _, err := usersig.Verify(sig, []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "administrator", Now: now}); err != nil {
		t.Fatalf("usersig does not verify for administrator: %v", err)
	}
	return sig
}

func TestKick(t *testing.T) {
	c := testclock.AtEpoch()
	srv, seen := fakeIM(t, func(path, body string) string {
		if strings.Contains(body, "ghost") {
			return `{"ActionStatus":"FAIL","ErrorInfo":"account not found","ErrorCode":70107}`
		}
		if strings.Contains(body, "busy") {
			return `{"ActionStatus":"FAIL","ErrorInfo":"internal timeout","ErrorCode":70169}`
		}
		return ok
	})
	cl := newClient(t, srv.URL, c)
	ctx := context.Background()
	if err := cl.Kick(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if err := cl.Kick(ctx, "ghost"); err != nil {
		t.Fatalf("Kick of an unknown account: %v", err)
	}
	err := cl.Kick(ctx, "busy")
	var e *Error
	if !errors.As(err, &e) || e.Code != 70169 || e.Path != PathKick {
		t.Fatalf("Kick(busy) = %v", err)
	}
	got := seen()
	if len(got) != 3 {
		t.Fatalf("%d requests", len(got))
	}
	if got[0].path != "/v4/im_open_login_svc/kick" || got[0].body != `{"UserID":"mallory"}` {
		t.Fatalf("kick request = %s %s", got[0].path, got[0].body)
	}
	first := checkQuery(t, got[0].query, c.Now())
	// The administrator UserSig is cached, not minted per request.
	if second := checkQuery(t, got[1].query, c.Now()); second != first {
		t.Fatal("the administrator UserSig was minted again within its lifetime")
	}
	if strings.Contains(err.Error(), first) || strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("error text leaks the URL or UserSig: %v", err)
	}
	// Past 80 % of its lifetime a new one is minted.
	c.Advance(AdminSigTTL * 4 / 5)
	if err := cl.Kick(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	if third := checkQuery(t, seen()[3].query, c.Now()); third == first {
		t.Fatal("the administrator UserSig was not renewed")
	}
}

func TestCallEngine(t *testing.T) {
	c := testclock.AtEpoch()
	srv, seen := fakeIM(t, func(path, body string) string {
		if strings.Contains(body, "gone") {
			return `{"ActionStatus":"FAIL","ErrorInfo":"call not exist","ErrorCode":101004}`
		}
		if path == "/v4/call_engine_http_srv/get_call_info" {
			return `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"Response":{"CallInfo":{"CallId":"k1","CallMediaType":"Video","RoomId":"42","RoomIdType":1,"ChatGroupId":""},"UserList":[{"User_Account":"alice","Status":"Calling"},{"User_Account":10086,"Status":"Waiting"}]}}`
		}
		return ok
	})
	cl := newClient(t, srv.URL, c)
	ctx := context.Background()
	info, err := cl.GetCallInfo(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info.Users)
	if info.CallID != "k1" || info.RoomID != "42" || info.RoomIDType != 1 || info.MediaType != "Video" ||
		string(b) != `[{"UserID":"alice","Status":"Calling"},{"UserID":"10086","Status":"Waiting"}]` {
		t.Fatalf("CallInfo = %+v %s", info, b)
	}
	if _, err := cl.GetCallInfo(ctx, "gone"); !errors.Is(err, ErrCallNotFound) {
		t.Fatalf("GetCallInfo(gone) = %v", err)
	}
	if err := cl.EndCall(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndCall(ctx, "gone"); err != nil {
		t.Fatalf("EndCall of an ended call: %v", err)
	}
	got := seen()
	if got[0].path != "/v4/call_engine_http_srv/get_call_info" || got[0].body != `{"CallId":"k1"}` ||
		got[2].path != "/v4/call_engine_http_srv/end_call" || got[2].body != `{"CallId":"k1"}` {
		t.Fatalf("requests = %+v", got)
	}
	checkQuery(t, got[2].query, c.Now())
}

func TestFailures(t *testing.T) {
	c := testclock.AtEpoch()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v4/im_open_login_svc/kick":
			w.WriteHeader(http.StatusBadGateway)
		default:
			_, _ = io.WriteString(w, "not json")
		}
	}))
	cl := newClient(t, srv.URL, c)
	if err := cl.Kick(context.Background(), "u"); err == nil || err.Error() != "imapi: v4/im_open_login_svc/kick: HTTP 502" {
		t.Fatalf("502: %v", err)
	}
	if err := cl.EndCall(context.Background(), "k"); err == nil || err.Error() != "imapi: v4/call_engine_http_srv/end_call: response is not JSON" {
		t.Fatalf("not JSON: %v", err)
	}
	srv.Close()
	err := cl.Kick(context.Background(), "u")
	if err == nil || !strings.HasPrefix(err.Error(), "imapi: v4/im_open_login_svc/kick: ") || strings.Contains(err.Error(), "usersig=") || strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://console.tim.qq.com", true},
		{"https://adminapisgp.im.qcloud.com/", true},
		{"http://127.0.0.1:9000", true},
		{"http://console.tim.qq.com", false},
		{"https://console.tim.qq.com?x=1", false},
		{"https://user@console.tim.qq.com", false},
		{"console.tim.qq.com", false},
	} {
		if err := CheckBaseURL(tc.url); (err == nil) != tc.ok {
			t.Fatalf("CheckBaseURL(%q) = %v", tc.url, err)
		}
	}
}
