//go:build callsign.noredis && callsign.notencent && callsign.notrtcapi

package app_test

import (
	"errors"
	"log/slog"
	"maps"
	"testing"

	"github.com/callsign-dev/callsign/shared/app"
)

// TestNotBuiltIn: a binary built without Redis, the Tencent secret source
// and the TRTC cloud API client refuses to start when configured for one
// of them, with an error naming the build tag; without them it starts.
func TestNotBuiltIn(t *testing.T) {
	env := map[string]string{
		"CALLSIGN_STAGE":         "local",
		"CALLSIGN_SECRET_SOURCE": "env",
		"CALLSIGN_SDK_APP_ID":    "1400000000",
		"CALLSIGN_SECRET_KEY":    testKey,
		"CALLSIGN_VERIFIERS":     "session",
	}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(env)
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name       string
		vars       map[string]string
		operations []string
		want       string // "" starts
	}{
		{name: "usersig on memory", vars: env, operations: []string{"usersig"}},
		{name: "redis", vars: with(map[string]string{"CALLSIGN_LIMITER": "redis", "CALLSIGN_REDIS_URL": "redis://127.0.0.1:1/0"}), operations: []string{"usersig"},
			want: "app: CALLSIGN_LIMITER=redis: this binary was built without Redis support (build tag callsign.noredis); package it for the stage's configuration: not built into this binary"},
		{name: "tencent-ssm", operations: []string{"usersig"},
			vars: with(map[string]string{"CALLSIGN_SECRET_SOURCE": "tencent-ssm", "CALLSIGN_SECRET_KEY": "", "CALLSIGN_SECRET_NAME": "callsign", "CALLSIGN_SECRET_VERSION": "v1", "CALLSIGN_SECRET_REGION": "ap-guangzhou"}),
			want: "app: CALLSIGN_SECRET_SOURCE=tencent-ssm: this binary was built without the Tencent Cloud SSM secret source (build tag callsign.notencent); package it for the stage's configuration: not built into this binary"},
		{name: "callbacks", vars: env, operations: []string{"callback.trtc", "callback.call"},
			want: "app: the TRTC callback operations: this binary was built without the TRTC cloud API client (build tag callsign.notrtcapi); package it for the stage's configuration: not built into this binary"},
		{name: "every operation", vars: env,
			want: "app: the TRTC callback operations: this binary was built without the TRTC cloud API client (build tag callsign.notrtcapi); package it for the stage's configuration: not built into this binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadConfig(t, tt.vars)
			_, err := app.New(t.Context(), cfg, app.Options{Operations: tt.operations, Logger: slog.New(slog.DiscardHandler)})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("app.New: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, app.ErrNotBuiltIn) {
				t.Fatalf("app.New error = %v, want %q wrapping ErrNotBuiltIn", err, tt.want)
			}
		})
	}
}
