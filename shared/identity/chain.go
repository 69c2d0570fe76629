package identity

import (
	"context"
	"errors"
	"fmt"
)

// Chain returns a Verifier that tries vs in order (nil entries are ignored).
// The first success wins. A verifier that returns an error wrapping
// ErrNoCredentials passes the request on to the next one; any other error
// (ErrUnauthenticated, ErrForbidden, a secret-store outage, …) stops the
// chain, so a bad bearer token never falls through to a weaker verifier.
// When no verifier recognises the credentials, the error wraps
// both ErrUnauthenticated and ErrNoCredentials.
//
// As a last guard, Chain refuses (with an error wrapping neither sentinel,
// i.e. an internal error) an Identity whose UserID is not a valid TRTC
// userID, so a faulty verifier can never make callsign sign for garbage.
func Chain(vs ...Verifier) Verifier {
	c := make(chain, 0, len(vs))
	for _, v := range vs {
		if v != nil {
			c = append(c, v)
		}
	}
	return c
}

type chain []Verifier

// Verify implements Verifier.
func (c chain) Verify(ctx context.Context, creds Credentials) (Identity, error) {
	for _, v := range c {
		id, err := v.Verify(ctx, creds)
		if err == nil {
			if !ValidUserID(id.UserID) || id.Provider == "" {
				return Identity{}, errors.New("identity: verifier returned an invalid identity")
			}
			return id, nil
		}
		if errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrUnauthenticated) {
			continue
		}
		return Identity{}, err
	}
	return Identity{}, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrNoCredentials)
}
