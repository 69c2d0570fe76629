package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/callsign-dev/callsign/shared/token"
	"github.com/golang-jwt/jwt/v5"
)

// Limits and defaults of the app-JWT verifier.
const (
	// DefaultMaxTokenBytes is the default longest bearer token NewJWT parses.
	DefaultMaxTokenBytes = 8192
	// MaxJWTLeeway is the largest clock-skew leeway NewJWT accepts.
	MaxJWTLeeway = 5 * time.Minute
	// MinHS256SecretBytes is the shortest HS256 secret NewJWT accepts
	// (RFC 7518 §3.2: a key of at least the hash size).
	MinHS256SecretBytes = 32
)

// asymmetricAlgorithms are the JWS algorithms NewJWT accepts with a JWKS.
func asymmetricAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

// JWTOptions configures NewJWT.
type JWTOptions struct {
	// Issuer is the required "iss" (must not be "callsign").
	Issuer string
	// Audience is the required value in "aud".
	Audience string
	// HS256Secret enables HS256 with this shared secret (≥ 32 bytes).
	HS256Secret []byte
	// JWKSURL enables asymmetric algorithms with keys from this JWK Set
	// (https; plain http only for loopback).
	JWKSURL string
	// Algorithms is the allow-list. Empty means HS256 when a secret is set
	// plus RS256 and ES256 when a JWKS is set. "none" and any HS* other than
	// HS256 are never accepted; HS256 requires HS256Secret; the asymmetric
	// algorithms require JWKSURL.
	Algorithms []string
	// Leeway tolerates clock skew on exp, nbf and iat; 0 to MaxJWTLeeway.
	Leeway time.Duration
	// MaxTokenBytes is the longest token parsed (default DefaultMaxTokenBytes).
	MaxTokenBytes int
	// SubjectClaim names the string claim holding the user (default "sub").
	SubjectClaim string
	// Now returns the verification time; nil means time.Now.
	Now func() time.Time
	// HTTPClient fetches the JWKS; nil means a default client. Its
	// transport is wrapped to cap response bodies at MaxJWKSBytes, and
	// redirects are never followed.
	HTTPClient *http.Client
	// JWKSRefreshInterval is the background refresh period (default
	// DefaultJWKSRefreshInterval).
	JWKSRefreshInterval time.Duration
	// JWKSUnknownKIDInterval is the minimum time between refreshes
	// triggered by unknown kids (default DefaultJWKSUnknownKIDInterval).
	JWKSUnknownKIDInterval time.Duration
	// JWKSTimeout bounds one JWKS fetch (default DefaultJWKSTimeout).
	JWKSTimeout time.Duration
	// Logger receives JWKS refresh failures (never a token); nil means
	// slog.Default().
	Logger *slog.Logger
}

// JWT verifies the app's own JWTs (Authorization: Bearer) with
// github.com/golang-jwt/jwt/v5: HS256 with a shared secret and/or
// asymmetric algorithms with keys from a JWKS. It is safe for concurrent use;
// call Close to stop the JWKS background refresh.
type JWT struct {
	issuer       string
	audience     string
	secret       []byte
	algorithms   []string
	leeway       time.Duration
	maxBytes     int
	subjectClaim string
	now          func() time.Time
	deriver      *Deriver
	keys         *jwks
}

