package identity

import "fmt"

// More specific errors. Each wraps one of the sentinel errors in identity.go,
// so code that only knows the sentinels still classifies them correctly.
var (
	// ErrExpiredCredentials: a correctly signed token is past its expiry. It
	// wraps ErrUnauthenticated (HTTP 401): the client should obtain a new
	// token (a new session, or a new login with its identity provider).
	ErrExpiredCredentials = fmt.Errorf("%w: credentials expired", ErrUnauthenticated)

	// ErrUnmappableSubject: the caller was verified, but its subject cannot
	// be turned into a TRTC userID (raw mode and the subject does not match
	// ^[A-Za-z0-9_-]{1,32}$ once prefixed). It wraps ErrForbidden (HTTP 403):
	// the identity is genuine but callsign will not sign for it; retrying does
	// not help, the operator has to switch to hash mode or change the prefix.
	ErrUnmappableSubject = fmt.Errorf("%w: subject cannot be mapped to a TRTC userID", ErrForbidden)
)
