package secret

import (
	"errors"
	"strings"
	"testing"
)

// testKey is a made-up TRTC key (64 hex characters) used across tests.
const testKey = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"

const (
	testPrevKey  = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	testWeChat   = "wxsecret0123456789abcdef01234567"
	testTokenKey = "tokenkey-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	testAppID    = uint32(1400000000)
	otherTestApp = uint32(1400000001)

	testCallbackKey = "callsignTestKey2025"
	testCloudID     = "AKIDcallsignTestSecretId0000"
	testCloudKey    = "callsignProbeSecretKeyExample0000"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		appID   uint32
		want    Secret
		wantErr string
	}{
		{name: "bare key", value: testKey, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "bare key trimmed", value: "  " + testKey + "\r\n", appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "bare key without app ID", value: testKey, wantErr: "secret: invalid value: no SDKAppID: put sdkAppID in the secret or configure the SDKAppID"},
		{name: "empty", value: " \n\t", appID: testAppID, wantErr: "secret: invalid value: value is empty"},
		{name: "bare key with inner space", value: testKey[:10] + " " + testKey[10:], appID: testAppID, wantErr: "secret: invalid value: secretKey contains whitespace or control characters"},
		{name: "bare key with control char", value: testKey + "\x00", appID: testAppID, wantErr: "secret: invalid value: secretKey contains whitespace or control characters"},
		{name: "JSON array", value: `["` + testKey + `"]`, appID: testAppID, wantErr: "secret: invalid value: a JSON value must be an object"},
		{name: "JSON string", value: `"` + testKey + `"`, appID: testAppID, wantErr: "secret: invalid value: a JSON value must be an object"},
		{
			name:  "JSON all fields",
			value: `{"sdkAppID":1400000000,"secretKey":"` + testKey + `","previousSecretKey":"` + testPrevKey + `","wechatAppSecret":"` + testWeChat + `","tokenKey":"` + testTokenKey + `"}`,
			want:  Secret{SDKAppID: testAppID, SecretKey: testKey, PreviousSecretKey: testPrevKey, WeChatAppSecret: testWeChat, TokenKey: testTokenKey},
		},
		{name: "JSON app ID agrees", value: `{"sdkAppID":1400000000,"secretKey":"` + testKey + `"}`, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON app ID from config", value: `{"secretKey":"` + testKey + `"}`, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON app ID as string", value: `{"sdkAppID":"1400000000","secretKey":"` + testKey + `"}`, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON app ID zero means unset", value: `{"sdkAppID":0,"secretKey":"` + testKey + `"}`, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON app ID max", value: `{"sdkAppID":4294967295,"secretKey":"` + testKey + `"}`, want: Secret{SDKAppID: 4294967295, SecretKey: testKey}},
		{name: "JSON nulls and empties", value: `{"sdkAppID":null,"secretKey":"` + testKey + `","previousSecretKey":null,"tokenKey":"  "}`, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON values trimmed", value: "{\n  \"secretKey\": \" " + testKey + " \"\n}\n", appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey}},
		{name: "JSON app ID disagrees", value: `{"sdkAppID":1400000001,"secretKey":"` + testKey + `"}`, appID: testAppID, wantErr: "secret: invalid value: sdkAppID in the secret (1400000001) does not match the configured SDKAppID (1400000000)"},
		{name: "JSON app ID too large", value: `{"sdkAppID":4294967296,"secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON app ID negative", value: `{"sdkAppID":-1,"secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON app ID fraction", value: `{"sdkAppID":1.5,"secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON app ID exponent", value: `{"sdkAppID":1e9,"secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON app ID bool", value: `{"sdkAppID":true,"secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON app ID bad string", value: `{"sdkAppID":"14x","secretKey":"` + testKey + `"}`, wantErr: "secret: invalid value: sdkAppID must be an integer between 1 and 4294967295"},
		{name: "JSON missing secretKey", value: `{"sdkAppID":1400000000,"tokenKey":"` + testTokenKey + `"}`, wantErr: "secret: invalid value: JSON secret has no secretKey"},
		{name: "JSON null secretKey", value: `{"secretKey":null}`, appID: testAppID, wantErr: "secret: invalid value: JSON secret has no secretKey"},
		{name: "JSON empty object", value: `{}`, appID: testAppID, wantErr: "secret: invalid value: JSON secret has no secretKey"},
		{name: "JSON unknown field", value: `{"secretKey":"` + testKey + `","` + testWeChat + `":"x"}`, appID: testAppID, wantErr: "secret: invalid value: unknown JSON field #2 (allowed: sdkAppID, secretKey, previousSecretKey, wechatAppSecret, tokenKey, trtcCallbackKey, tencentCloudSecretId, tencentCloudSecretKey, callPolicyKey)"},
		{
			name:  "JSON enforcement fields",
			value: `{"secretKey":"` + testKey + `","trtcCallbackKey":"` + testCallbackKey + `","tencentCloudSecretId":"` + testCloudID + `","tencentCloudSecretKey":"` + testCloudKey + `"}`,
			appID: testAppID,
			want:  Secret{SDKAppID: testAppID, SecretKey: testKey, TRTCCallbackKey: testCallbackKey, TencentCloudSecretID: testCloudID, TencentCloudSecretKey: testCloudKey},
		},
		{name: "JSON callback key too long", value: `{"secretKey":"` + testKey + `","trtcCallbackKey":"` + strings.Repeat("a", 33) + `"}`, appID: testAppID, wantErr: "secret: invalid value: trtcCallbackKey is longer than 32 characters"},
		{name: "JSON callback key punctuation", value: `{"secretKey":"` + testKey + `","trtcCallbackKey":"key-1"}`, appID: testAppID, wantErr: "secret: invalid value: trtcCallbackKey must be letters and digits only"},
		{name: "JSON cloud key without ID", value: `{"secretKey":"` + testKey + `","tencentCloudSecretKey":"` + testCloudKey + `"}`, appID: testAppID, wantErr: "secret: invalid value: set both tencentCloudSecretId and tencentCloudSecretKey, or neither"},
		{name: "JSON call policy key", value: `{"secretKey":"` + testKey + `","callPolicyKey":"` + strings.Repeat("p", 32) + `"}`, appID: testAppID,
			want: Secret{SDKAppID: testAppID, SecretKey: testKey, CallPolicyKey: strings.Repeat("p", 32)}},
		{name: "JSON short call policy key", value: `{"secretKey":"` + testKey + `","callPolicyKey":"short"}`, appID: testAppID, wantErr: "secret: invalid value: callPolicyKey must be at least 32 bytes"},
		{name: "JSON wrong case enforcement field", value: `{"secretKey":"` + testKey + `","TRTCCallbackKey":"k"}`, appID: testAppID, wantErr: `secret: invalid value: JSON field names are case-sensitive: use "trtcCallbackKey"`},
		{name: "JSON wrong case", value: `{"secretkey":"` + testKey + `"}`, appID: testAppID, wantErr: `secret: invalid value: JSON field names are case-sensitive: use "secretKey"`},
		{name: "JSON duplicate", value: `{"secretKey":"` + testKey + `","secretKey":"` + testPrevKey + `"}`, appID: testAppID, wantErr: `secret: invalid value: JSON field "secretKey" appears more than once`},
		{name: "JSON number key", value: `{"secretKey":12345}`, appID: testAppID, wantErr: "secret: invalid value: secretKey must be a string"},
		{name: "JSON object key", value: `{"secretKey":{"a":"` + testKey + `"}}`, appID: testAppID, wantErr: "secret: invalid value: secretKey must be a string"},
		{name: "JSON key with inner space", value: `{"secretKey":"` + testKey[:5] + ` ` + testKey[5:] + `"}`, appID: testAppID, wantErr: "secret: invalid value: secretKey contains whitespace or control characters"},
		{name: "JSON tokenKey with newline", value: `{"secretKey":"` + testKey + `","tokenKey":"a\nb"}`, appID: testAppID, wantErr: "secret: invalid value: tokenKey contains whitespace or control characters"},
		{name: "JSON one-byte tokenKey", value: `{"secretKey":"` + testKey + `","tokenKey":"a"}`, appID: testAppID, wantErr: "secret: invalid value: tokenKey must be at least 32 bytes"},
		{name: "JSON 31-byte tokenKey", value: `{"secretKey":"` + testKey + `","tokenKey":"` + testTokenKey[:31] + `"}`, appID: testAppID, wantErr: "secret: invalid value: tokenKey must be at least 32 bytes"},
		{name: "JSON 32-byte tokenKey", value: `{"secretKey":"` + testKey + `","tokenKey":"` + testTokenKey[:32] + `"}`, appID: testAppID, want: Secret{SDKAppID: testAppID, SecretKey: testKey, TokenKey: testTokenKey[:32]}},
		{name: "JSON syntax error", value: `{"secretKey":"` + testKey + `",}`, appID: testAppID, wantErr: "secret: invalid value: invalid JSON at byte 80"},
		{name: "JSON truncated", value: `{"secretKey":"` + testKey, appID: testAppID, wantErr: "secret: invalid value: invalid JSON: unexpected end of input"},
		{name: "JSON trailing data", value: `{"secretKey":"` + testKey + `"} {"x":1}`, appID: testAppID, wantErr: "secret: invalid value: unexpected data after the JSON object"},
		{name: "too large", value: "a" + strings.Repeat("b", MaxValueBytes), appID: testAppID, wantErr: "secret: invalid value: value is larger than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.value, tt.appID)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Parse() = %v, want error %q", got, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("Parse() error = %q, want %q", err.Error(), tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidValue) {
					t.Errorf("error does not wrap ErrInvalidValue")
				}
				assertNoSecrets(t, err.Error())
				if got != (Secret{}) {
					t.Errorf("Parse() returned a partial secret on error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if got != tt.want {
				t.Fatalf("Parse() = %+v, want %+v", fieldsOf(got), fieldsOf(tt.want))
			}
		})
	}
}

// fieldsOf shows a Secret's fields in test failures (Secret redacts itself).
func fieldsOf(s Secret) []any {
	return []any{s.SDKAppID, s.SecretKey, s.PreviousSecretKey, s.WeChatAppSecret, s.TokenKey}
}

// assertNoSecrets fails if text contains any of the test secret values.
func assertNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, v := range []string{testKey, testPrevKey, testWeChat, testTokenKey, "callPolicyKeyForRedactionTest0001", testKey[:16], testKey[len(testKey)-16:]} {
		if strings.Contains(text, v) {
			t.Fatalf("text contains a secret value: %q", text)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Secret
		wantErr string
	}{
		{name: "complete", s: Secret{SDKAppID: 1, SecretKey: "k"}},
		{name: "no app ID", s: Secret{SecretKey: "k"}, wantErr: "secret: invalid value: no SDKAppID: put sdkAppID in the secret or configure the SDKAppID"},
		{name: "no key", s: Secret{SDKAppID: 1}, wantErr: "secret: invalid value: secretKey is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Fatalf("Validate() = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		testKey,
		"  " + testKey + "\n",
		`{"sdkAppID":1400000000,"secretKey":"` + testKey + `"}`,
		`{"sdkAppID":"1400000000","secretKey":"` + testKey + `","previousSecretKey":"` + testPrevKey + `","wechatAppSecret":"` + testWeChat + `","tokenKey":"` + testTokenKey + `"}`,
		`{"secretKey":null,"sdkAppID":-0}`,
		`{"secretkey":"a"}`,
		`{"secretKey":"a","secretKey":"b"}`,
		`{"secretKey":"a"}{}`,
		`{"sdkAppID":99999999999999999999999,"secretKey":"x"}`,
		`{"secretKey":"\u0000"}`,
		`["x"]`, `"x"`, `{`, `{"a`, "", "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add(s, uint32(0))
		f.Add(s, testAppID)
	}
	f.Fuzz(func(t *testing.T, value string, appID uint32) {
		s, err := Parse(value, appID)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("error does not wrap ErrInvalidValue: %v", err)
			}
			if s != (Secret{}) {
				t.Fatalf("partial secret returned with error")
			}
			// Messages are built from fixed text; a value with characters
			// that no message uses must never appear in one.
			v := strings.TrimSpace(value)
			if len(v) >= 4 && strings.ContainsAny(v, "{}[]$%&*+=<>?@\\^|~") && strings.Contains(err.Error(), v) {
				t.Fatalf("error message contains the value: %q", err.Error())
			}
			return
		}
		if s.SecretKey == "" || s.SDKAppID == 0 {
			t.Fatalf("incomplete secret without error: %v", fieldsOf(s))
		}
		if appID != 0 && s.SDKAppID != appID {
			t.Fatalf("SDKAppID %d, configured %d", s.SDKAppID, appID)
		}
		for _, k := range []string{s.SecretKey, s.PreviousSecretKey, s.WeChatAppSecret, s.TokenKey} {
			if k != strings.TrimSpace(k) || strings.ContainsAny(k, " \t\r\n\x00") {
				t.Fatalf("untrimmed or spaced key accepted")
			}
		}
	})
}
