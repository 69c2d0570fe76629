package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/callsign-dev/callsign/shared/loopback"
)

// Defaults for the JWKS cache.
const (
	// DefaultJWKSRefreshInterval is how often the JWKS is re-fetched in the
	// background.
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultJWKSUnknownKIDInterval is the minimum time between two fetches
	// triggered by a token whose kid is not cached.
	DefaultJWKSUnknownKIDInterval = time.Minute
	// DefaultJWKSTimeout bounds one JWKS fetch.
	DefaultJWKSTimeout = 5 * time.Second
	// MaxJWKSBytes bounds a JWKS response body.
	MaxJWKSBytes = 1 << 20
	// MinRSAKeyBits is the smallest RSA key accepted from a JWKS.
	MinRSAKeyBits = 2048
)

// Errors from the key lookup; they never reach callers verbatim.
var (
	errUnknownKey     = errors.New("unknown signing key")
	errUnusableKey    = errors.New("signing key unusable for this algorithm")
	errBodyTooLarge   = errors.New("identity: JWKS response too large")
	errNoKeyForMethod = errors.New("no key configured for this algorithm")
	errCriticalHeader = errors.New("unsupported critical header parameters")
)

// jwks is a cached JSON Web Key Set fetched with keyfunc/v3 (jwkset storage):
// keys are fetched once at construction, refreshed in the background every
// refresh interval, and re-fetched when a token names an unknown kid, at
// most once per unknown-kid interval. close stops the background refresh.
type jwks struct {
	storage jwkset.Storage
	cancel  context.CancelFunc
}

type jwksConfig struct {
	url                string
	client             *http.Client
	timeout            time.Duration
	refreshInterval    time.Duration
	unknownKIDInterval time.Duration
	logger             *slog.Logger
}

// checkJWKSURL accepts https URLs, and http only for loopback hosts (tests
// and local development).
func checkJWKSURL(raw string) error {
	if err := loopback.CheckURL(raw); err != nil {
		return errors.New("identity: JWKS URL must use https (plain http is allowed only for loopback)")
	}
	return nil
}

func newJWKS(c jwksConfig) (*jwks, error) {
	ctx, cancel := context.WithCancel(context.Background())
	logger := c.logger
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.url}, keyfunc.Override{
		Client:            limitedClient(c.client, MaxJWKSBytes),
		HTTPTimeout:       c.timeout,
		RefreshInterval:   c.refreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(c.unknownKIDInterval), 1),
		RateLimitWaitMax:  c.timeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "identity: JWKS refresh failed; keeping cached keys", "reason", jwksFailureReason(err))
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("identity: JWKS cache: %s", jwksFailureReason(err))
	}
	return &jwks{storage: kf.Storage(), cancel: cancel}, nil
}

// jwksFailureReason describes a JWKS fetch failure without the URL (which
// *url.Error would print and which could carry an access key).
func jwksFailureReason(err error) string {
	var ue *url.Error
	switch {
	case errors.As(err, &ue) && ue.Timeout():
		return "timeout"
	case errors.As(err, &ue):
		return "transport error"
	case errors.Is(err, jwkset.ErrInvalidHTTPStatusCode):
		return "unexpected HTTP status"
	case errors.Is(err, errBodyTooLarge):
		return "response too large"
	default:
		return "invalid JWK Set"
	}
}

func (k *jwks) close() { k.cancel() }

// key returns the verification key for a token with header alg/kid. With a
// kid it reads that key (a cache miss triggers a rate-limited refresh);
// without one it returns every cached key usable for alg.
func (k *jwks) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	rawKID, hasKID := t.Header["kid"]
	if hasKID {
		kid, ok := rawKID.(string)
		if !ok || kid == "" || len(kid) > 256 {
			return nil, errUnknownKey
		}
		jwk, err := k.storage.KeyRead(ctx, kid)
		if err != nil {
			return nil, errUnknownKey
		}
		return usableKey(jwk, alg)
	}
	all, err := k.storage.KeyReadAll(ctx)
	if err != nil {
		return nil, errUnknownKey
	}
	var set jwt.VerificationKeySet
	for _, jwk := range all {
		if key, err := usableKey(jwk, alg); err == nil {
			set.Keys = append(set.Keys, key)
		}
	}
	if len(set.Keys) == 0 {
		return nil, errUnknownKey
	}
	return set, nil
}

// usableKey returns jwk's public key when it may verify alg: "use" absent or
// "sig", "alg" absent or equal, and a key type matching the algorithm
// (RSA ≥ 2048 bits for RS*/PS*, the named curve for ES*, Ed25519 for EdDSA).
// Symmetric ("oct") keys from a JWKS are never used.
func usableKey(jwk jwkset.JWK, alg string) (any, error) {
	m := jwk.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, errUnusableKey
	}
	if m.ALG != "" && m.ALG.String() != alg {
		return nil, errUnusableKey
	}
	key := jwk.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	switch {
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		if k, ok := key.(*rsa.PublicKey); ok && k.N.BitLen() >= MinRSAKeyBits {
			return k, nil
		}
	case strings.HasPrefix(alg, "ES"):
		if k, ok := key.(*ecdsa.PublicKey); ok && k.Curve != nil && k.Curve.Params().Name == curveFor(alg) {
			return k, nil
		}
	case alg == "EdDSA":
		if k, ok := key.(ed25519.PublicKey); ok {
			return k, nil
		}
	}
	return nil, errUnusableKey
}

// curveFor returns the name of the curve an ES* algorithm requires.
func curveFor(alg string) string {
	switch alg {
	case "ES256":
		return "P-256"
	case "ES384":
		return "P-384"
	case "ES512":
		return "P-521"
	}
	return "unknown"
}

// limitedClient returns a copy of c (or a new client) that never follows a
// redirect (a 3xx is an unexpected status: the URL may carry an access
// token, and the keys must come from the configured origin) and whose
// response bodies fail after max bytes.
func limitedClient(c *http.Client, max int64) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = limitTransport{base: base, max: max}
	return &cp
}

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

// RoundTrip implements http.RoundTripper.
func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody reads at most left bytes and reports errBodyTooLarge if the
// body is longer.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

// Read implements io.Reader.
func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.left = -1
		return 0, errBodyTooLarge
	}
	b.left -= int64(n)
	return n, err
}

// Close implements io.Closer.
func (b *limitedBody) Close() error { return b.rc.Close() }
