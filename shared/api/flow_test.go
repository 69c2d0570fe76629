package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// roomOf converts a decoded roomID member to a usersig.Room.
func roomOf(t testing.TB, v any) usersig.Room {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("roomID %v is not a one-member object", v)
	}
	if s, ok := m["str"].(string); ok {
		return usersig.StringRoom(s)
	}
	n, ok := m["num"].(float64)
	if !ok {
		t.Fatalf("roomID %v has neither str nor num", v)
	}
	return usersig.NumericRoom(uint32(n))
}

// checkPMK decodes and verifies a PrivateMapKey and asserts every field.
func checkPMK(t testing.TB, pmk, userID string, room usersig.Room, priv usersig.Privileges, expires time.Time) {
	t.Helper()
	tk, err := usersig.Decode(pmk)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	pm := tk.PrivateMap
	if pm == nil {
		t.Fatal("ticket has no PrivateMap")
	}
	if tk.Identifier != userID || pm.Account != userID || pm.SDKAppID != testAppID || tk.SDKAppID != testAppID {
		t.Fatalf("ticket identity %q/%q app %d", tk.Identifier, pm.Account, pm.SDKAppID)
	}
	if pm.Room != room {
		t.Fatalf("room = %v, want %v", pm.Room, room)
	}
	if pm.Privileges != priv {
		t.Fatalf("privileges = %v, want %v", pm.Privileges, priv)
	}
	if int64(pm.ExpiresAt) != expires.Unix() || tk.Time+tk.Expire != expires.Unix() {
		t.Fatalf("expiry = %d (%d+%d), want %d", pm.ExpiresAt, tk.Time, tk.Expire, expires.Unix())
	}
	if _, err := usersig.Verify(pmk, []string{testKey}, usersig.Expect{
		SDKAppID: testAppID, UserID: userID, Now: t0, PrivateMapKey: true, Room: &room, Privileges: &priv,
	}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestCallFlow(t *testing.T) {
	tests := []struct {
		name        string
		typ         string
		roomType    string
		screenShare bool
		caller      usersig.Privileges
		invitee     usersig.Privileges
	}{
		{"video string room", `"video"`, "", false, 63, 62},
		{"audio string room", `"audio"`, "", false, 15, 14},
		{"TUICalling video number, numeric room", `2`, service.RoomTypeNumeric, false, 63, 62},
		{"TUICalling audio number, screen share", `1`, "", true, 15 | 192, 14 | 192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envConfig{svc: func(o *service.Options) {
				o.RoomType = tt.roomType
				o.ScreenShare = tt.screenShare
			}})

			// A gets a UserSig.
			us := e.do(req{path: "/v1/usersig", body: `{}`, user: "alice"}).mustOK(t)
			if us.str("userID") != "alice" || us.num("sdkAppID") != testAppID || us.num("ttlSeconds") != 86400 ||
				us.str("expiresAt") != at(24*time.Hour) || us.str("refreshAfter") != at(19*time.Hour+12*time.Minute) ||
				us.str("serverTime") != at(0) {
				t.Fatalf("usersig response %s", us.raw)
			}
			if _, err := usersig.Verify(us.str("userSig"), []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: "alice", Now: t0}); err != nil {
				t.Fatalf("UserSig: %v", err)
			}

			// A creates a call inviting B, D and E.
			cr := e.do(req{path: "/v1/calls", body: `{"type":` + tt.typ + `,"userIDList":["bob","dave","erin"]}`, user: "alice"}).mustOK(t)
			room := roomOf(t, cr.body["roomID"])
			if tt.roomType == service.RoomTypeNumeric {
				if room.ID == 0 || room.ID > service.MaxNumericRoom {
					t.Fatalf("numeric room %v", room)
				}
			} else if len(room.Str) != 24 || !strings.HasPrefix(room.Str, "c_") {
				t.Fatalf("string room %q", room.Str)
			}
			if cr.num("privileges") != float64(tt.caller) ||
				cr.str("expiresAt") != at(2*time.Hour) || cr.str("inviteExpiresAt") != at(2*time.Minute) ||
				cr.str("serverTime") != at(0) ||
				!strings.HasPrefix(cr.str("callID"), "c_") || cr.str("callToken") == "" {
				t.Fatalf("create response %s", cr.raw)
			}
			checkPMK(t, cr.str("privateMapKey"), "alice", room, tt.caller, t0.Add(2*time.Hour))

			// B joins 30 s later.
			e.clock.Advance(30 * time.Second)
			joinBody := `{"callToken":"` + cr.str("callToken") + `"}`
			jb := e.do(req{path: "/v1/calls/join", body: joinBody, user: "bob"}).mustOK(t)
			if jb.str("callID") != cr.str("callID") || roomOf(t, jb.body["roomID"]) != room ||
				jb.num("privileges") != float64(tt.invitee) || jb.str("expiresAt") != at(2*time.Hour+30*time.Second) ||
				jb.str("serverTime") != at(30*time.Second) || len(jb.body) != 6 {
				t.Fatalf("join response %s", jb.raw)
			}
			checkPMK(t, jb.str("privateMapKey"), "bob", room, tt.invitee, t0.Add(2*time.Hour+30*time.Second))

			// C is refused.
			e.do(req{path: "/v1/calls/join", body: joinBody, user: "carol"}).wantError(t, http.StatusForbidden, "not_invited")

			// D joins through callFunction with the same token.
			out := e.api.Do(context.Background(), api.Action{
				RequestID: "req-d", Name: "call.join", Data: json.RawMessage(joinBody),
				Credentials: identity.Credentials{DevUser: "dave"},
			})
			var ar struct {
				OK   bool                     `json:"ok"`
				Data service.JoinCallResponse `json:"data"`
			}
			if err := json.Unmarshal(out, &ar); err != nil || !ar.OK {
				t.Fatalf("action join: %s", out)
			}
			checkPMK(t, ar.Data.PrivateMapKey, "dave", room, tt.invitee, t0.Add(2*time.Hour+30*time.Second))

			// After the invitation expires, joining is 410 for E, who never
			// joined; B, who did, renews the PrivateMapKey.
			e.clock.Advance(2 * time.Minute)
			e.do(req{path: "/v1/calls/join", body: joinBody, user: "erin"}).wantError(t, http.StatusGone, "expired")
			rb := e.do(req{path: "/v1/calls/join", body: joinBody, user: "bob"}).mustOK(t)
			checkPMK(t, rb.str("privateMapKey"), "bob", room, tt.invitee, t0.Add(2*time.Hour+150*time.Second))
		})
	}
}

