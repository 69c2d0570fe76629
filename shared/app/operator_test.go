package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// imRequest is one request the emulated IM REST API saw.
type imRequest struct {
	Path  string
	Query map[string][]string
	Body  string
}

// fakeIMREST emulates the IM REST API: kick and end_call answer OK,
// get_call_info says the call does not exist (101004).
func fakeIMREST(t *testing.T) (*httptest.Server, func() []imRequest) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []imRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, imRequest{Path: r.URL.Path, Query: r.URL.Query(), Body: string(b)})
		mu.Unlock()
		if r.URL.Path == "/v4/call_engine_http_srv/get_call_info" {
			_, _ = io.WriteString(w, `{"ActionStatus":"FAIL","ErrorInfo":"call not exist","ErrorCode":101004}`)
			return
		}
		_, _ = io.WriteString(w, `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []imRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]imRequest(nil), seen...)
	}
}

// postAs sends body to path as sub (gateway claims) or with a bearer token.
func postAs(h http.Handler, path, body, sub, bearer string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if sub != "" {
		req = req.WithContext(identity.WithGatewayClaims(req.Context(), map[string]string{"sub": sub}))
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorCode returns the error code of an API answer.
func errorCode(rec *httptest.ResponseRecorder) string {
	var out struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return strconv.Itoa(rec.Code) + " " + out.Error.Code
}

// TestBanAcrossInstances: on a shared store (real redis-server and
// dynalite), callsign ban's operator writes the ban, kicks the IM login
// with an administrator UserSig that verifies, and removes the user from
// the call room; another instance that had looked the user up refuses it
// with 403 user_banned once its cached lookup is ban.DefaultCacheTTL old;
// an earlier session token stays refused after the ban ends.
func TestBanAcrossInstances(t *testing.T) {
	redisAddr := teststore.StartRedis(t)
	dynamoEndpoint := teststore.StartDynalite(t)
	if err := teststore.CreateLimitsTable(context.Background(), teststore.DynamoDBClient(dynamoEndpoint), "limits"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	env := map[string]string{"TENCENTCLOUD_SECRETID": testCloudID, "TENCENTCLOUD_SECRETKEY": testCloudKey,
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "ap-southeast-1"}
	for _, tc := range []struct {
		name string
		vars map[string]string
	}{
		{"redis", map[string]string{"CALLSIGN_LIMITER": "redis", "CALLSIGN_REDIS_URL": teststore.RedisURL(redisAddr)}},
		{"dynamodb", map[string]string{"CALLSIGN_LIMITER": "dynamodb", "CALLSIGN_DYNAMODB_TABLE": "limits", "CALLSIGN_DYNAMODB_ENDPOINT": dynamoEndpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trtc := trtcapitest.Start(t, testCloudID, testCloudKey)
			im, imSeen := fakeIMREST(t)
			vars := map[string]string{
				"CALLSIGN_STAGE": "local", "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey,
				"CALLSIGN_VERIFIERS": "session,gateway", "CALLSIGN_USER_ID_MODE": "raw",
				"CALLSIGN_LIMITER_KEY_PREFIX": "test:ban:" + tc.name + ":", "CALLSIGN_LIMITER_TIMEOUT": testLimiterTimeout,
				"CALLSIGN_CALL_ENFORCEMENT": "enforce", "CALLSIGN_TRTC_API_ENDPOINT": trtc.URL,
				"CALLSIGN_IM_API_BASE_URL": im.URL,
			}
			for k, v := range tc.vars {
				vars[k] = v
			}
			cfg := loadConfig(t, vars)
			clock := testclock.AtEpoch()
			opts := app.Options{Platform: app.PlatformLocal, Logger: slog.New(slog.DiscardHandler), Getenv: func(k string) string { return env[k] }, Now: clock.Now}
			a, err := app.New(context.Background(), cfg, opts)
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			b, err := app.New(context.Background(), cfg, opts)
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			keys := token.KeysFor("local", "", testKey, "")
			oldSession, _, err := identity.MintSession(keys, "mallory", clock.Now(), 2*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if rec := postAs(b, "/v1/usersig", `{}`, "mallory", ""); rec.Code != 200 {
				t.Fatalf("usersig before the ban: %d %s", rec.Code, rec.Body)
			}
			// One call room, so that the operator's single removal is not
			// paced (the pace waits on the instance clock, fixed here).
			created := postAs(a, "/v1/calls", `{"type":"audio","userIDList":["bob"]}`, "mallory", "")
			var invite struct {
				CallToken string `json:"callToken"`
				RoomID    struct {
					Str string `json:"str"`
				} `json:"roomID"`
			}
			if created.Code != 200 || json.Unmarshal(created.Body.Bytes(), &invite) != nil {
				t.Fatalf("mallory's call: %d %s", created.Code, created.Body)
			}
			room := invite.RoomID.Str

			clock.Advance(2 * time.Second)
			var opLog testlog.Buffer
			opOpts := opts
			opOpts.Logger = opLog.JSONLogger()
			opOpts.Getenv = func(k string) string {
				if k == "USER" {
					return "oncall-7"
				}
				return env[k]
			}
			op, err := app.NewOperator(context.Background(), cfg, opOpts)
			if err != nil {
				t.Fatalf("NewOperator: %v", err)
			}
			r, err := op.Ban(context.Background(), "mallory", 10*time.Minute, "spam calls")
			if err != nil || !r.Kicked || len(r.RemoveErrs) != 0 || fmt.Sprint(r.Removed) != "["+room+"]" {
				t.Fatalf("Ban = %+v, %v", r, err)
			}
			reqs := imSeen()
			if len(reqs) != 1 || reqs[0].Path != "/v4/im_open_login_svc/kick" || reqs[0].Body != `{"UserID":"mallory"}` {
				t.Fatalf("IM requests = %+v", reqs)
			}
			q := reqs[0].Query
			if len(q) != 5 || q["sdkappid"][0] != "1400000000" || q["identifier"][0] != "administrator" || q["contenttype"][0] != "json" {
				t.Fatalf("kick query = %v", q)
			}
			if _, err := strconv.ParseUint(q["random"][0], 10, 32); err != nil {
				t.Fatalf("random = %q", q["random"][0])
			}
			if _, err := usersig.Verify(q["usersig"][0], []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "administrator", Now: clock.Now()}); err != nil {
				t.Fatalf("the kick's usersig does not verify: %v", err)
			}
			want := []trtcapitest.Call{{Action: "RemoveUserByStrRoomId", Region: "ap-guangzhou", SdkAppID: 1400000000, RoomStr: room, UserIDs: []string{"mallory"}}}
			if got := trtc.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("TRTC calls = %+v, want %+v", got, want)
			}

			// b looked mallory up 2 s ago: within the cache lifetime it may
			// still answer; once the lookup is stale both refuse.
			if rec := postAs(b, "/v1/usersig", `{}`, "mallory", ""); rec.Code != 200 {
				t.Fatalf("usersig within the cache lifetime: %d %s", rec.Code, rec.Body)
			}
			clock.Advance(ban.DefaultCacheTTL - 2*time.Second)
			for i, step := range []struct {
				h            http.Handler
				path, body   string
				sub, session string
			}{
				{b, "/v1/usersig", `{}`, "mallory", ""},
				{a, "/v1/usersig", `{}`, "mallory", ""},
				{b, "/v1/calls", `{"type":"audio","userIDList":["bob"]}`, "mallory", ""},
				{b, "/v1/calls/join", `{"callToken":"` + invite.CallToken + `"}`, "mallory", ""},
				{b, "/v1/usersig", `{}`, "", oldSession},
			} {
				if got := errorCode(postAs(step.h, step.path, step.body, step.sub, step.session)); got != "403 user_banned" {
					t.Fatalf("step %d %s: %s, want 403 user_banned", i, step.path, got)
				}
			}
			if rec := postAs(b, "/v1/usersig", `{}`, "bob", ""); rec.Code != 200 {
				t.Fatalf("another user: %d %s", rec.Code, rec.Body)
			}

			// The ban ends: the session token issued before it stays
			// refused, a new one works.
			clock.Advance(10 * time.Minute)
			if got := errorCode(postAs(b, "/v1/usersig", `{}`, "", oldSession)); got != "401 unauthenticated" {
				t.Fatalf("old session token after the ban: %s", got)
			}
			newSession, _, err := identity.MintSession(keys, "mallory", clock.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if rec := postAs(a, "/v1/usersig", `{}`, "", newSession); rec.Code != 200 {
				t.Fatalf("new session token after the ban: %d %s", rec.Code, rec.Body)
			}
			if found, err := op.Unban(context.Background(), "mallory"); !found || err != nil {
				t.Fatalf("Unban = %v, %v", found, err)
			}
			// The operator's audit trail: the ban, the removal, the unban.
			var trail []string
			for _, line := range strings.Split(strings.TrimSpace(opLog.String()), "\n") {
				var l struct {
					Log, Action, UserID, Room, Actor, Reason, ExpiresAt string
				}
				if json.Unmarshal([]byte(line), &l) == nil && l.Log == "audit" {
					trail = append(trail, strings.Join([]string{l.Action, l.UserID, l.Room, l.Actor, l.Reason, l.ExpiresAt}, "|"))
				}
			}
			until := testclock.Epoch().Add(2*time.Second + 10*time.Minute).UTC().Format(time.RFC3339) // banned at +2 s for 10 min
			wantTrail := []string{"ban|mallory||oncall-7|spam calls|" + until, "remove|mallory|" + room + "||banned|", "unban|mallory||oncall-7||"}
			if fmt.Sprint(trail) != fmt.Sprint(wantTrail) {
				t.Fatalf("audit trail %q, want %q\n%s", trail, wantTrail, opLog.String())
			}

			// A TUICallKit call get_call_info does not know: acknowledged,
			// nothing ended.
			cb := httptest.NewRequest(http.MethodPost, "/v1/callbacks/call?SdkAppid=1400000000&CallbackCommand=Call.CallbackAfterStartCall&contenttype=json&ClientIP=203.0.113.7&OptPlatform=Web",
				strings.NewReader(`{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"tui-1","CallMediaType":"Audio","ChatGroupId":"","RoomId":"`+room+`","RoomIdType":2},"UserList":[{"User_Account":"mallory","Status":"Calling"}],"EventTime":1764777600123}`))
			rec := httptest.NewRecorder()
			b.ServeHTTP(rec, cb)
			if rec.Code != 200 || rec.Body.String() != `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}` || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("call callback: %d %q", rec.Code, rec.Body)
			}
			if reqs := imSeen(); len(reqs) != 2 || reqs[1].Path != "/v4/call_engine_http_srv/get_call_info" || reqs[1].Body != `{"CallId":"tui-1"}` {
				t.Fatalf("IM requests after the callback = %+v", reqs)
			}
		})
	}
}

// TestOperatorNeedsSharedStore: a ban written to a CLI process's memory
// would reach no instance.
func TestOperatorNeedsSharedStore(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey})
	if _, err := app.NewOperator(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)}); err != app.ErrNoSharedStore {
		t.Fatalf("NewOperator on memory = %v", err)
	}
}
