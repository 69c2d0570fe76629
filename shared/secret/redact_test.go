package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
)

func TestSecretRedaction(t *testing.T) {
	s := Secret{SDKAppID: testAppID, SecretKey: testKey, PreviousSecretKey: testPrevKey, WeChatAppSecret: testWeChat, TokenKey: testTokenKey,
		TRTCCallbackKey: testCallbackKey, TencentCloudSecretID: testCloudID, TencentCloudSecretKey: testCloudKey,
		CallPolicyKey: "callPolicyKeyForRedactionTest0001"}
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{name: "v +v #v s", got: func() string { return fmt.Sprintf("%v %+v %#v %s", s, s, s, s) },
			want: "secret.Secret[REDACTED] secret.Secret[REDACTED] secret.Secret[REDACTED] secret.Secret[REDACTED]"},
		{name: "other verbs", got: func() string { return fmt.Sprintf("%d %x %q", s, s, s) },
			want: "secret.Secret[REDACTED] secret.Secret[REDACTED] secret.Secret[REDACTED]"},
		{name: "pointer and nested", got: func() string { return fmt.Sprintf("%v %+v", &s, struct{ S Secret }{s}) },
			want: "secret.Secret[REDACTED] {S:secret.Secret[REDACTED]}"},
		{name: "json", got: func() string { b, _ := json.Marshal(map[string]any{"s": s}); return string(b) },
			want: `{"s":"secret.Secret[REDACTED]"}`},
		{name: "slog json", got: func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})).Info("m", "secret", s)
			return buf.String()
		}, want: `{"level":"INFO","msg":"m","secret":{"sdkAppID":1400000000,"previousKey":true,"wechatAppSecret":true,"tokenKey":true,"trtcCallbackKey":true,"tencentCloudKey":true,"callPolicyKey":true}}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got()
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			assertNoSecrets(t, got)
		})
	}
}

func TestScrub(t *testing.T) {
	s := Secret{SecretKey: testKey, TokenKey: "abc"} // values under 4 bytes are left alone
	got := scrub("k="+testKey+" t=abc", s)
	if want := "k=[REDACTED] t=abc"; got != want {
		t.Fatalf("scrub = %q, want %q", got, want)
	}
}
