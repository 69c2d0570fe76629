package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the README variable table")

// base is a valid configuration as envconfig would load it with defaults.
func base(t *testing.T) Config {
	t.Helper()
	clearEnv(t)
	c, err := Load()
	if err != nil {
		t.Fatalf("Load with defaults: %v", err)
	}
	return c
}

// clearEnv unsets every CALLSIGN_ variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") {
			t.Setenv(name, "") // registers restore
			os.Unsetenv(name)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	c := base(t)
	if c.Stage != "local" || c.SecretSource != "env" || c.Limiter != "memory" || c.HTTPAddr != "127.0.0.1:8080" {
		t.Fatalf("defaults = %+v", c)
	}
	if got := strings.Join(c.Verifiers, ","); got != "dev" {
		t.Fatalf("Verifiers = %q", got)
	}
	if c.UserSigTTL.String() != "24h0m0s" || c.InviteTTL.String() != "2m0s" || c.PrivateMapKeyTTL.String() != "2h0m0s" {
		t.Fatalf("TTL defaults = %v %v %v", c.UserSigTTL, c.InviteTTL, c.PrivateMapKeyTTL)
	}
	if c.KeyPrefix() != "callsign:local:" {
		t.Fatalf("KeyPrefix = %q", c.KeyPrefix())
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("CALLSIGN_STAGE", "local")
	t.Setenv("CALLSIGN_SDK_APP_ID", "1400000000")
	t.Setenv("CALLSIGN_SECRET_KEY", "k")
	t.Setenv("CALLSIGN_WECHAT_APP_ID", "wx123")
	t.Setenv("CALLSIGN_VERIFIERS", "cloudbase,session,gateway")
	t.Setenv("CALLSIGN_DYNAMODB_TABLE", "limits")
	t.Setenv("CALLSIGN_LIMITER", "dynamodb")
	t.Setenv("CALLSIGN_JWT_LEEWAY", "10s")
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.SDKAppID != 1400000000 || c.WechatAppID != "wx123" || c.DynamodbTable != "limits" || c.JWTLeeway.Seconds() != 10 || !c.HasVerifier("gateway") {
		t.Fatalf("loaded = %+v", c)
	}
}

func TestLoadRejectsUnknownVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv("CALLSIGN_REDISADDR", "x") // misspelt: not a known variable
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), "CALLSIGN_REDISADDR") {
		t.Fatalf("Load error = %v, want it to name CALLSIGN_REDISADDR", err)
	}
}