func TestIdentityBinding(t *testing.T) {
	e := newEnv(t, envConfig{})
	// Fields naming a user are unknown fields, on every operation.
	for _, path := range []string{"/v1/usersig", "/v1/calls", "/v1/calls/join", "/v1/session"} {
		for _, field := range []string{"userID", "userId", "UserID", "identifier", "user_id", "openid", "sdkAppID"} {
			t.Run(path+"/"+field, func(t *testing.T) {
				body := fmt.Sprintf(`{%q:"mallory"}`, field)
				r := e.do(req{path: path, body: body, user: "alice"})
				r.wantError(t, http.StatusBadRequest, "invalid_request")
				if want := fmt.Sprintf("unknown field %q", field); r.errMessage() != want {
					t.Fatalf("message %q, want %q", r.errMessage(), want)
				}
			})
		}
	}
	// The ticket is always for the verified user.
	for _, who := range []string{"alice", "bob"} {
		r := e.do(req{path: "/v1/usersig", body: `{"ttlSeconds":3600}`, user: who}).mustOK(t)
		tk, err := usersig.Decode(r.str("userSig"))
		if err != nil || tk.Identifier != who || r.str("userID") != who {
			t.Fatalf("ticket for %q: %v %v", who, tk, err)
		}
	}
	// callFunction: data cannot claim another user; the identity is the
	// CloudBase OpenID, derived.
	cb := identity.Credentials{CloudBase: &identity.CloudBaseContext{OpenID: "oVictimOpenID", AppID: testWechatApp}}
	for _, data := range []string{`{"userID":"mallory"}`, `{"userInfo":{"openId":"oMallory"}}`, `{"WX_OPENID":"oMallory"}`} {
		out := e.api.Do(context.Background(), api.Action{Name: "usersig", Data: json.RawMessage(data), Credentials: cb})
		assertErrorShape(t, out, true)
		if !strings.Contains(string(out), `"code":"invalid_request"`) {
			t.Fatalf("data %s: %s", data, out)
		}
	}
	out := e.api.Do(context.Background(), api.Action{Name: "usersig", Credentials: cb})
	var ar struct {
		OK   bool                    `json:"ok"`
		Data service.UserSigResponse `json:"data"`
	}
	if err := json.Unmarshal(out, &ar); err != nil || !ar.OK {
		t.Fatalf("usersig action: %s", out)
	}
	d, _ := identity.NewDeriver(identity.ModeHash, "wx_")
	want, _ := d.Derive("oVictimOpenID")
	if ar.Data.UserID != want || len(want) != 32 {
		t.Fatalf("userID %q, want %q", ar.Data.UserID, want)
	}
	tk, err := usersig.Decode(ar.Data.UserSig)
	if err != nil || tk.Identifier != want {
		t.Fatalf("ticket identifier %v %v", tk, err)
	}
	// CloudBase context from another app is refused.
	bad := identity.Credentials{CloudBase: &identity.CloudBaseContext{OpenID: "oX", AppID: "wxOTHER"}}
	out = e.api.Do(context.Background(), api.Action{Name: "usersig", Credentials: bad})
	if !strings.Contains(string(out), `"code":"unauthenticated"`) {
		t.Fatalf("foreign app: %s", out)
	}
}