// NewJWT returns the app-JWT verifier. With a JWKS URL it fetches the key
// set once before returning (a failed first fetch is logged, not fatal: the
// first token naming a kid then triggers a refresh; a token without a kid
// waits for the background refresh) and starts a background refresh that
// Close stops.
func NewJWT(opts JWTOptions, d *Deriver) (*JWT, error) {
	if d == nil {
		return nil, errors.New("identity: jwt verifier needs a userID deriver")
	}
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("identity: jwt verifier needs an issuer and an audience (CALLSIGN_JWT_ISSUER, CALLSIGN_JWT_AUDIENCE)")
	}
	if opts.Issuer == token.Issuer {
		return nil, fmt.Errorf("identity: jwt issuer %q is reserved for callsign's own session tokens", token.Issuer)
	}
	if len(opts.HS256Secret) == 0 && opts.JWKSURL == "" {
		return nil, errors.New("identity: jwt verifier needs an HS256 secret or a JWKS URL (CALLSIGN_JWT_SECRET, CALLSIGN_JWT_JWKS_URL)")
	}
	if len(opts.HS256Secret) > 0 && len(opts.HS256Secret) < MinHS256SecretBytes {
		return nil, fmt.Errorf("identity: jwt HS256 secret must be at least %d bytes", MinHS256SecretBytes)
	}
	if opts.JWKSURL != "" {
		if err := checkJWKSURL(opts.JWKSURL); err != nil {
			return nil, err
		}
	}
	algs, err := AllowedJWTAlgorithms(opts.Algorithms, len(opts.HS256Secret) > 0, opts.JWKSURL != "")
	if err != nil {
		return nil, err
	}
	if opts.Leeway < 0 || opts.Leeway > MaxJWTLeeway {
		return nil, fmt.Errorf("identity: jwt leeway must be between 0 and %s", MaxJWTLeeway)
	}
	if opts.MaxTokenBytes < 0 || opts.MaxTokenBytes > maxPeekBytes {
		return nil, fmt.Errorf("identity: jwt MaxTokenBytes must be between 1 and %d", maxPeekBytes)
	}
	j := &JWT{
		issuer:       opts.Issuer,
		audience:     opts.Audience,
		secret:       slices.Clone(opts.HS256Secret),
		algorithms:   algs,
		leeway:       opts.Leeway,
		maxBytes:     opts.MaxTokenBytes,
		subjectClaim: opts.SubjectClaim,
		now:          opts.Now,
		deriver:      d,
	}
	if j.maxBytes == 0 {
		j.maxBytes = DefaultMaxTokenBytes
	}
	if j.subjectClaim == "" {
		j.subjectClaim = "sub"
	}
	if j.now == nil {
		j.now = time.Now
	}
	if opts.JWKSURL != "" {
		cfg := jwksConfig{
			url:                opts.JWKSURL,
			client:             opts.HTTPClient,
			timeout:            positiveOr(opts.JWKSTimeout, DefaultJWKSTimeout),
			refreshInterval:    positiveOr(opts.JWKSRefreshInterval, DefaultJWKSRefreshInterval),
			unknownKIDInterval: positiveOr(opts.JWKSUnknownKIDInterval, DefaultJWKSUnknownKIDInterval),
			logger:             opts.Logger,
		}
		if cfg.logger == nil {
			cfg.logger = slog.Default()
		}
		if j.keys, err = newJWKS(cfg); err != nil {
			return nil, err
		}
	}
	return j, nil
}

