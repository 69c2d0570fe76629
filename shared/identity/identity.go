// Package identity decides who is asking. A Verifier turns the credentials a
// transport saw (a bearer token, the CloudBase invocation context, API-gateway
// authorizer claims, or in local development a header) into a verified
// Identity whose UserID is the only TRTC userID callsign will sign for.
package identity

import (
	"context"
	"errors"
	"time"
)

// Provider names, as reported in Identity.Provider and in logs.
const (
	ProviderCloudBase = "cloudbase"
	ProviderSession   = "session"
	ProviderJWT       = "jwt"
	ProviderGateway   = "gateway"
	ProviderDev       = "dev"
)

// Identity is a verified caller.
type Identity struct {
	// UserID is the TRTC userID derived from the verified subject. It always
	// matches ^[A-Za-z0-9_-]{1,32}$.
	UserID string
	// Subject is the verified subject the UserID was derived from (an OpenID,
	// a JWT "sub"). It is personal data: do not log it.
	Subject string
	// Provider names the verifier that accepted the credentials.
	Provider string
	// IssuedAt is when callsign issued the credential (a session token's
	// "iat"); zero for credentials callsign did not issue. An operator's
	// revocation refuses credentials issued at or before it.
	IssuedAt time.Time
}

// CloudBaseContext is the trusted per-invocation WeChat context that the
// Tencent SCF Go1 runtime passes in InvokeRequest.Environment for a
// wx.cloud.callFunction call. Only the SCF adapter sets it, and only from
// that invocation's Environment, never from the process environment or the
// payload.
type CloudBaseContext struct {
	OpenID  string // WX_OPENID
	AppID   string // WX_APPID
	UnionID string // WX_UNIONID, may be empty
	Source  string // SOURCE, e.g. "wx_client"; may be empty
}

// Credentials is everything a transport saw that may prove who is asking.
// Transports fill what they have; verifiers read only their own part.
type Credentials struct {
	// Authorization is the raw Authorization header value, if any.
	Authorization string
	// DevUser is the X-Callsign-User header, honoured only by the dev verifier.
	DevUser string
	// CloudBase is set only by the SCF Go1 adapter for callFunction payloads.
	CloudBase *CloudBaseContext
	// GatewayClaims are the AWS HTTP API JWT authorizer claims
	// (requestContext.authorizer.jwt.claims), set only by the Lambda adapter.
	GatewayClaims map[string]string
	// ClientIP is the caller's address as the platform reports it; used to
	// rate-limit failed authentication.
	ClientIP string
}

// Verifier verifies one kind of credential.
type Verifier interface {
	// Verify returns the verified identity. It returns an error wrapping
	// ErrNoCredentials when the credentials carry nothing this verifier
	// handles (so a chain may try the next verifier), and an error wrapping
	// ErrUnauthenticated when they carry something that fails verification.
	Verify(ctx context.Context, c Credentials) (Identity, error)
}

// Errors that verifiers and the WeChat client wrap. The service maps them to
// the API's error codes; their text never contains a credential.
var (
	// ErrNoCredentials: nothing this verifier understands was presented.
	ErrNoCredentials = errors.New("identity: no credentials")
	// ErrUnauthenticated: credentials were presented and failed verification.
	ErrUnauthenticated = errors.New("identity: unauthenticated")
	// ErrForbidden: the identity is known but refused (e.g. WeChat 40226).
	ErrForbidden = errors.New("identity: forbidden")
	// ErrRateLimited: the upstream identity provider refused for rate (WeChat 45011).
	ErrRateLimited = errors.New("identity: upstream rate limited")
	// ErrUnavailable: the upstream identity provider could not be reached or was busy.
	ErrUnavailable = errors.New("identity: upstream unavailable")
	// ErrMisconfigured: the provider rejected our own configuration (bad app secret, app ID).
	ErrMisconfigured = errors.New("identity: misconfigured")
)

type gatewayClaimsKey struct{}

// WithGatewayClaims returns a context carrying API-gateway authorizer claims.
// Only platform adapters call it, with claims taken from the gateway's
// request context.
func WithGatewayClaims(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, gatewayClaimsKey{}, claims)
}

// GatewayClaimsFromContext returns the claims stored by WithGatewayClaims.
func GatewayClaimsFromContext(ctx context.Context) map[string]string {
	c, _ := ctx.Value(gatewayClaimsKey{}).(map[string]string)
	return c
}