func TestSessionFlow(t *testing.T) {
	e := newEnv(t, envConfig{wechat: true})
	s := e.do(req{path: "/v1/session", body: `{"code":"good-abc123"}`}).mustOK(t)
	d, _ := identity.NewDeriver(identity.ModeHash, "wx_")
	uid, _ := d.Derive("oabc123")
	if s.str("userID") != uid || s.num("sdkAppID") != testAppID || s.str("expiresAt") != at(24*time.Hour) ||
		s.str("userSigExpiresAt") != at(24*time.Hour) || s.str("refreshAfter") != at(19*time.Hour+12*time.Minute) ||
		s.str("serverTime") != at(0) || len(s.body) != 8 {
		t.Fatalf("session response %s", s.raw)
	}
	if strings.Contains(string(s.raw), sessionKey) || strings.Contains(string(s.raw), "session_key") {
		t.Fatal("session_key leaked")
	}
	if _, err := usersig.Verify(s.str("userSig"), []string{testKey}, usersig.Expect{SDKAppID: testAppID, UserID: uid, Now: t0}); err != nil {
		t.Fatal(err)
	}
	// The session token authenticates later requests, for the same userID.
	tok := s.str("sessionToken")
	u := e.do(req{path: "/v1/usersig", bearer: tok}).mustOK(t)
	if u.str("userID") != uid {
		t.Fatalf("usersig via session: %s", u.raw)
	}
	c := e.do(req{path: "/v1/calls", bearer: tok, body: `{"type":"video","userIDList":["bob"]}`}).mustOK(t)
	// The session token is not a call token and vice versa.
	e.do(req{path: "/v1/calls/join", user: "bob", body: `{"callToken":"` + tok + `"}`}).wantError(t, http.StatusUnauthorized, "unauthenticated")
	e.do(req{path: "/v1/usersig", bearer: c.str("callToken")}).wantError(t, http.StatusUnauthorized, "unauthenticated")
	// Tampered and expired session tokens.
	e.do(req{path: "/v1/usersig", bearer: tok[:len(tok)-2] + "xx"}).wantError(t, http.StatusUnauthorized, "unauthenticated")
	e.clock.Advance(24*time.Hour + time.Minute)
	r := e.do(req{path: "/v1/usersig", bearer: tok})
	r.wantError(t, http.StatusUnauthorized, "unauthenticated")
	if r.errMessage() != "credentials expired" {
		t.Fatalf("message %q", r.errMessage())
	}

	for _, tt := range []struct {
		code   string
		status int
		want   string
	}{
		{"wrong", 401, "unauthenticated"},
		{"limited", 429, "rate_limited"},
		{"blocked", 403, "forbidden"},
		{"busy", 503, "unavailable"},
		{"misconfigured", 500, "internal"},
		{"", 400, "invalid_request"},
		{"two words", 400, "invalid_request"},
	} {
		r := e.do(req{path: "/v1/session", body: `{"code":"` + tt.code + `"}`, remote: "192.0.2.99:1"})
		r.wantError(t, tt.status, tt.want)
		if tt.want == "rate_limited" && r.header.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	if strings.Contains(e.logs.String(), appSecret) || strings.Contains(e.logs.String(), sessionKey) {
		t.Fatal("log contains the app secret or session_key")
	}

	// Without WeChat, /v1/session is 404.
	off := newEnv(t, envConfig{})
	off.do(req{path: "/v1/session", body: `{"code":"good-x"}`}).wantError(t, http.StatusNotFound, "not_found")
}
