package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/token"
	"github.com/golang-jwt/jwt/v5"
)

// MaxSessionLeeway is the largest clock-skew leeway NewSession accepts.
const MaxSessionLeeway = 5 * time.Minute

// MintSession mints a callsign session token for userID: an HS256 JWT signed
// with keys.Current carrying iss "callsign", aud "callsign:session", sub
// userID, iat now, exp now+ttl and a random 128-bit jti. userID must be a
// valid TRTC userID and ttl positive.
func MintSession(keys token.Keys, userID string, now time.Time, ttl time.Duration) (tok string, expiresAt time.Time, err error) {
	if !ValidUserID(userID) {
		return "", time.Time{}, errors.New("identity: mint session: invalid userID")
	}
	if ttl <= 0 {
		return "", time.Time{}, errors.New("identity: mint session: ttl must be positive")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("identity: mint session: random jti: %w", err)
	}
	// JWT times have one-second resolution; report the expiry the token holds.
	iat := now.Truncate(time.Second)
	expiresAt = iat.Add(ttl).Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    token.Issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{token.AudienceSession},
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(expiresAt),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	tok, err = token.Sign(keys, claims)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("identity: mint session: %w", err)
	}
	return tok, expiresAt.UTC(), nil
}

// SessionOptions configures NewSession.
type SessionOptions struct {
	// Now returns the verification time; nil means time.Now.
	Now func() time.Time
	// Leeway tolerates clock skew on exp/iat; 0 to MaxSessionLeeway.
	Leeway time.Duration
}

// Session verifies callsign's own session tokens (Authorization: Bearer)
// minted by MintSession. It is safe for concurrent use.
type Session struct {
	keys   func(context.Context) (token.Keys, error)
	now    func() time.Time
	leeway time.Duration
}

// NewSession returns the session-token verifier. keys returns the current
// token keys (it is typically backed by the cached secret source) and is
// called only for tokens whose issuer is "callsign".
func NewSession(keys func(context.Context) (token.Keys, error), opts SessionOptions) (*Session, error) {
	if keys == nil {
		return nil, errors.New("identity: session verifier needs a token key source")
	}
	if opts.Leeway < 0 || opts.Leeway > MaxSessionLeeway {
		return nil, fmt.Errorf("identity: session leeway must be between 0 and %s", MaxSessionLeeway)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Session{keys: keys, now: now, leeway: opts.Leeway}, nil
}

// Verify implements Verifier. No bearer token, or a bearer token whose
// (unverified) issuer is not "callsign" ⇒ ErrNoCredentials, so the app-JWT
// verifier can take it. A callsign token that is tampered with, signed by an
// unknown key, meant for another audience (a call token) or carries an
// invalid sub ⇒ ErrUnauthenticated; an expired one ⇒ ErrExpiredCredentials.
// When the key source fails, the error wraps that failure (e.g.
// secret.ErrUnavailable) and neither identity sentinel.
func (s *Session) Verify(ctx context.Context, creds Credentials) (Identity, error) {
	tok, ok := bearerToken(creds.Authorization)
	if !ok {
		return Identity{}, fmt.Errorf("session verifier: %w", ErrNoCredentials)
	}
	if _, iss, ok := peekJWS(tok); !ok || iss != token.Issuer {
		return Identity{}, fmt.Errorf("session verifier: %w", ErrNoCredentials)
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("session verifier: loading token keys: %w", err)
	}
	var claims jwt.RegisteredClaims
	switch err := token.Verify(tok, token.AudienceSession, keys, s.now(), s.leeway, &claims); {
	case errors.Is(err, token.ErrExpired):
		return Identity{}, fmt.Errorf("session verifier: %w", ErrExpiredCredentials)
	case err != nil:
		return Identity{}, fmt.Errorf("session verifier: %w: invalid session token", ErrUnauthenticated)
	}
	if !ValidUserID(claims.Subject) {
		return Identity{}, fmt.Errorf("session verifier: %w: session token has an invalid sub", ErrUnauthenticated)
	}
	id := Identity{UserID: claims.Subject, Subject: claims.Subject, Provider: ProviderSession}
	if claims.IssuedAt != nil {
		id.IssuedAt = claims.IssuedAt.Time
	}
	return id, nil
}
