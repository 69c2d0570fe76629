package service

import (
	"context"
	"crypto/subtle"
	"sync/atomic"

	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// material is what one secret value yields: a Signer and the token keys.
type material struct {
	sdkAppID uint32
	key      []byte // secretKey
	prevKey  []byte // previousSecretKey
	tokenKey []byte // tokenKey
	signer   *usersig.Signer
	tokens   token.Keys
}

// matches reports whether m was built from sec. Secret bytes are compared
// in constant time.
func (m *material) matches(sec *secret.Secret) bool {
	eq := subtle.ConstantTimeCompare(m.key, []byte(sec.SecretKey)) &
		subtle.ConstantTimeCompare(m.prevKey, []byte(sec.PreviousSecretKey)) &
		subtle.ConstantTimeCompare(m.tokenKey, []byte(sec.TokenKey))
	return m.sdkAppID == sec.SDKAppID && eq == 1
}

// signerCache keeps the material of the most recent secret value so that a
// Signer is built once per secret, not per request, and is replaced as soon
// as the Source yields a different value (a rotation).
type signerCache struct {
	cur atomic.Pointer[material]
}

// material loads the current secret and returns its material. A Source
// failure is a 503; a secret the signing core refuses is a 500 (the
// operator must fix the stored value).
func (s *Service) material(ctx context.Context) (*material, *Error) {
	sec, err := s.secrets.Load(ctx)
	if err != nil {
		e := wrapErr(CodeUnavailable, msgSecretDown, err)
		s.logCause(ctx, "loading the signing secret failed", e)
		return nil, e
	}
	if m := s.signers.cur.Load(); m != nil && m.matches(&sec) {
		return m, nil
	}
	signer, err := usersig.NewSigner(sec.SDKAppID, sec.SecretKey)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "the signing secret is unusable", e)
		return nil, e
	}
	m := &material{
		sdkAppID: sec.SDKAppID,
		key:      []byte(sec.SecretKey),
		prevKey:  []byte(sec.PreviousSecretKey),
		tokenKey: []byte(sec.TokenKey),
		signer:   signer,
		tokens:   token.KeysFor(s.stage, sec.TokenKey, sec.SecretKey, sec.PreviousSecretKey),
	}
	// Concurrent rebuilds for the same value are harmless: each result is
	// equivalent, and the last store wins.
	s.signers.cur.Store(m)
	return m, nil
}
