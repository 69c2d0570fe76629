package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
)

func TestDo(t *testing.T) {
	alice := identity.Credentials{DevUser: "alice"}
	tests := []struct {
		name  string
		cfg   envConfig
		act   api.Action
		want  string // exact reply; "" means check ok:true
		okKey string // with want == "": a key data must contain
	}{
		{"usersig", envConfig{}, api.Action{Name: "usersig", Credentials: alice}, "", "userSig"},
		{"usersig with ttl", envConfig{}, api.Action{Name: "usersig", Data: json.RawMessage(`{"ttlSeconds":120}`), Credentials: alice}, "", "refreshAfter"},
		{"usersig null data", envConfig{}, api.Action{Name: "usersig", Data: json.RawMessage(`null`), Credentials: alice}, "", "userSig"},
		{"call.create", envConfig{}, api.Action{Name: "call.create", Data: json.RawMessage(`{"type":2,"userIDList":["bob"]}`), Credentials: alice}, "", "callToken"},
		{"session is HTTP only", envConfig{wechat: true}, api.Action{Name: "session", Data: json.RawMessage(`{"code":"good-x"}`)},
			`{"ok":false,"error":{"code":"not_found","message":"unknown action"}}`, ""},
		{"unknown action", envConfig{}, api.Action{Name: "admin.dump", Credentials: alice},
			`{"ok":false,"error":{"code":"not_found","message":"unknown action"}}`, ""},
		{"empty action", envConfig{}, api.Action{Credentials: alice},
			`{"ok":false,"error":{"code":"not_found","message":"unknown action"}}`, ""},
		{"HTTP path as action", envConfig{}, api.Action{Name: "/v1/usersig", Credentials: alice},
			`{"ok":false,"error":{"code":"not_found","message":"unknown action"}}`, ""},
		{"forbidden: CloudBase OpenID that raw mode cannot map", envConfig{svc: func(o *service.Options) {
			raw, _ := identity.NewDeriver(identity.ModeRaw, "")
			cb, _ := identity.NewCloudBase(testWechatApp, raw)
			o.Verifier = cb
		}}, api.Action{Name: "usersig", Credentials: identity.Credentials{
			CloudBase: &identity.CloudBaseContext{OpenID: "o+not/mappable", AppID: testWechatApp},
		}}, `{"ok":false,"error":{"code":"forbidden","message":"this identity may not use callsign"}}`, ""},
		{"no credentials", envConfig{}, api.Action{Name: "usersig"},
			`{"ok":false,"error":{"code":"unauthenticated","message":"authentication required"}}`, ""},
		{"bad data", envConfig{}, api.Action{Name: "call.join", Data: json.RawMessage(`{"callToken":1}`), Credentials: alice},
			`{"ok":false,"error":{"code":"invalid_request","message":"field \"callToken\" must be a string"}}`, ""},
		{"oversized data", envConfig{}, api.Action{Name: "usersig", Data: json.RawMessage(`{"ttlSeconds":60` + strings.Repeat(" ", 16<<10) + `}`), Credentials: alice},
			`{"ok":false,"error":{"code":"payload_too_large","message":"request body exceeds 16384 bytes"}}`, ""},
		{"panic", envConfig{svc: func(o *service.Options) { o.Verifier = panicVerifier{} }}, api.Action{Name: "usersig", Credentials: alice},
			`{"ok":false,"error":{"code":"internal","message":"internal error"}}`, ""},
		{"secret store down", envConfig{svc: func(o *service.Options) { o.Secrets = unavailableSecrets{} }}, api.Action{Name: "usersig", Credentials: alice},
			`{"ok":false,"error":{"code":"unavailable","message":"signing secret unavailable; retry later"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			out := e.api.Do(context.Background(), tt.act)
			if tt.want != "" {
				if string(out) != tt.want {
					t.Fatalf("reply %s\nwant  %s", out, tt.want)
				}
				assertErrorShape(t, out, true)
				return
			}
			var r struct {
				OK    bool           `json:"ok"`
				Data  map[string]any `json:"data"`
				Error any            `json:"error"`
			}
			if err := json.Unmarshal(out, &r); err != nil || !r.OK || r.Error != nil || r.Data[tt.okKey] == nil {
				t.Fatalf("reply %s", out)
			}
		})
	}
}

func TestDoRateLimited(t *testing.T) {
	e := newEnv(t, envConfig{})
	act := api.Action{Name: "call.create", Data: json.RawMessage(`{"type":"audio","userIDList":["bob"]}`), Credentials: identity.Credentials{DevUser: "alice"}}
	for range 5 {
		if out := e.api.Do(context.Background(), act); !strings.HasPrefix(string(out), `{"ok":true`) {
			t.Fatalf("reply %s", out)
		}
	}
	out := e.api.Do(context.Background(), act)
	if string(out) != `{"ok":false,"error":{"code":"rate_limited","message":"too many requests for this user","retryAfterSeconds":6}}` {
		t.Fatalf("reply %s", out)
	}
}

func TestDoRequestIDLogged(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.api.Do(context.Background(), api.Action{RequestID: "scf-7f3a", Name: "usersig", Credentials: identity.Credentials{DevUser: "alice"}})
	e.api.Do(api.WithRequestID(context.Background(), "ctx-id-9"), api.Action{Name: "usersig", Credentials: identity.Credentials{DevUser: "alice"}})
	logs := e.logs.String()
	for _, want := range []string{`"requestID":"scf-7f3a","transport":"action","op":"usersig","outcome":"ok","status":200`, `"requestID":"ctx-id-9"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("log lacks %s:\n%s", want, logs)
		}
	}
}