// TestLoadIgnoresUnprefixedFallback sets, for every variable, the same name
// without the prefix (STAGE, REDIS_URL, TRTC_REGION, CALL_POLICY_FAILURE, ...)
// to a value that would change the configuration or fail to parse: Load
// must read none of them.
func TestLoadIgnoresUnprefixedFallback(t *testing.T) {
	clearEnv(t)
	want, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range VariableNames() {
		t.Run(name, func(t *testing.T) {
			unprefixed := strings.TrimPrefix(name, Prefix+"_")
			for _, v := range []string{"1", "evil"} {
				t.Setenv(unprefixed, v)
				got, err := Load()
				if err != nil {
					t.Fatalf("%s=%s: Load: %v", unprefixed, v, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s=%s changed the configuration: %+v", unprefixed, v, got)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad stage", func(c *Config) { c.Stage = "qa" }, "CALLSIGN_STAGE"},
		{"env source in prod", func(c *Config) { c.Stage = "prod" }, "CALLSIGN_SECRET_SOURCE: env is for local development only"},
		{"env source in dev", func(c *Config) { c.Stage = "dev" }, "CALLSIGN_SECRET_SOURCE: env is for local development only"},
		{"env key without app id", func(c *Config) { c.SecretKey = "k" }, "CALLSIGN_SDK_APP_ID: required"},
		{"managed source without name", func(c *Config) { c.SecretSource = "aws-secretsmanager" }, "CALLSIGN_SECRET_NAME: required"},
		{"managed source with inline key", func(c *Config) {
			c.SecretSource, c.SecretName, c.SecretKey = "aws-ssm", "/x", "k"
		}, "CALLSIGN_SECRET_KEY: must not be set"},
		{"one-byte token key", func(c *Config) { c.TokenKey = "a" }, "CALLSIGN_TOKEN_KEY: must be at least 32 bytes"},
		{"31-byte token key", func(c *Config) { c.TokenKey = strings.Repeat("k", 31) }, "CALLSIGN_TOKEN_KEY: must be at least 32 bytes"},
		{"32-byte token key", func(c *Config) { c.TokenKey = strings.Repeat("k", 32) }, ""},
		{"tencent without version", func(c *Config) { c.SecretSource, c.SecretName = "tencent-ssm", "n" }, "CALLSIGN_SECRET_VERSION: required"},
		{"tencent complete", func(c *Config) { c.SecretSource, c.SecretName, c.SecretVersion = "tencent-ssm", "n", "v1" }, ""},
		{"aws-ssm with version", func(c *Config) {
			c.Stage, c.Verifiers, c.SecretSource, c.SecretName, c.SecretVersion = "prod", []string{"gateway"}, "aws-ssm", "/x", "3"
		}, "CALLSIGN_SECRET_VERSION: not used with aws-ssm"},
		{"secretsmanager with stage", func(c *Config) {
			c.Stage, c.Verifiers, c.SecretSource, c.SecretName, c.SecretVersion = "prod", []string{"gateway"}, "aws-secretsmanager", "x", "AWSPREVIOUS"
		}, ""},
		{"unknown verifier", func(c *Config) { c.Verifiers = []string{"magic"} }, "CALLSIGN_VERIFIERS: \"magic\""},
		{"no verifier", func(c *Config) { c.Verifiers = nil }, "CALLSIGN_VERIFIERS: at least one"},
		{"no verifier outside local", func(c *Config) {
			c.Stage, c.SecretSource, c.SecretName, c.Verifiers = "dev", "aws-ssm", "/x", nil
		}, "CALLSIGN_VERIFIERS: at least one"},
		{"dev verifier outside local", func(c *Config) {
			c.Stage, c.SecretSource, c.SecretName, c.Verifiers = "dev", "aws-ssm", "/x", []string{"dev"}
		}, "allowed only with CALLSIGN_STAGE=local"},
		{"dev verifier on every interface", func(c *Config) { c.HTTPAddr = ":8080" }, "CALLSIGN_HTTP_ADDR: the dev verifier trusts a header naming the user; listen on a loopback address"},
		{"dev verifier on 0.0.0.0", func(c *Config) { c.HTTPAddr = "0.0.0.0:8080" }, "CALLSIGN_HTTP_ADDR: the dev verifier"},
		{"dev verifier on a LAN address", func(c *Config) { c.HTTPAddr = "192.0.2.1:8080" }, "CALLSIGN_HTTP_ADDR: the dev verifier"},
		{"dev verifier on a name", func(c *Config) { c.HTTPAddr = "devbox.example:8080" }, "CALLSIGN_HTTP_ADDR: the dev verifier"},
		{"dev verifier on IPv6 loopback", func(c *Config) { c.HTTPAddr = "[::1]:8080" }, ""},
		{"dev verifier on localhost", func(c *Config) { c.HTTPAddr = "localhost:8080" }, ""},
		{"session verifier on every interface", func(c *Config) { c.HTTPAddr, c.Verifiers = "0.0.0.0:9000", []string{"session"} }, ""},
		{"cloudbase without app id", func(c *Config) { c.Verifiers = []string{"cloudbase"} }, "CALLSIGN_WECHAT_APP_ID: required"},
		{"jwt incomplete", func(c *Config) { c.Verifiers = []string{"jwt"} }, "CALLSIGN_JWT_ISSUER: required"},
		{"jwt both keys", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTSecret, c.JWTJwksURL = []string{"jwt"}, "i", "a", "s", "https://idp.example/jwks"
		}, "set exactly one"},
		{"jwt bad algorithm", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTSecret, c.JWTAlgorithms = []string{"jwt"}, "i", "a", strings.Repeat("s", 32), []string{"none"}
		}, "CALLSIGN_JWT_ALGORITHMS: \"none\""},
		{"bad user id mode", func(c *Config) { c.UserIDMode = "plain" }, "CALLSIGN_USER_ID_MODE"},
		{"bad prefix", func(c *Config) { c.UserIDPrefix = "wx:" }, "CALLSIGN_USER_ID_PREFIX"},
		{"usersig ttl over max", func(c *Config) { c.UserSigTTL = c.UserSigMaxTTL * 2 }, "CALLSIGN_USER_SIG_TTL"},
		{"usersig max over 180 days", func(c *Config) { c.UserSigMaxTTL *= 1000 }, "CALLSIGN_USER_SIG_MAX_TTL"},
		{"fractional ttl", func(c *Config) { c.InviteTTL += 1 }, "CALLSIGN_INVITE_TTL: must be a whole number of seconds"},
		{"invitees zero", func(c *Config) { c.MaxInvitees = 0 }, "CALLSIGN_MAX_INVITEES"},
		{"invitees above the service's bound", func(c *Config) { c.MaxInvitees = 50 }, "CALLSIGN_MAX_INVITEES: 50 is outside 1..32"},
		{"invitees at the service's bound", func(c *Config) { c.MaxInvitees = 32 }, ""},
		{"hash prefix too long for hash mode", func(c *Config) { c.UserIDPrefix = "abcdefghijklm" }, "CALLSIGN_USER_ID_PREFIX: identity: userID prefix is 13 characters; hash mode allows at most 12"},
		{"raw prefix of 16", func(c *Config) { c.UserIDMode, c.UserIDPrefix = "raw", "abcdefghijklmnop" }, ""},
		{"raw prefix of 17", func(c *Config) { c.UserIDMode, c.UserIDPrefix = "raw", "abcdefghijklmnopq" }, "CALLSIGN_USER_ID_PREFIX: must be at most 16 characters"},
		{"raw prefix of every allowed byte", func(c *Config) { c.UserIDMode, c.UserIDPrefix = "raw", "aZ09_-" }, ""},
		{"non-ASCII prefix", func(c *Config) { c.UserIDPrefix = "é" }, "CALLSIGN_USER_ID_PREFIX: must be at most 16 characters"},
		{"jwt short secret", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTSecret = []string{"jwt"}, "i", "a", "short"
		}, "CALLSIGN_JWT_SECRET: must be at least 32 bytes"},
		{"jwt reserved issuer", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTSecret = []string{"jwt"}, "callsign", "a", strings.Repeat("s", 32)
		}, `CALLSIGN_JWT_ISSUER: "callsign" is reserved`},
		{"jwt RS256 with a secret only", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTSecret, c.JWTAlgorithms = []string{"jwt"}, "i", "a", strings.Repeat("s", 32), []string{"RS256"}
		}, "CALLSIGN_JWT_ALGORITHMS: identity: jwt algorithm RS256 needs a JWKS URL"},
		{"room type", func(c *Config) { c.RoomType = "uuid" }, "CALLSIGN_ROOM_TYPE"},
		{"bad origin", func(c *Config) { c.AllowedOrigins = []string{"example.com"} }, "CALLSIGN_ALLOWED_ORIGINS"},
		{"origin with path", func(c *Config) { c.AllowedOrigins = []string{"https://example.com/app"} }, "CALLSIGN_ALLOWED_ORIGINS"},
		{"good origin", func(c *Config) { c.AllowedOrigins = []string{"https://example.com", "http://localhost:5173"} }, ""},
		{"redis without url", func(c *Config) { c.Limiter = "redis" }, "CALLSIGN_REDIS_URL: required"},
		{"redis bad scheme", func(c *Config) { c.Limiter, c.RedisURL = "redis", "http://:pw@h:1" }, "CALLSIGN_REDIS_URL: must be a URL"},
		{"secret endpoint over plain http", func(c *Config) { c.SecretEndpoint = "http://secrets.example.com" }, "CALLSIGN_SECRET_ENDPOINT: must be an absolute https URL (plain http only for localhost or a loopback IP)"},
		{"secret endpoint, local stand-in", func(c *Config) { c.SecretEndpoint = "http://127.0.0.1:4566" }, ""},
		{"secret endpoint over https", func(c *Config) { c.SecretEndpoint = "https://vpce-1.secretsmanager.ap-southeast-1.vpce.amazonaws.com" }, ""},
		{"dynamodb endpoint over plain http", func(c *Config) { c.DynamodbEndpoint = "http://dynamodb.example.com:8000" }, "CALLSIGN_DYNAMODB_ENDPOINT: must be an absolute https URL (plain http only for localhost or a loopback IP)"},
		{"dynamodb endpoint, local stand-in", func(c *Config) { c.DynamodbEndpoint = "http://localhost:8000" }, ""},
		{"dynamodb without table", func(c *Config) { c.Limiter = "dynamodb" }, "CALLSIGN_DYNAMODB_TABLE: required"},
		{"bad rate limits", func(c *Config) { c.RateLimits = "usersig=ten" }, "CALLSIGN_RATE_LIMITS"},
		{"good rate limits", func(c *Config) { c.RateLimits = "usersig=10/1m:20,call.create=5/1m" }, ""},
		{"limiter failure", func(c *Config) { c.LimiterFailure = "panic" }, "CALLSIGN_LIMITER_FAILURE"},
		{"limiter timeout too long", func(c *Config) { c.LimiterTimeout = 6 * time.Second }, "CALLSIGN_LIMITER_TIMEOUT"},
		{"limiter timeout negative", func(c *Config) { c.LimiterTimeout = -time.Second }, "CALLSIGN_LIMITER_TIMEOUT"},
		{"limiter timeout unset", func(c *Config) { c.LimiterTimeout = 0 }, ""},
		{"wechat timeout", func(c *Config) { c.WechatTimeout = 0 }, "CALLSIGN_WECHAT_TIMEOUT"},
		{"wechat over plain http", func(c *Config) { c.WechatAPIBaseURL = "http://api.weixin.qq.com" }, "CALLSIGN_WECHAT_API_BASE_URL: must be an absolute https URL (plain http only for localhost or a loopback IP)"},
		{"wechat over plain http to a LAN host", func(c *Config) { c.WechatAPIBaseURL = "http://10.0.0.5:8080" }, "CALLSIGN_WECHAT_API_BASE_URL: must be an absolute https URL"},
		{"wechat stand-in on loopback", func(c *Config) { c.WechatAPIBaseURL = "http://127.0.0.1:9000" }, ""},
		{"wechat with a query", func(c *Config) { c.WechatAPIBaseURL = "https://api.weixin.qq.com/?x=1" }, "CALLSIGN_WECHAT_API_BASE_URL: must not carry a query"},
		{"wechat over https", func(c *Config) { c.WechatAPIBaseURL = "https://api.weixin.qq.com" }, ""},
		{"jwks over plain http", func(c *Config) {
			c.Verifiers, c.JWTIssuer, c.JWTAudience, c.JWTJwksURL = []string{"jwt"}, "i", "a", "http://idp.example/jwks"
		}, "CALLSIGN_JWT_JWKS_URL: must be an absolute https URL"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, "CALLSIGN_LOG_LEVEL"},

		// Call enforcement.
		{"enforcement mode", func(c *Config) { c.CallEnforcement = "strict" }, "CALLSIGN_CALL_ENFORCEMENT: \"strict\" is not one of off, audit, enforce"},
		{"enforce", func(c *Config) { c.CallEnforcement = "enforce" }, ""},
		{"unknown room policy", func(c *Config) { c.CallUnknownRoom = "kick" }, "CALLSIGN_CALL_UNKNOWN_ROOM"},
		{"dismiss on a local memory store", func(c *Config) { c.CallUnknownRoom = "dismiss" }, ""},
		{"dismiss on memory outside local", func(c *Config) {
			c.Stage, c.Verifiers, c.SecretSource, c.SecretName, c.CallUnknownRoom = "prod", []string{"session"}, "aws-ssm", "/x", "dismiss"
		}, "CALLSIGN_CALL_UNKNOWN_ROOM: dismiss needs a shared store"},
		{"dismiss on redis outside local", func(c *Config) {
			c.Stage, c.Verifiers, c.SecretSource, c.SecretName, c.CallUnknownRoom = "prod", []string{"session"}, "aws-ssm", "/x", "dismiss"
			c.Limiter, c.RedisURL = "redis", "rediss://:pw@redis.example:6379"
		}, ""},
		{"callback key", func(c *Config) { c.TRTCCallbackKey = "callsignTestKey2025" }, ""},
		{"callback key punctuation", func(c *Config) { c.TRTCCallbackKey = "key-1" }, "CALLSIGN_TRTC_CALLBACK_KEY: must be 1-32 letters and digits"},
		{"callback key too long", func(c *Config) { c.TRTCCallbackKey = strings.Repeat("k", 33) }, "CALLSIGN_TRTC_CALLBACK_KEY"},
		{"callback key of 32", func(c *Config) { c.TRTCCallbackKey = strings.Repeat("K9", 16) }, ""},
		{"callback key underscore", func(c *Config) { c.TRTCCallbackKey = "key_1" }, "CALLSIGN_TRTC_CALLBACK_KEY: must be 1-32 letters and digits"},
		{"callback key with a managed source", func(c *Config) {
			c.SecretSource, c.SecretName, c.TRTCCallbackKey = "aws-ssm", "/x", "k"
		}, "CALLSIGN_TRTC_CALLBACK_KEY: must not be set with a managed secret source"},
		{"empty region", func(c *Config) { c.TRTCRegion = "" }, "CALLSIGN_TRTC_REGION"},
		{"intl endpoint", func(c *Config) { c.TRTCAPIEndpoint = "trtc.intl.tencentcloudapi.com" }, ""},
		{"loopback http endpoint", func(c *Config) { c.TRTCAPIEndpoint = "http://127.0.0.1:9000" }, ""},
		{"remote http endpoint", func(c *Config) { c.TRTCAPIEndpoint = "http://trtc.example.com" }, "CALLSIGN_TRTC_API_ENDPOINT: plain http endpoints are allowed only for a loopback host"},
		{"admin ids", func(c *Config) { c.IMAdminIDs = []string{"admin", "ops_bot"} }, ""},
		{"bad admin id", func(c *Config) { c.IMAdminIDs = []string{"admin@corp"} }, "CALLSIGN_IM_ADMIN_IDS"},
		{"admin id of 32", func(c *Config) { c.IMAdminIDs = []string{strings.Repeat("a", 32)} }, ""},
		{"admin id of 33", func(c *Config) { c.IMAdminIDs = []string{strings.Repeat("a", 33)} }, "CALLSIGN_IM_ADMIN_IDS"},
		{"empty admin id", func(c *Config) { c.IMAdminIDs = []string{""} }, "CALLSIGN_IM_ADMIN_IDS"},
		{"service users", func(c *Config) { c.CallServiceUsers = []string{"recorder_1"} }, ""},
		{"bad service user", func(c *Config) { c.CallServiceUsers = []string{"rec order"} }, "CALLSIGN_CALL_SERVICE_USERS"},

		// Operator controls.
		{"admin user", func(c *Config) { c.IMAdminUser = "ops_admin" }, ""},
		{"bad admin user", func(c *Config) { c.IMAdminUser = "ops admin" }, "CALLSIGN_IM_ADMIN_USER"},
		{"empty admin user", func(c *Config) { c.IMAdminUser = "" }, "CALLSIGN_IM_ADMIN_USER"},
		{"regional IM host", func(c *Config) { c.IMAPIBaseURL = "https://adminapisgp.im.qcloud.com" }, ""},
		{"loopback IM host", func(c *Config) { c.IMAPIBaseURL = "http://127.0.0.1:9001" }, ""},
		{"plain http IM host", func(c *Config) { c.IMAPIBaseURL = "http://console.tim.qq.com" }, "CALLSIGN_IM_API_BASE_URL: base URL must be an absolute https URL"},
		{"IM host with a query", func(c *Config) { c.IMAPIBaseURL = "https://console.tim.qq.com/?x=1" }, "CALLSIGN_IM_API_BASE_URL: base URL must not carry a query"},
		{"policy", func(c *Config) {
			c.CallPolicyURL, c.CallPolicyKey = "https://policy.example.com/allow", strings.Repeat("p", 32)
		}, ""},
		{"policy over plain http", func(c *Config) {
			c.CallPolicyURL, c.CallPolicyKey = "http://policy.example.com/allow", strings.Repeat("p", 32)
		}, "CALLSIGN_CALL_POLICY_URL: URL must be an absolute https URL"},
		{"policy without a key", func(c *Config) { c.CallPolicyURL = "https://policy.example.com/allow" }, "CALLSIGN_CALL_POLICY_KEY: required"},
		{"short policy key", func(c *Config) { c.CallPolicyKey = "short" }, "CALLSIGN_CALL_POLICY_KEY: must be at least 32 bytes"},
		{"policy key with a managed source", func(c *Config) {
			c.SecretSource, c.SecretName, c.CallPolicyKey = "aws-ssm", "/x", strings.Repeat("p", 32)
		}, "CALLSIGN_CALL_POLICY_KEY: must not be set with a managed secret source"},
		{"policy failure", func(c *Config) { c.CallPolicyFailure = "open" }, ""},
		{"bad policy failure", func(c *Config) { c.CallPolicyFailure = "local" }, "CALLSIGN_CALL_POLICY_FAILURE: \"local\" is not one of open, closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base(t)
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	c := base(t)
	c.Limiter, c.RedisURL = "redis", "ftp://user:hunter2@host:1"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Validate error = %v", err)
	}
}

