// Package token mints and verifies the short-lived JWTs that callsign itself
// issues: session tokens (after a wx.login code exchange) and call tokens
// (signed invitations). Both are HS256 JWTs made with
// github.com/golang-jwt/jwt/v5; each kind has its own audience so one can
// never stand in for the other, and every key is derived per deployment
// stage so a token never crosses stages.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Audiences of the tokens callsign mints. They are distinct from each other
// and from anything an app's own identity provider would use.
const (
	AudienceSession = "callsign:session"
	AudienceCall    = "callsign:call"
)

// Issuer is the "iss" claim of every token callsign mints.
const Issuer = "callsign"

// keyLabel prefixes the HMAC label that derives a stage's token key from
// secret material: the label ends with the stage, so the same TRTC key (or
// the same configured token key) yields unrelated token keys in dev and
// prod, and a token minted by one stage never verifies in another. v1
// labels carried no stage.
const keyLabel = "callsign/token-key/v2/stage="

// MaxLength is the longest token string Verify will parse.
const MaxLength = 4096

// MinKeyBytes is the shortest HMAC key Sign uses and Verify accepts, the
// size of the SHA-256 output (RFC 7518 §3.2). Derived keys have exactly
// this length; a configured token key must have at least this many bytes.
const MinKeyBytes = 32

// Errors returned by Verify. Their text never contains the token.
var (
	// ErrInvalid: malformed, tampered, wrong algorithm, wrong audience or
	// issuer, or signed by an unknown key.
	ErrInvalid = errors.New("token: invalid")
	// ErrExpired: well-formed and correctly signed, but past its expiry.
	ErrExpired = errors.New("token: expired")
)

// errCritical is the key lookup's refusal of a "crit" header; Verify
// reports it as ErrInvalid.
var errCritical = errors.New("token: unsupported critical header parameters")

// Keys holds the HMAC keys for minting (Current) and verifying (Current,
// then each Previous during a rotation).
type Keys struct {
	Current  []byte
	Previous [][]byte
}

// DeriveKey derives the token key of stage from secret (a TRTC secret key
// or a configured token key): HMAC-SHA256(key=secret,
// msg="callsign/token-key/v2/stage=" + stage). The TRTC key itself never
// signs a JWT.
func DeriveKey(secret, stage string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(keyLabel + stage))
	return m.Sum(nil)
}

// KeysFor builds the Keys of stage from secret material: derived from
// tokenKey when configured, otherwise from secretKey; while tokenKey is
// configured a key derived from secretKey still verifies (tokens minted
// before the token key was introduced), and previousSecretKey (if any) adds
// a derived verification key so tokens minted before a TRTC key rotation
// still verify. Every key is bound to stage, so tokens never cross stages
// even when the stages share their secrets.
//
// It fails closed, returning no keys at all (Sign fails, Verify rejects
// every token), for an empty stage or a tokenKey shorter than MinKeyBytes.
// An empty secret never yields a key (a key derived from "" would be
// public): with neither tokenKey nor secretKey, Current is empty.
func KeysFor(stage, tokenKey, secretKey, previousSecretKey string) Keys {
	var k Keys
	if stage == "" || (tokenKey != "" && len(tokenKey) < MinKeyBytes) {
		return k
	}
	switch {
	case tokenKey != "":
		k.Current = DeriveKey(tokenKey, stage)
		if secretKey != "" {
			k.Previous = append(k.Previous, DeriveKey(secretKey, stage))
		}
	case secretKey != "":
		k.Current = DeriveKey(secretKey, stage)
	}
	if previousSecretKey != "" {
		k.Previous = append(k.Previous, DeriveKey(previousSecretKey, stage))
	}
	return k
}

// Claims is implemented by the claim structs this package mints. Embedding
// jwt.RegisteredClaims satisfies it.
type Claims interface {
	jwt.Claims
}

// Sign mints an HS256 token for claims with keys.Current, which must be at
// least MinKeyBytes long. The caller sets
// the registered claims (audience, subject, expiry); Sign does not change them.
func Sign(keys Keys, claims Claims) (string, error) {
	if len(keys.Current) == 0 {
		return "", errors.New("token: no signing key")
	}
	if len(keys.Current) < MinKeyBytes {
		return "", fmt.Errorf("token: signing key shorter than %d bytes", MinKeyBytes)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(keys.Current)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return s, nil
}

// Verify parses tokenString into claims, requiring HS256, no "crit" header
// parameter, exactly one audience equal to audience, issuer Issuer, an
// expiry, and a signature by one of keys (current first, then previous);
// keys shorter than MinKeyBytes are ignored. now is the verification time;
// leeway tolerates clock skew on exp/nbf/iat. ErrExpired is returned only
// for a token that would be valid in every other respect; any other
// failure, alone or together with expiry, is ErrInvalid.
func Verify(tokenString, audience string, keys Keys, now time.Time, leeway time.Duration, claims Claims) error {
	if tokenString == "" || len(tokenString) > MaxLength || audience == "" {
		return ErrInvalid
	}
	set := jwt.VerificationKeySet{}
	for _, k := range append([][]byte{keys.Current}, keys.Previous...) {
		if len(k) >= MinKeyBytes {
			set.Keys = append(set.Keys, k)
		}
	}
	if len(set.Keys) == 0 {
		return ErrInvalid
	}
	checks := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(audience),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	parser := jwt.NewParser(append(checks, jwt.WithTimeFunc(func() time.Time { return now }))...)
	_, err := parser.ParseWithClaims(tokenString, claims, func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			// callsign never mints critical extensions and understands
			// none (RFC 7515 §4.1.11).
			return nil, errCritical
		}
		return set, nil
	})
	switch {
	case err == nil:
		if !singleAudience(claims) {
			return ErrInvalid
		}
		return nil
	case errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenSignatureInvalid) &&
		singleAudience(claims) && validAtExpiry(claims, checks):
		// jwt/v5 checks the signature before the claims, so an expiry
		// error means a known key signed this token; validAtExpiry makes
		// sure expiry is its only fault (jwt joins every claim error, so
		// an expired token of another audience would also match here).
		return ErrExpired
	default:
		return ErrInvalid
	}
}

// singleAudience reports whether claims name exactly one audience, so that a
// token listing several audiences can never stand in for more than one kind.
func singleAudience(claims Claims) bool {
	aud, err := claims.GetAudience()
	return err == nil && len(aud) == 1
}

// validAtExpiry reports whether claims, already parsed from a correctly
// signed token, pass every check at the last instant before they expire
// (jwt treats exp itself as expired), i.e. whether expiry is their only fault.
func validAtExpiry(claims Claims, checks []jwt.ParserOption) bool {
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return false
	}
	at := exp.Time.Add(-time.Nanosecond)
	return jwt.NewValidator(append(checks, jwt.WithTimeFunc(func() time.Time { return at }))...).Validate(claims) == nil
}