func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// AllowedJWTAlgorithms returns the effective algorithm allow-list of the
// app-JWT verifier for the configured list and key sources (see
// JWTOptions.Algorithms), or why the combination is refused. NewJWT and the
// configuration check both use it, so they never disagree.
func AllowedJWTAlgorithms(list []string, haveSecret, haveJWKS bool) ([]string, error) {
	if len(list) == 0 {
		var algs []string
		if haveSecret {
			algs = append(algs, "HS256")
		}
		if haveJWKS {
			algs = append(algs, "RS256", "ES256")
		}
		return algs, nil
	}
	var algs []string
	for _, a := range list {
		switch {
		case a == "HS256":
			if !haveSecret {
				return nil, errors.New("identity: jwt algorithm HS256 needs an HS256 secret (CALLSIGN_JWT_SECRET)")
			}
		case slices.Contains(asymmetricAlgorithms(), a):
			if !haveJWKS {
				return nil, fmt.Errorf("identity: jwt algorithm %s needs a JWKS URL (CALLSIGN_JWT_JWKS_URL); for a shared secret set CALLSIGN_JWT_ALGORITHMS=HS256", a)
			}
		default:
			return nil, fmt.Errorf("identity: jwt algorithm %q is not supported (allowed: HS256 and %v)", a, asymmetricAlgorithms())
		}
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs, nil
}

// Algorithms returns the effective algorithm allow-list.
func (j *JWT) Algorithms() []string { return slices.Clone(j.algorithms) }

// Close stops the JWKS background refresh. It is safe to call more than
// once; Verify keeps working with the cached keys afterwards.
func (j *JWT) Close() error {
	if j.keys != nil {
		j.keys.close()
	}
	return nil
}

// Verify implements Verifier. No bearer token, or one whose (unverified)
// issuer is "callsign" (a session token) ⇒ ErrNoCredentials. Otherwise the
// token must be at most MaxTokenBytes, use an allowed algorithm, be signed by
// the shared secret (HS256) or a JWKS key whose type matches the algorithm,
// carry no "crit" header parameter, carry the configured iss and aud, an exp (nbf and iat honoured, with
// leeway) and a non-empty string subject claim; failures ⇒
// ErrUnauthenticated (expired ⇒ ErrExpiredCredentials). A subject the
// Deriver cannot map ⇒ ErrUnmappableSubject. Error texts name the reason
// only, never the token or its claims.
func (j *JWT) Verify(ctx context.Context, creds Credentials) (Identity, error) {
	tok, ok := bearerToken(creds.Authorization)
	if !ok {
		return Identity{}, fmt.Errorf("jwt verifier: %w", ErrNoCredentials)
	}
	if len(tok) > j.maxBytes {
		return Identity{}, j.fail("token too large")
	}
	alg, iss, ok := peekJWS(tok)
	if !ok {
		return Identity{}, j.fail("malformed token")
	}
	if iss == token.Issuer {
		return Identity{}, fmt.Errorf("jwt verifier: %w", ErrNoCredentials)
	}
	if !slices.Contains(j.algorithms, alg) {
		return Identity{}, j.fail("algorithm not allowed")
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(j.algorithms),
		jwt.WithIssuer(j.issuer),
		jwt.WithAudience(j.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(j.leeway),
		jwt.WithTimeFunc(j.now),
	)
	claims := jwt.MapClaims{}
	if _, err := parser.ParseWithClaims(tok, claims, j.keyfunc(ctx)); err != nil {
		return Identity{}, j.classify(err)
	}
	sub, _ := claims[j.subjectClaim].(string)
	if sub == "" {
		return Identity{}, j.fail("token has no non-empty string subject claim")
	}
	userID, err := j.deriver.Derive(sub)
	if err != nil {
		return Identity{}, fmt.Errorf("jwt verifier: %w", err)
	}
	return Identity{UserID: userID, Subject: sub, Provider: ProviderJWT}, nil
}

func (j *JWT) fail(reason string) error {
	return fmt.Errorf("jwt verifier: %w: %s", ErrUnauthenticated, reason)
}

// keyfunc selects the verification key: the shared secret for HS256, a JWKS
// key otherwise. The algorithm was already checked against the allow-list;
// a header with "crit" gets no key at all.
func (j *JWT) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 §4.1.11: a recipient must reject a JWS whose
			// critical extensions it does not understand; callsign
			// understands none.
			return nil, errCriticalHeader
		}
		if t.Method.Alg() == "HS256" {
			if len(j.secret) == 0 {
				return nil, errNoKeyForMethod
			}
			return j.secret, nil
		}
		if j.keys == nil {
			return nil, errNoKeyForMethod
		}
		return j.keys.key(ctx, t)
	}
}

// classify maps a jwt/v5 error to a reason. Claim problems that identify a
// foreign token (issuer, audience) are reported before expiry.
func (j *JWT) classify(err error) error {
	switch {
	case errors.Is(err, errCriticalHeader):
		return j.fail("unsupported critical header parameters")
	case errors.Is(err, errUnknownKey):
		return j.fail("unknown signing key")
	case errors.Is(err, errUnusableKey), errors.Is(err, errNoKeyForMethod):
		return j.fail("signing key does not match the algorithm")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return j.fail("malformed token")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return j.fail("invalid signature")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return j.fail("wrong issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return j.fail("wrong audience")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return j.fail("missing required claim (exp, iss or aud)")
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("jwt verifier: %w", ErrExpiredCredentials)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return j.fail("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return j.fail("token issued in the future")
	default:
		return j.fail("invalid token")
	}
}
