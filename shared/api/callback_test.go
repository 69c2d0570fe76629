package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// enterEvent is a signed 103 callback in Tencent's formatting.
func enterEvent(room, user string, ms int64) req {
	body := fmt.Sprintf("{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t%d,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t%q,\n\t\t\"EventTs\":\t%d,\n\t\t\"EventMsTs\":\t%d,\n\t\t\"UserId\":\t%q,\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}", ms+50, room, ms/1000, ms, user)
	return req{path: "/v1/callbacks/trtc", body: body, headers: map[string]string{"Sign": trtcevent.Sign(callbackKey, []byte(body)), "SdkAppId": "1400000000"}}
}

func TestTRTCCallbackRoute(t *testing.T) {
	e := newEnv(t, envConfig{enforce: true})
	call := e.do(req{path: "/v1/calls", body: `{"type":"video","userIDList":["bob"]}`, user: "alice"}).mustOK(t)
	room, _ := call.body["roomID"].(map[string]any)["str"].(string)
	caller := e.do(req{path: "/v1/usersig", user: "alice"}).mustOK(t).str("userID")
	invitee := e.do(req{path: "/v1/usersig", user: "bob"}).mustOK(t).str("userID")
	if caller != "alice" || invitee != "bob" {
		t.Fatalf("dev userIDs %q %q", caller, invitee)
	}
	for i, user := range []string{"alice", "bob", "mallory", "mallory"} {
		res := e.do(enterEvent(room, user, 1764777600000+int64(min(i, 2))))
		if res.status != 200 || string(res.raw) != "{\"code\":0}\n" {
			t.Fatalf("%s: %d %s", user, res.status, res.raw)
		}
	}
	calls := e.trtc.Calls()
	want := []trtcapitest.Call{{Action: "RemoveUserByStrRoomId", Region: "ap-guangzhou", SdkAppID: 1400000000, RoomStr: room, UserIDs: []string{"mallory"}}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("API calls %+v, want %+v", calls, want)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*req)
		status int
		code   string
	}{
		{"no Sign", func(r *req) { delete(r.headers, "Sign") }, 401, "unauthenticated"},
		{"tampered", func(r *req) { r.body = strings.Replace(r.body, "eve", "eva", 1) }, 401, "unauthenticated"},
		{"other app", func(r *req) { r.headers["SdkAppId"] = "1400000001" }, 401, "unauthenticated"},
		{"lower-case headers", func(r *req) {
			r.headers = map[string]string{"sign": r.headers["Sign"], "sdkappid": r.headers["SdkAppId"]}
		}, 200, ""},
		{"too large", func(r *req) { r.body = r.body[:len(r.body)-2] + ",\"Pad\":\"" + strings.Repeat("x", 16<<10) + "\"}" }, 413, "payload_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := enterEvent(room, "eve", 1764777609000)
			tc.mutate(&r)
			res := e.do(r)
			if res.status != tc.status || res.errCode() != tc.code {
				t.Fatalf("%d %s, want %d %s", res.status, res.raw, tc.status, tc.code)
			}
		})
	}
	if n := len(e.trtc.Calls()); n != 2 { // mallory, then eve once (lower-case headers)
		t.Fatalf("%d API calls, want 2", n)
	}
	if strings.Contains(e.logs.String(), callbackKey) {
		t.Fatal("the callback key was logged")
	}

	// Without an Enforcer the route does not exist; a function serving
	// other operations does not serve it either.
	for _, cfg := range []envConfig{{}, {enforce: true, api: func(o *api.Options) { o.Operations = []string{api.OpCallCreate} }}} {
		if res := newEnv(t, cfg).do(enterEvent(room, "eve", 1)); res.status != 404 {
			t.Fatalf("status %d, want 404", res.status)
		}
	}
}
