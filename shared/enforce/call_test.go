package enforce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/imapi"
	"github.com/callsign-dev/callsign/shared/secret"
)

// imFake emulates the call engine's REST API: get_call_info answers
// info[CallId] (101004 when absent), end_call answers OK. It records
// "<command> <body>" per request.
type imFake struct {
	mu   sync.Mutex
	info map[string]string
	seen []string
}

func (f *imFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.TrimPrefix(r.URL.Path, "/v4/call_engine_http_srv/")
	f.seen = append(f.seen, cmd+" "+string(b))
	id := strings.TrimSuffix(strings.TrimPrefix(string(b), `{"CallId":"`), `"}`)
	switch {
	case cmd == "get_call_info" && f.info[id] != "":
		_, _ = io.WriteString(w, `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"Response":`+f.info[id]+`}`)
	case cmd == "get_call_info":
		_, _ = io.WriteString(w, `{"ActionStatus":"FAIL","ErrorInfo":"call not exist","ErrorCode":101004}`)
	default:
		_, _ = io.WriteString(w, `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`)
	}
}

func (f *imFake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// afterStart is a Call.CallbackAfterStartCall body as Tencent documents
// it (User_Account as a number in the sample).
func afterStart(callID string) []byte {
	return []byte(`{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"` + callID +
		`","CallMediaType":"Video","ChatGroupId":"","RoomId":"c_8Jf2kQ7mT9xW1pLzR4vN0a","RoomIdType":2},"UserList":[{"User_Account":10086,"Status":"Calling"}],"EventTime":1764777600123}`)
}

func TestHandleCall(t *testing.T) {
	const (
		strRoom = `"RoomId":"c_8Jf2kQ7mT9xW1pLzR4vN0a","RoomIdType":2`
		caller  = `{"User_Account":"wx_caller01","Status":"Calling"}`
		callee  = `{"User_Account":"wx_callee02","Status":"Waiting"}`
	)
	info := map[string]string{
		"ours":       `{"CallInfo":{"CallId":"ours",` + strRoom + `},"UserList":[` + caller + `,` + callee + `]}`,
		"numeric":    `{"CallInfo":{"CallId":"numeric","RoomId":"12345","RoomIdType":1},"UserList":[` + caller + `,` + callee + `]}`,
		"foreign":    `{"CallInfo":{"CallId":"foreign","RoomId":"their_room","RoomIdType":2},"UserList":[` + caller + `,` + callee + `]}`,
		"stranger":   `{"CallInfo":{"CallId":"stranger",` + strRoom + `},"UserList":[` + caller + `,{"User_Account":"mallory","Status":"Waiting"}]}`,
		"hijack":     `{"CallInfo":{"CallId":"hijack",` + strRoom + `},"UserList":[{"User_Account":"wx_callee02","Status":"Calling"},{"User_Account":"wx_caller01","Status":"Waiting"}]}`,
		"named":      `{"CallInfo":{"CallId":"named","Caller_Account":"wx_callee02",` + strRoom + `},"UserList":[` + caller + `,` + callee + `]}`,
		"banned":     `{"CallInfo":{"CallId":"banned",` + strRoom + `},"UserList":[` + caller + `,` + callee + `]}`,
		"bannedroom": `{"CallInfo":{"CallId":"bannedroom","RoomId":"c_room_of_banned","RoomIdType":2},"UserList":[{"User_Account":"wx_banned","Status":"Calling"},` + callee + `]}`,
	}
	for _, tc := range []struct {
		name   string
		mode   Mode
		callID string
		ended  bool
	}{
		{"a callsign call", ModeEnforce, "ours", false},
		{"a numeric callsign call", ModeEnforce, "numeric", false},
		{"get_call_info knows no such call", ModeEnforce, "unknown", false},
		{"a room callsign did not allocate", ModeEnforce, "foreign", true},
		{"a member not on the call", ModeEnforce, "stranger", true},
		{"the invitee calling in the caller's room", ModeEnforce, "hijack", true},
		{"Caller_Account is not the caller", ModeEnforce, "named", true},
		{"a banned caller", ModeEnforce, "bannedroom", true},
		{"audit ends nothing", ModeAudit, "foreign", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{mode: tc.mode})
			h.call(t, callrecord.Room{Str: room})
			h.call(t, callrecord.Room{Num: 12345})
			if err := h.store.Create(context.Background(), callrecord.Record{CallID: "c_BBBBBBBBBBBBBBBBBBBBBB", Room: callrecord.Room{Str: "c_room_of_banned"},
				Caller: "wx_banned", Invitees: []string{"wx_callee02"}, Type: "audio", CreatedAt: start, ExpiresAt: start.Add(2 * time.Hour), State: callrecord.StateCreated}); err != nil {
				t.Fatal(err)
			}
			fake := &imFake{info: info}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			im, err := imapi.New(imapi.Options{BaseURL: srv.URL, Secrets: secret.Static(secret.Secret{SDKAppID: appID, SecretKey: "k"}), Now: h.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			h.e.calls = im
			h.e.banned = func(_ context.Context, u string) (bool, error) { return u == "wx_banned", nil }
			for range 2 { // a duplicate delivery ends the call once
				if err := h.e.HandleCall(context.Background(), CallCallback{SDKAppID: appIDHeader, Body: afterStart(tc.callID)}); err != nil {
					t.Fatalf("HandleCall: %v", err)
				}
			}
			want := []string{`get_call_info {"CallId":"` + tc.callID + `"}`, `get_call_info {"CallId":"` + tc.callID + `"}`}
			if tc.ended {
				want = []string{want[0], `end_call {"CallId":"` + tc.callID + `"}`, want[1]}
			}
			if got := fake.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestHandleCallRefusals(t *testing.T) {
	h := newHarness(t, setup{})
	fake := &imFake{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	im, err := imapi.New(imapi.Options{BaseURL: srv.URL, Secrets: secret.Static(secret.Secret{SDKAppID: appID, SecretKey: "k"}), Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.e.calls = im
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cb   CallCallback
		want error
	}{
		{"another application", CallCallback{SDKAppID: "1400000001", Body: afterStart("x")}, ErrUnauthenticated},
		{"no SdkAppid", CallCallback{Body: afterStart("x")}, ErrUnauthenticated},
		{"not JSON", CallCallback{SDKAppID: appIDHeader, Body: []byte("<xml/>")}, ErrInvalid},
		{"no CallId", CallCallback{SDKAppID: appIDHeader, Body: []byte(`{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{}}`)}, ErrInvalid},
		{"another command", CallCallback{SDKAppID: appIDHeader, Body: []byte(`{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"x"}}`)}, nil},
	} {
		if err := h.e.HandleCall(ctx, tc.cb); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := fake.requests(); len(got) != 0 {
		t.Fatalf("requests were made: %v", got)
	}
}

// TestBannedMemberRemoved: a banned caller or invitee who enters the
// call's room (with a UserSig issued before the ban) is removed.
func TestBannedMemberRemoved(t *testing.T) {
	const t0 = int64(1764777600000)
	str := `"` + room + `"`
	h := newHarness(t, setup{})
	h.call(t, callrecord.Room{Str: room})
	h.e.banned = func(_ context.Context, u string) (bool, error) { return u == "wx_callee02", nil }
	for _, ev := range []Callback{event(103, str, "wx_caller01", t0), event(103, str, "wx_callee02", t0+10)} {
		if err := h.e.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := removed(h.fake.Calls()); fmt.Sprint(got) != "[RemoveUserByStrRoomId:"+room+":wx_callee02]" {
		t.Fatalf("removals = %v", got)
	}
	if !strings.Contains(h.logs.String(), `"verdict":"user_banned"`) {
		t.Fatalf("no user_banned verdict logged:\n%s", h.logs.String())
	}
}
