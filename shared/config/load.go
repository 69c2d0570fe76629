package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/callsign-dev/callsign/shared/callpolicy"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/imapi"
	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/trtcapi"
)

// Accepted values of the enumerated settings.
var (
	stages          = []string{"local", "dev", "staging", "prod"}
	secretSources   = []string{"env", "aws-secretsmanager", "aws-ssm", "tencent-ssm"}
	verifierNames   = []string{"cloudbase", "session", "jwt", "gateway", "dev"}
	userIDModes     = []string{"raw", "hash"}
	roomTypes       = []string{"string", "numeric"}
	limiters        = []string{"memory", "redis", "dynamodb"}
	limiterFailures = []string{"local", "open", "closed"}
	logLevels       = []string{"debug", "info", "warn", "error"}
	enforcements    = []string{"off", "audit", "enforce"}
	unknownRooms    = []string{"ignore", "audit", "dismiss"}
	policyFailures  = []string{"open", "closed"}
	jwtAlgorithms   = []string{"HS256", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// maxUserSigTTL is the signing core's policy cap (180 days, the console
// generator's default).
const maxUserSigTTL = 15552000 * time.Second

// Length bounds of CALLSIGN_USER_ID_PREFIX and of a TRTC callback key
// (the TRTC console's rule).
const (
	maxUserIDPrefixLen = 16
	maxCallbackKeyLen  = 32
)

// Load reads the configuration from the process environment and validates
// it. Unknown CALLSIGN_* variables are rejected, so a misspelt variable
// stops start-up instead of being silently ignored, and only CALLSIGN_*
// variables are read.
func Load() (Config, error) {
	var c Config
	if err := checkKnown(os.Environ()); err != nil {
		return Config{}, err
	}
	// Every field's envconfig tag is its whole variable name, prefix
	// included, so envconfig.Process runs with no prefix and reads exactly
	// that name. With a prefix it would also fall back to the tag's name
	// without the prefix (an unset CALLSIGN_TRTC_REGION would read
	// TRTC_REGION), and split_words naming costs two regular-expression
	// matches per field on every start.
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if len(c.Verifiers) == 0 && c.Stage == "local" {
		c.Verifiers = []string{"dev"}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks what envconfig cannot: non-empty required values, ranges
// and combinations. Every problem is reported, each naming its variable.
// Where a constructor of the service, the identity verifiers or the token
// keys has a rule of its own, Validate applies that same rule (its bound or
// its check function), so a configuration that callsign config accepts also
// starts callsign serve and every function.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, envName(field), fmt.Sprintf(format, args...)))
	}
	oneOf := func(field, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			bad(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	between := func(field string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			bad(field, "%s is outside %s..%s", d, lo, hi)
		}
	}

	oneOf("Stage", c.Stage, stages)
	oneOf("LogLevel", c.LogLevel, logLevels)
	if c.HTTPAddr == "" {
		bad("HTTPAddr", "must not be empty")
	}

	oneOf("SecretSource", c.SecretSource, secretSources)
	switch c.SecretSource {
	case "env":
		if c.Stage != "local" {
			bad("SecretSource", "env is for local development only (CALLSIGN_STAGE=local); use a managed store in %s", c.Stage)
		}
		if c.SecretKey != "" && c.SDKAppID == 0 {
			bad("SDKAppID", "required with CALLSIGN_SECRET_SOURCE=env")
		}
		if c.TokenKey != "" && len(c.TokenKey) < token.MinKeyBytes {
			bad("TokenKey", "must be at least %d bytes (e.g. openssl rand -hex 32)", token.MinKeyBytes)
		}
	case "aws-secretsmanager", "aws-ssm", "tencent-ssm":
		if c.SecretName == "" {
			bad("SecretName", "required with CALLSIGN_SECRET_SOURCE=%s", c.SecretSource)
		}
		for _, f := range []struct{ name, v string }{{"SecretKey", c.SecretKey}, {"PreviousSecretKey", c.PreviousSecretKey}, {"TokenKey", c.TokenKey}, {"WechatAppSecret", c.WechatAppSecret}} {
			if f.v != "" {
				bad(f.name, "must not be set with a managed secret source; put it in the stored secret")
			}
		}
		if c.SecretSource == "tencent-ssm" && c.SecretVersion == "" {
			bad("SecretVersion", "required with tencent-ssm (user-defined secrets have no current label)")
		}
		if c.SecretSource == "aws-ssm" && c.SecretVersion != "" {
			// GetParameter has no version field; ignoring the setting would
			// leave the operator believing a version is pinned.
			bad("SecretVersion", "not used with aws-ssm; pin a version or label with a selector in %s_SECRET_NAME, e.g. /callsign/prod/trtc:3", Prefix)
		}
	}
	if c.SecretEndpoint != "" {
		// The store answers with the secret itself.
		secureURL(bad, "SecretEndpoint", c.SecretEndpoint)
	}
	between("SecretCacheTTL", c.SecretCacheTTL, time.Second, 24*time.Hour)

	if c.WechatAPIBaseURL == "" {
		bad("WechatAPIBaseURL", "must not be empty")
	} else if err := loopback.CheckURL(c.WechatAPIBaseURL); err != nil {
		// code2Session sends the AppSecret in the query string.
		bad("WechatAPIBaseURL", "%v", err)
	} else if u, _ := url.Parse(c.WechatAPIBaseURL); u.RawQuery != "" || u.ForceQuery {
		bad("WechatAPIBaseURL", "must not carry a query")
	}
	between("WechatTimeout", c.WechatTimeout, 100*time.Millisecond, 30*time.Second)

	if len(c.Verifiers) == 0 {
		bad("Verifiers", "at least one verifier is required outside the local stage (e.g. cloudbase,session)")
	}
	seen := map[string]bool{}
	for _, v := range c.Verifiers {
		if seen[v] {
			bad("Verifiers", "%q listed twice", v)
		}
		seen[v] = true
		oneOf("Verifiers", v, verifierNames)
	}
	if seen["dev"] && c.Stage != "local" {
		bad("Verifiers", "the dev verifier trusts a header naming the user; it is allowed only with CALLSIGN_STAGE=local")
	}
	if seen["dev"] && c.HTTPAddr != "" && !loopback.Addr(c.HTTPAddr) {
		// Anyone who can reach the server could mint a UserSig for any user.
		bad("HTTPAddr", "the dev verifier trusts a header naming the user; listen on a loopback address such as 127.0.0.1:8080 or [::1]:8080, never on all interfaces")
	}
	if seen["cloudbase"] && c.WechatAppID == "" {
		bad("WechatAppID", "required by the cloudbase verifier (WX_APPID must equal it)")
	}
	if seen["jwt"] {
		if c.JWTIssuer == "" {
			bad("JWTIssuer", "required by the jwt verifier")
		}
		if c.JWTAudience == "" {
			bad("JWTAudience", "required by the jwt verifier")
		}
		if c.JWTIssuer == token.Issuer {
			bad("JWTIssuer", "%q is reserved for callsign's own session tokens", token.Issuer)
		}
		if (c.JWTSecret == "") == (c.JWTJwksURL == "") {
			bad("JWTJwksURL", "set exactly one of CALLSIGN_JWT_JWKS_URL and CALLSIGN_JWT_SECRET for the jwt verifier")
		}
		if c.JWTSecret != "" && len(c.JWTSecret) < identity.MinHS256SecretBytes {
			bad("JWTSecret", "must be at least %d bytes", identity.MinHS256SecretBytes)
		}
		if c.JWTJwksURL != "" {
			if err := loopback.CheckURL(c.JWTJwksURL); err != nil {
				bad("JWTJwksURL", "%v", err)
			}
		}
		known := true
		for _, a := range c.JWTAlgorithms {
			oneOf("JWTAlgorithms", a, jwtAlgorithms)
			known = known && slices.Contains(jwtAlgorithms, a)
		}
		if known {
			if _, err := identity.AllowedJWTAlgorithms(c.JWTAlgorithms, c.JWTSecret != "", c.JWTJwksURL != ""); err != nil {
				bad("JWTAlgorithms", "%v", err)
			}
		}
		between("JWTLeeway", c.JWTLeeway, 0, 5*time.Minute)
		if c.JWTSubjectClaim == "" {
			bad("JWTSubjectClaim", "must not be empty")
		}
	}
	if seen["gateway"] && c.GatewaySubjectClaim == "" {
		bad("GatewaySubjectClaim", "must not be empty")
	}
	oneOf("UserIDMode", c.UserIDMode, userIDModes)
	if len(c.UserIDPrefix) > maxUserIDPrefixLen || !onlyBytes(c.UserIDPrefix, "_-") {
		bad("UserIDPrefix", "must be at most 16 characters of A-Z a-z 0-9 _ -")
	} else if slices.Contains(userIDModes, c.UserIDMode) {
		if _, err := identity.NewDeriver(c.UserIDMode, c.UserIDPrefix); err != nil {
			bad("UserIDPrefix", "%v", err)
		}
	}
	between("SessionTTL", c.SessionTTL, time.Minute, 30*24*time.Hour)

	between("UserSigMaxTTL", c.UserSigMaxTTL, time.Minute, maxUserSigTTL)
	between("UserSigTTL", c.UserSigTTL, time.Minute, c.UserSigMaxTTL)
	between("PrivateMapKeyTTL", c.PrivateMapKeyTTL, time.Minute, 7*24*time.Hour)
	between("InviteTTL", c.InviteTTL, 10*time.Second, time.Hour)
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"UserSigTTL", c.UserSigTTL}, {"UserSigMaxTTL", c.UserSigMaxTTL}, {"PrivateMapKeyTTL", c.PrivateMapKeyTTL}, {"InviteTTL", c.InviteTTL}, {"SessionTTL", c.SessionTTL}} {
		if d.v%time.Second != 0 {
			bad(d.field, "must be a whole number of seconds")
		}
	}
	if c.MaxInvitees < 1 || c.MaxInvitees > service.MaxMaxInvitees {
		// The service's own bound: a call token must stay far below
		// token.MaxLength.
		bad("MaxInvitees", "%d is outside 1..%d", c.MaxInvitees, service.MaxMaxInvitees)
	}
	oneOf("RoomType", c.RoomType, roomTypes)
	for _, o := range c.AllowedOrigins {
		if !validOrigin(o) {
			bad("AllowedOrigins", "%q is not an origin like https://example.com", o)
		}
	}

	oneOf("Limiter", c.Limiter, limiters)
	switch c.Limiter {
	case "redis":
		if c.RedisURL == "" {
			bad("RedisURL", "required with CALLSIGN_LIMITER=redis")
		} else {
			validURL(bad, "RedisURL", c.RedisURL, "redis", "rediss")
		}
	case "dynamodb":
		if c.DynamodbTable == "" {
			bad("DynamodbTable", "required with CALLSIGN_LIMITER=dynamodb")
		}
	}
	if c.DynamodbEndpoint != "" {
		secureURL(bad, "DynamodbEndpoint", c.DynamodbEndpoint)
	}
	if _, err := ratelimit.ParsePolicies(c.RateLimits, ratelimit.DefaultPolicies()); err != nil {
		bad("RateLimits", "%v", err)
	}
	if c.LimiterTimeout != 0 {
		between("LimiterTimeout", c.LimiterTimeout, time.Millisecond, 5*time.Second)
	}
	oneOf("LimiterFailure", c.LimiterFailure, limiterFailures)

	c.validateEnforcement(bad, oneOf)
	c.validateOperator(bad, oneOf)

	if len(errs) > 0 {
		return fmt.Errorf("config: invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

// validateEnforcement checks the call-enforcement settings.
func (c *Config) validateEnforcement(bad func(string, string, ...any), oneOf func(string, string, []string)) {
	oneOf("CallEnforcement", c.CallEnforcement, enforcements)
	oneOf("CallUnknownRoom", c.CallUnknownRoom, unknownRooms)
	if c.CallUnknownRoom == "dismiss" && c.Limiter == "memory" && c.Stage != "local" {
		// With an in-instance store, a call created on another instance
		// looks unknown here: dismissing would end legitimate calls.
		bad("CallUnknownRoom", "dismiss needs a shared store (CALLSIGN_LIMITER=redis or dynamodb) outside the local stage")
	}
	if c.TRTCCallbackKey != "" {
		if c.SecretSource != "env" {
			bad("TRTCCallbackKey", "must not be set with a managed secret source; put trtcCallbackKey in the stored secret")
		} else if len(c.TRTCCallbackKey) > maxCallbackKeyLen || !onlyBytes(c.TRTCCallbackKey, "") {
			bad("TRTCCallbackKey", "must be 1-32 letters and digits (the TRTC console's rule)")
		}
	}
	if c.TRTCRegion == "" {
		bad("TRTCRegion", "must not be empty")
	}
	if _, _, err := trtcapi.ParseEndpoint(c.TRTCAPIEndpoint); err != nil {
		bad("TRTCAPIEndpoint", "%s", strings.TrimPrefix(err.Error(), "trtcapi: "))
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"IMAdminIDs", c.IMAdminIDs}, {"CallServiceUsers", c.CallServiceUsers}, {"IMAdminUser", []string{c.IMAdminUser}}} {
		for _, id := range f.ids {
			if !identity.ValidUserID(id) {
				bad(f.name, "%q is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)", truncate(id, 40))
			}
		}
	}
}

// validateOperator checks the IM REST and call-policy settings.
func (c *Config) validateOperator(bad func(string, string, ...any), oneOf func(string, string, []string)) {
	if err := imapi.CheckBaseURL(c.IMAPIBaseURL); err != nil {
		bad("IMAPIBaseURL", "%s", strings.TrimPrefix(err.Error(), "imapi: "))
	}
	oneOf("CallPolicyFailure", c.CallPolicyFailure, policyFailures)
	if c.CallPolicyURL != "" {
		if err := callpolicy.CheckURL(c.CallPolicyURL); err != nil {
			bad("CallPolicyURL", "%s", strings.TrimPrefix(err.Error(), "callpolicy: "))
		}
		if c.SecretSource == "env" && c.CallPolicyKey == "" {
			bad("CallPolicyKey", "required with CALLSIGN_CALL_POLICY_URL and the env secret source")
		}
	}
	if c.CallPolicyKey != "" {
		if c.SecretSource != "env" {
			bad("CallPolicyKey", "must not be set with a managed secret source; put callPolicyKey in the stored secret")
		} else if len(c.CallPolicyKey) < token.MinKeyBytes {
			bad("CallPolicyKey", "must be at least %d bytes (e.g. openssl rand -hex 32)", token.MinKeyBytes)
		}
	}
}

// onlyBytes reports whether every byte of s is an ASCII letter, an ASCII
// digit or one of the bytes of extra. (Plain loops, not regular
// expressions: compiling those at package initialisation cost every cold
// start about half a millisecond.)
func onlyBytes(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// truncate shortens a value quoted in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// SlogLevel returns LogLevel as a slog.Level (info when unset or unknown).
func (c *Config) SlogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// KeyPrefix returns LimiterKeyPrefix, or "callsign:<stage>:" when unset.
func (c *Config) KeyPrefix() string {
	if c.LimiterKeyPrefix != "" {
		return c.LimiterKeyPrefix
	}
	return "callsign:" + c.Stage + ":"
}

// StoreTimeout returns LimiterTimeout, or the default deadline of the
// configured backend (ratelimit.DefaultTimeout) when it is unset.
func (c *Config) StoreTimeout() time.Duration {
	if c.LimiterTimeout != 0 {
		return c.LimiterTimeout
	}
	return ratelimit.DefaultTimeout(c.Limiter)
}

// HasVerifier reports whether name is among the enabled verifiers.
func (c *Config) HasVerifier(name string) bool { return slices.Contains(c.Verifiers, name) }

// secureURL reports a value that is not an https URL, or an http URL to a
// loopback host (a local stand-in), as loopback.CheckURL decides. Signed
// requests and the answers of a secret store must not cross a network in
// clear text.
func secureURL(bad func(string, string, ...any), field, raw string) {
	if err := loopback.CheckURL(raw); err != nil {
		bad(field, "%v", err)
	}
}

func validURL(bad func(string, string, ...any), field, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		// Never echo the value: it may carry a password (redis URLs).
		bad(field, "must be a URL with scheme %s and a host", strings.Join(schemes, " or "))
	}
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}
