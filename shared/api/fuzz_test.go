package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
)

// FuzzHandler sends arbitrary method, path and body through the handler:
// it must never answer 5xx or panic, and every non-2xx answer must be the
// exact error body.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"POST", "/v1/usersig", `{}`},
		{"POST", "/v1/usersig", `{"ttlSeconds":3600}`},
		{"POST", "/v1/usersig", `{"ttlSeconds":-1e400}`},
		{"POST", "/v1/calls", `{"type":"video","userIDList":["bob"]}`},
		{"POST", "/v1/calls", `{"type":1,"userIDList":["bob","bob"],"groupID":"@TGS#1"}`},
		{"POST", "/v1/calls/join", `{"callToken":"a.b.c"}`},
		{"POST", "/v1/session", `{"code":"good-x"}`},
		{"GET", "/healthz", ``},
		{"DELETE", "/v1/calls", `{}`},
		{"OPTIONS", "/v1/usersig", ``},
		{"POST", "/v1//calls", `[`},
		{"POST", "/v1/usersig", `{"userID":"mallory"}`},
		{"POST", "/v1/usersig", "{\"\xff\":1}"},
		{"POST", "/%2e%2e/v1/usersig", `{}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	e := newEnv(f, envConfig{wechat: true})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		r, err := http.NewRequestWithContext(context.Background(), method, "http://127.0.0.1/", strings.NewReader(body))
		if err != nil {
			return // not a request a server could receive
		}
		r.URL.Path = path
		r.RemoteAddr = "192.0.2.1:1"
		r.Header.Set("X-Callsign-User", "alice")
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%q %q %q: status %d %s", method, path, body, w.Code, w.Body)
		}
		if method == http.MethodHead || w.Code == http.StatusNoContent {
			return
		}
		if w.Code >= 300 {
			assertErrorShape(t, w.Body.Bytes(), false)
		} else if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("invalid JSON %q", w.Body)
		}
	})
}

// FuzzDo sends arbitrary actions: never an internal error, never a panic,
// always {"ok":true,...} or the exact error reply.
func FuzzDo(f *testing.F) {
	for _, s := range []struct{ name, data string }{
		{"usersig", `{}`},
		{"usersig", `{"ttlSeconds":60}`},
		{"call.create", `{"type":"audio","userIDList":["bob"]}`},
		{"call.create", `{"type":2,"userIDList":[]}`},
		{"call.join", `{"callToken":""}`},
		{"session", `{"code":"x"}`},
		{"nope", `null`},
		{"usersig", `{"userID":"mallory"}`},
		{"usersig", `{} trailing`},
	} {
		f.Add(s.name, []byte(s.data), "alice")
	}
	e := newEnv(f, envConfig{})
	f.Fuzz(func(t *testing.T, name string, data []byte, user string) {
		out := e.api.Do(context.Background(), api.Action{
			Name: name, Data: json.RawMessage(data), Credentials: identity.Credentials{DevUser: user, ClientIP: "192.0.2.1"},
		})
		var r struct {
			OK bool `json:"ok"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("reply is not JSON: %q", out)
		}
		if r.OK {
			return
		}
		assertErrorShape(t, out, true)
		if strings.Contains(string(out), `"code":"internal"`) || strings.Contains(string(out), `"code":"unavailable"`) {
			t.Fatalf("%q %q: %s", name, data, out)
		}
	})
}
