// Package config is callsign's configuration: one struct loaded from
// CALLSIGN_* environment variables with github.com/kelseyhightower/envconfig,
// then checked by Validate for what envconfig cannot express.
package config

import "time"

// Prefix is the environment variable prefix: every variable Config reads
// starts with Prefix + "_".
const Prefix = "CALLSIGN"

// Config is the whole configuration of a callsign function or local server.
// Every field's envconfig tag is the whole name of its variable, prefix
// included (RedisURL is read from CALLSIGN_REDIS_URL and never from an
// unprefixed REDIS_URL); Load passes envconfig no prefix of its own.
type Config struct {
	// Stage is the deployment stage: local, dev, staging or prod. It prefixes
	// shared rate-limit keys and appears in logs.
	Stage string `envconfig:"CALLSIGN_STAGE" default:"local" desc:"deployment stage: local, dev, staging or prod"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `envconfig:"CALLSIGN_LOG_LEVEL" default:"info" desc:"log level: debug, info, warn, error"`
	// HTTPAddr is where the local server listens (callsign serve, make run).
	HTTPAddr string `envconfig:"CALLSIGN_HTTP_ADDR" default:"127.0.0.1:8080" desc:"listen address of the local server"`

	// SDKAppID is the TRTC SDKAppID; required unless the secret is a JSON
	// document carrying sdkAppID (then both must agree when both are set).
	SDKAppID uint32 `envconfig:"CALLSIGN_SDK_APP_ID" desc:"TRTC SDKAppID (optional when the stored secret is JSON with sdkAppID)"`

	// SecretSource names where the signing secret comes from.
	SecretSource string `envconfig:"CALLSIGN_SECRET_SOURCE" default:"env" desc:"env (local only), aws-secretsmanager, aws-ssm or tencent-ssm"`
	// SecretKey is the TRTC secret key for SecretSource=env only.
	SecretKey string `envconfig:"CALLSIGN_SECRET_KEY" secret:"true" desc:"TRTC secret key (env source only; local development)"`
	// PreviousSecretKey is the previous TRTC key for SecretSource=env only.
	PreviousSecretKey string `envconfig:"CALLSIGN_PREVIOUS_SECRET_KEY" secret:"true" desc:"previous TRTC key, still accepted when verifying (env source only)"`
	// TokenKey is a separate session/call token key for SecretSource=env only.
	TokenKey string `envconfig:"CALLSIGN_TOKEN_KEY" secret:"true" desc:"separate HMAC key for session and call tokens (env source only)"`
	// SecretName is the secret ID/ARN (Secrets Manager), parameter name (SSM)
	// or SecretName (Tencent SSM).
	SecretName string `envconfig:"CALLSIGN_SECRET_NAME" desc:"secret name or ARN in the managed store"`
	// SecretVersion is the AWS version stage (default AWSCURRENT) or the
	// Tencent SSM VersionId (required for tencent-ssm).
	SecretVersion string `envconfig:"CALLSIGN_SECRET_VERSION" desc:"AWS version stage, or Tencent SSM VersionId (required for tencent-ssm)"`
	// SecretRegion is the Tencent Cloud region of the SSM secret; defaults to
	// TENCENTCLOUD_REGION. AWS sources use the SDK's region resolution.
	SecretRegion string `envconfig:"CALLSIGN_SECRET_REGION" desc:"Tencent Cloud region for tencent-ssm (default: TENCENTCLOUD_REGION)"`
	// SecretEndpoint overrides the store's endpoint (tests, VPC endpoints).
	SecretEndpoint string `envconfig:"CALLSIGN_SECRET_ENDPOINT" desc:"endpoint override for the secret store (https; http only to a loopback host)"`
	// SecretCacheTTL is how long a fetched secret is served before a refresh.
	SecretCacheTTL time.Duration `envconfig:"CALLSIGN_SECRET_CACHE_TTL" default:"10m" desc:"how long a fetched secret is cached"`

	// WechatAppID is the mini-program AppID: CloudBase WX_APPID must equal it,
	// and code2Session uses it.
	WechatAppID string `envconfig:"CALLSIGN_WECHAT_APP_ID" desc:"WeChat mini-program AppID (CloudBase WX_APPID must match)"`
	// WechatAppSecret is the mini-program AppSecret for SecretSource=env only.
	WechatAppSecret string `envconfig:"CALLSIGN_WECHAT_APP_SECRET" secret:"true" desc:"WeChat AppSecret (env source only)"`
	// WechatAPIBaseURL is the code2Session base URL.
	WechatAPIBaseURL string `envconfig:"CALLSIGN_WECHAT_API_BASE_URL" default:"https://api.weixin.qq.com" desc:"base URL of the WeChat API"`
	// WechatTimeout bounds one code2Session call.
	WechatTimeout time.Duration `envconfig:"CALLSIGN_WECHAT_TIMEOUT" default:"3s" desc:"timeout of one code2Session call"`

	// Verifiers lists the identity verifiers to enable; they are always
	// tried in the order cloudbase, session, jwt, gateway, dev. When unset
	// it is "dev" on the local stage and required on every other stage, so
	// a deployed function never trusts an identity source by accident.
	Verifiers []string `envconfig:"CALLSIGN_VERIFIERS" desc:"identity verifiers: cloudbase, session, jwt, gateway, dev (default dev on the local stage; required elsewhere; dev is local only)"`
	// UserIDMode is raw or hash (see DESIGN §3).
	UserIDMode string `envconfig:"CALLSIGN_USER_ID_MODE" default:"hash" desc:"userID derivation: raw or hash"`
	// UserIDPrefix is prepended to raw subjects (raw mode) or hashed IDs.
	UserIDPrefix string `envconfig:"CALLSIGN_USER_ID_PREFIX" desc:"prefix for derived userIDs"`
	// SessionTTL is the lifetime of callsign session tokens.
	SessionTTL time.Duration `envconfig:"CALLSIGN_SESSION_TTL" default:"24h" desc:"lifetime of session tokens"`

	// JWTIssuer is the required "iss" of the app's own JWTs.
	JWTIssuer string `envconfig:"CALLSIGN_JWT_ISSUER" desc:"required iss of app JWTs"`
	// JWTAudience is the required "aud" of the app's own JWTs.
	JWTAudience string `envconfig:"CALLSIGN_JWT_AUDIENCE" desc:"required aud of app JWTs"`
	// JWTSecret is the HS256 shared secret of the app's own JWTs.
	JWTSecret string `envconfig:"CALLSIGN_JWT_SECRET" secret:"true" desc:"HS256 shared secret of app JWTs"`
	// JWTJwksURL is the JWKS URL for RS256/ES256 app JWTs.
	JWTJwksURL string `envconfig:"CALLSIGN_JWT_JWKS_URL" desc:"JWKS URL for RS256/ES256 app JWTs"`
	// JWTAlgorithms is the algorithm allow-list for app JWTs.
	JWTAlgorithms []string `envconfig:"CALLSIGN_JWT_ALGORITHMS" desc:"allowed JWT algorithms (default: HS256 with a secret, RS256 and ES256 with a JWKS)"`
	// JWTLeeway tolerates clock skew on exp/nbf.
	JWTLeeway time.Duration `envconfig:"CALLSIGN_JWT_LEEWAY" default:"30s" desc:"clock-skew leeway for exp/nbf"`
	// JWTSubjectClaim names the claim that identifies the user.
	JWTSubjectClaim string `envconfig:"CALLSIGN_JWT_SUBJECT_CLAIM" default:"sub" desc:"claim holding the user subject"`
	// GatewaySubjectClaim names the authorizer claim that identifies the user.
	GatewaySubjectClaim string `envconfig:"CALLSIGN_GATEWAY_SUBJECT_CLAIM" default:"sub" desc:"API-gateway authorizer claim holding the user subject"`

	// UserSigTTL is the default UserSig lifetime.
	UserSigTTL time.Duration `envconfig:"CALLSIGN_USER_SIG_TTL" default:"24h" desc:"default UserSig lifetime"`
	// UserSigMaxTTL caps a requested ttlSeconds.
	UserSigMaxTTL time.Duration `envconfig:"CALLSIGN_USER_SIG_MAX_TTL" default:"168h" desc:"maximum UserSig lifetime a client may request"`
	// PrivateMapKeyTTL is the PrivateMapKey lifetime.
	PrivateMapKeyTTL time.Duration `envconfig:"CALLSIGN_PRIVATE_MAP_KEY_TTL" default:"2h" desc:"PrivateMapKey lifetime"`
	// InviteTTL is the call token (invitation) lifetime.
	InviteTTL time.Duration `envconfig:"CALLSIGN_INVITE_TTL" default:"120s" desc:"call token (invitation) lifetime"`
	// MaxInvitees caps the invitee list.
	MaxInvitees int `envconfig:"CALLSIGN_MAX_INVITEES" default:"8" desc:"maximum invitees per call"`
	// RoomType is string (128 random bits) or numeric (1..2147483647,
	// TUICallKit's range).
	RoomType string `envconfig:"CALLSIGN_ROOM_TYPE" default:"string" desc:"room allocation: string or numeric (1..2147483647)"`
	// ScreenShare adds the sub-stream privilege bits to call tickets.
	ScreenShare bool `envconfig:"CALLSIGN_SCREEN_SHARE" default:"false" desc:"grant screen-share (sub-stream) privileges"`
	// AllowedOrigins is the CORS allow-list; empty allows no cross-origin
	// browser requests (mini-programs send no Origin and are unaffected).
	AllowedOrigins []string `envconfig:"CALLSIGN_ALLOWED_ORIGINS" desc:"CORS allow-list of origins"`

	// Limiter is the rate-limit backend.
	Limiter string `envconfig:"CALLSIGN_LIMITER" default:"memory" desc:"rate-limit backend: memory, redis or dynamodb"`
	// RateLimits overrides per-operation policies, e.g.
	// "usersig=10/1m:20,call.create=5/1m".
	RateLimits string `envconfig:"CALLSIGN_RATE_LIMITS" desc:"per-operation limits: op=RATE/PERIOD[:BURST],..."`
	// LimiterTimeout bounds one decision against the shared store; zero
	// (unset) selects the backend's default (see StoreTimeout).
	LimiterTimeout time.Duration `envconfig:"CALLSIGN_LIMITER_TIMEOUT" desc:"deadline of one shared-store decision (default 150ms redis, 1s dynamodb)"`
	// LimiterFailure is the policy when the shared store fails: local, open or closed.
	LimiterFailure string `envconfig:"CALLSIGN_LIMITER_FAILURE" default:"local" desc:"on store failure: local, open or closed"`
	// LimiterKeyPrefix prefixes shared-store keys; defaults to "callsign:<stage>:".
	LimiterKeyPrefix string `envconfig:"CALLSIGN_LIMITER_KEY_PREFIX" desc:"shared-store key prefix (default callsign:<stage>:)"`
	// RedisURL is the redis:// or rediss:// URL for Limiter=redis.
	RedisURL string `envconfig:"CALLSIGN_REDIS_URL" secret:"url" desc:"redis:// or rediss:// URL (may carry a password)"`
	// DynamodbTable is the limits table for Limiter=dynamodb.
	DynamodbTable string `envconfig:"CALLSIGN_DYNAMODB_TABLE" desc:"DynamoDB table for rate limits"`
	// DynamodbEndpoint overrides the DynamoDB endpoint (tests).
	DynamodbEndpoint string `envconfig:"CALLSIGN_DYNAMODB_ENDPOINT" desc:"DynamoDB endpoint override (https; http only to a loopback host)"`

	// Call enforcement: TRTC room callbacks and removals (docs/enforcement.md).

	// CallEnforcement is what a room-entry verdict does: off, audit or enforce.
	CallEnforcement string `envconfig:"CALLSIGN_CALL_ENFORCEMENT" default:"audit" desc:"TRTC room-callback verdicts: off, audit (log only) or enforce (remove users)"`
	// CallUnknownRoom is what 101/103 for a room callsign did not allocate
	// does: ignore, audit or dismiss.
	CallUnknownRoom string `envconfig:"CALLSIGN_CALL_UNKNOWN_ROOM" default:"ignore" desc:"on a room callsign did not allocate: ignore, audit or dismiss (needs a shared store)"`
	// TRTCCallbackKey is the TRTC console's callback key for SecretSource=env
	// only (managed sources: trtcCallbackKey in the stored secret).
	TRTCCallbackKey string `envconfig:"CALLSIGN_TRTC_CALLBACK_KEY" secret:"true" desc:"TRTC callback key verifying Sign (env source only; else trtcCallbackKey in the secret)"`
	// TRTCRegion is the routing region of TRTC cloud API calls.
	TRTCRegion string `envconfig:"CALLSIGN_TRTC_REGION" default:"ap-guangzhou" desc:"region of TRTC cloud API calls (RemoveUser, DismissRoom)"`
	// TRTCAPIEndpoint overrides trtc.tencentcloudapi.com.
	TRTCAPIEndpoint string `envconfig:"CALLSIGN_TRTC_API_ENDPOINT" desc:"TRTC cloud API endpoint override: host, https URL, or http URL to a loopback host"`
	// IMAdminIDs are IM administrator identifiers never issued to end users
	// ("administrator" always is reserved).
	IMAdminIDs []string `envconfig:"CALLSIGN_IM_ADMIN_IDS" desc:"IM administrator identifiers never issued to users (administrator is always reserved)"`
	// CallServiceUsers are server-side room participants (cloud recording,
	// relay bots): never removed from a call's room, never issued to users.
	CallServiceUsers []string `envconfig:"CALLSIGN_CALL_SERVICE_USERS" desc:"userIDs of server-side room participants (recording bots): never removed, never issued to users"`

	// Operator controls: bans, IM REST, the call policy (docs/operators.md).

	// IMAdminUser is the IM administrator identifier callsign signs IM
	// REST calls as (kick, get_call_info, end_call); it is reserved like
	// IMAdminIDs.
	IMAdminUser string `envconfig:"CALLSIGN_IM_ADMIN_USER" default:"administrator" desc:"IM administrator callsign signs IM REST calls as (reserved: never issued to users)"`
	// IMAPIBaseURL is the IM REST host of the app's region.
	IMAPIBaseURL string `envconfig:"CALLSIGN_IM_API_BASE_URL" default:"https://console.tim.qq.com" desc:"IM REST API base URL (https; http only to loopback)"`
	// CallPolicyURL is the optional who-may-call-whom webhook.
	CallPolicyURL string `envconfig:"CALLSIGN_CALL_POLICY_URL" desc:"call-policy webhook consulted by call.create (https; http only to loopback); empty: every call allowed"`
	// CallPolicyFailure is what call.create does when the webhook gives no
	// decision: open (allow) or closed (503).
	CallPolicyFailure string `envconfig:"CALLSIGN_CALL_POLICY_FAILURE" default:"closed" desc:"when the call-policy webhook is slow, down or answers badly: open (allow) or closed (503)"`
	// CallPolicyKey is the webhook's HMAC key for SecretSource=env only
	// (managed sources: callPolicyKey in the stored secret).
	CallPolicyKey string `envconfig:"CALLSIGN_CALL_POLICY_KEY" secret:"true" desc:"HMAC key signing call-policy requests (env source only; else callPolicyKey in the secret)"`
}