func TestSettingsRedactSecrets(t *testing.T) {
	c := base(t)
	c.SecretKey = "trtc-secret-value"
	c.JWTSecret = "jwt-secret-value"
	c.RedisURL = "rediss://default:redis-password@cache.internal:6379/0"
	var all strings.Builder
	for _, s := range c.Settings() {
		all.WriteString(s.Name + "=" + s.Value + "\n")
	}
	out := all.String()
	for _, leak := range []string{"trtc-secret-value", "jwt-secret-value", "redis-password"} {
		if strings.Contains(out, leak) {
			t.Fatalf("Settings leaked %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"CALLSIGN_SECRET_KEY=[REDACTED]", "CALLSIGN_JWT_SECRET=[REDACTED]", "CALLSIGN_REDIS_URL=rediss://default:REDACTED@cache.internal:6379/0", "CALLSIGN_TOKEN_KEY=\n", "CALLSIGN_STAGE=local"} {
		if !strings.Contains(out, want) {
			t.Fatalf("Settings missing %q:\n%s", want, out)
		}
	}
}

// TestSettingsRedactURLs: a secret that looks like a URL is still fully
// redacted, a secret URL loses all its user information, and a password in
// any other URL-valued setting is redacted.
func TestSettingsRedactURLs(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // the exact NAME=value line
	}{
		{"secret that parses as a URL", func(c *Config) { c.JWTSecret = "s3cr3t://hunter2" }, "CALLSIGN_JWT_SECRET=[REDACTED]"},
		{"redis URL with password", func(c *Config) { c.RedisURL = "redis://:hunter2@cache:6379/0" }, "CALLSIGN_REDIS_URL=redis://:REDACTED@cache:6379/0"},
		{"redis URL with a lone user name", func(c *Config) { c.RedisURL = "redis://hunter2@cache:6379" }, "CALLSIGN_REDIS_URL=redis://REDACTED@cache:6379"},
		{"redis URL without credentials", func(c *Config) { c.RedisURL = "rediss://cache:6380" }, "CALLSIGN_REDIS_URL=rediss://cache:6380"},
		{"redis value that is not a URL", func(c *Config) { c.RedisURL = "hunter2" }, "CALLSIGN_REDIS_URL=[REDACTED]"},
		{"JWKS URL with password", func(c *Config) { c.JWTJwksURL = "https://app:hunter2@idp.example/jwks" }, "CALLSIGN_JWT_JWKS_URL=https://app:REDACTED@idp.example/jwks"},
		{"JWKS URL with a user name only", func(c *Config) { c.JWTJwksURL = "https://app@idp.example/jwks" }, "CALLSIGN_JWT_JWKS_URL=https://app@idp.example/jwks"},
		{"JWKS URL with a token in the query", func(c *Config) { c.JWTJwksURL = "https://idp.example/jwks?access_token=hunter2" }, "CALLSIGN_JWT_JWKS_URL=https://idp.example/jwks?access_token=REDACTED"},
		{"JWKS URL with several query values", func(c *Config) { c.JWTJwksURL = "https://idp.example/jwks?tenant=hunter2&key=hunter2&&flag" }, "CALLSIGN_JWT_JWKS_URL=https://idp.example/jwks?tenant=REDACTED&key=REDACTED&&REDACTED"},
		{"JWKS URL with a bare query key", func(c *Config) { c.JWTJwksURL = "https://idp.example/jwks?hunter2" }, "CALLSIGN_JWT_JWKS_URL=https://idp.example/jwks?REDACTED"},
		{"JWKS URL with a token in the fragment", func(c *Config) { c.JWTJwksURL = "https://idp.example/jwks#access_token=hunter2" }, "CALLSIGN_JWT_JWKS_URL=https://idp.example/jwks#REDACTED"},
		{"redis URL with a password in the query", func(c *Config) { c.RedisURL = "redis://cache:6379/0?password=hunter2" }, "CALLSIGN_REDIS_URL=redis://cache:6379/0?password=REDACTED"},
		{"endpoint with credentials and a query", func(c *Config) { c.SecretEndpoint = "http://u:hunter2@127.0.0.1:9000/?X-Amz-Signature=hunter2" }, "CALLSIGN_SECRET_ENDPOINT=http://u:REDACTED@127.0.0.1:9000/?X-Amz-Signature=REDACTED"},
		{"endpoint with password", func(c *Config) { c.SecretEndpoint = "http://u:hunter2@127.0.0.1:9000" }, "CALLSIGN_SECRET_ENDPOINT=http://u:REDACTED@127.0.0.1:9000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base(t)
			tc.change(&c)
			var lines []string
			for _, s := range c.Settings() {
				lines = append(lines, s.Name+"="+s.Value)
			}
			out := strings.Join(lines, "\n")
			if strings.Contains(out, "hunter2") {
				t.Fatalf("Settings leaked the secret:\n%s", out)
			}
			found := false
			for _, l := range lines {
				found = found || l == tc.want
			}
			if !found {
				t.Fatalf("Settings lack the line %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestVariableNames pins every variable name, in field order: the names are
// the deployed interface (serverless.yml, the Tencent templates, operators'
// environments), so a renamed field must not rename its variable.
func TestVariableNames(t *testing.T) {
	want := []string{
		"CALLSIGN_STAGE", "CALLSIGN_LOG_LEVEL", "CALLSIGN_HTTP_ADDR", "CALLSIGN_SDK_APP_ID",
		"CALLSIGN_SECRET_SOURCE", "CALLSIGN_SECRET_KEY", "CALLSIGN_PREVIOUS_SECRET_KEY", "CALLSIGN_TOKEN_KEY",
		"CALLSIGN_SECRET_NAME", "CALLSIGN_SECRET_VERSION", "CALLSIGN_SECRET_REGION", "CALLSIGN_SECRET_ENDPOINT",
		"CALLSIGN_SECRET_CACHE_TTL", "CALLSIGN_WECHAT_APP_ID", "CALLSIGN_WECHAT_APP_SECRET",
		"CALLSIGN_WECHAT_API_BASE_URL", "CALLSIGN_WECHAT_TIMEOUT", "CALLSIGN_VERIFIERS", "CALLSIGN_USER_ID_MODE",
		"CALLSIGN_USER_ID_PREFIX", "CALLSIGN_SESSION_TTL", "CALLSIGN_JWT_ISSUER", "CALLSIGN_JWT_AUDIENCE",
		"CALLSIGN_JWT_SECRET", "CALLSIGN_JWT_JWKS_URL", "CALLSIGN_JWT_ALGORITHMS", "CALLSIGN_JWT_LEEWAY",
		"CALLSIGN_JWT_SUBJECT_CLAIM", "CALLSIGN_GATEWAY_SUBJECT_CLAIM", "CALLSIGN_USER_SIG_TTL",
		"CALLSIGN_USER_SIG_MAX_TTL", "CALLSIGN_PRIVATE_MAP_KEY_TTL", "CALLSIGN_INVITE_TTL",
		"CALLSIGN_MAX_INVITEES", "CALLSIGN_ROOM_TYPE", "CALLSIGN_SCREEN_SHARE", "CALLSIGN_ALLOWED_ORIGINS",
		"CALLSIGN_LIMITER", "CALLSIGN_RATE_LIMITS", "CALLSIGN_LIMITER_TIMEOUT", "CALLSIGN_LIMITER_FAILURE",
		"CALLSIGN_LIMITER_KEY_PREFIX", "CALLSIGN_REDIS_URL", "CALLSIGN_DYNAMODB_TABLE",
		"CALLSIGN_DYNAMODB_ENDPOINT", "CALLSIGN_CALL_ENFORCEMENT", "CALLSIGN_CALL_UNKNOWN_ROOM",
		"CALLSIGN_TRTC_CALLBACK_KEY", "CALLSIGN_TRTC_REGION", "CALLSIGN_TRTC_API_ENDPOINT",
		"CALLSIGN_IM_ADMIN_IDS", "CALLSIGN_CALL_SERVICE_USERS", "CALLSIGN_IM_ADMIN_USER",
		"CALLSIGN_IM_API_BASE_URL", "CALLSIGN_CALL_POLICY_URL", "CALLSIGN_CALL_POLICY_FAILURE",
		"CALLSIGN_CALL_POLICY_KEY",
	}
	if got := VariableNames(); !slices.Equal(got, want) {
		t.Fatalf("VariableNames() =\n%q\nwant\n%q", got, want)
	}
	seen := map[string]bool{}
	for _, n := range want {
		rest, ok := strings.CutPrefix(n, Prefix+"_")
		if !ok || rest == "" || strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" || seen[n] {
			t.Errorf("%q: want a unique %s_ name of A-Z, 0-9 and _", n, Prefix)
		}
		seen[n] = true
	}
}

// TestREADMEVariableTable fails when the README's variable table drifts
// from the Config struct. Regenerate with: go test ./shared/config -run README -update
func TestREADMEVariableTable(t *testing.T) {
	const begin, end = "<!-- config-table:begin -->\n", "<!-- config-table:end -->"
	path := filepath.Join("..", "..", "README.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", begin, end)
	}
	want := MarkdownTable()
	got := readme[i+len(begin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README variable table is out of date; run: go test ./shared/config -run README -update")
}

// TestStoreTimeoutPerBackend: an unset CALLSIGN_LIMITER_TIMEOUT selects the
// backend's deadline (DynamoDB needs more than Redis); a set one wins.
func TestStoreTimeoutPerBackend(t *testing.T) {
	tests := []struct {
		limiter string
		set     time.Duration
		want    time.Duration
	}{
		{"redis", 0, 150 * time.Millisecond},
		{"dynamodb", 0, time.Second},
		{"memory", 0, 150 * time.Millisecond},
		{"dynamodb", 300 * time.Millisecond, 300 * time.Millisecond},
		{"redis", 2 * time.Second, 2 * time.Second},
	}
	for _, tc := range tests {
		c := Config{Limiter: tc.limiter, LimiterTimeout: tc.set}
		if got := c.StoreTimeout(); got != tc.want {
			t.Errorf("%s with %s set: StoreTimeout() = %s, want %s", tc.limiter, tc.set, got, tc.want)
		}
	}
	c := base(t)
	if c.LimiterTimeout != 0 {
		t.Fatalf("default LimiterTimeout = %s, want unset (per backend)", c.LimiterTimeout)
	}
}
