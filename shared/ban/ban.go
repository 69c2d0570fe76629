// Package ban holds operator bans and credential revocations in the shared
// store of the rate limits and call records (Memory, Redis or DynamoDB).
//
// An Entry says whether a userID is banned (until a time, or until lifted)
// and when its credentials were last revoked: session and call tokens
// issued at or before RevokedAt stay refused after the ban ends. A Checker
// answers "is this user banned / is this token revoked" on every request
// from a per-instance cache of at most CacheTTL, which is the propagation
// delay of a ban to every instance.
//
// The build tag callsign.noredis leaves the Redis store (and go-redis) out.
package ban

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/identity"
)

// keyPrefix separates ban entries from the other keys of the shared store
// (after the stage prefix): rate limits are "<op>:<subject>" and call
// records "call:...", and no operation is named "ban".
const keyPrefix = "ban:user:"

// Entry is the ban state of one userID.
type Entry struct {
	// Banned is true while an operator's ban is in force (see Active).
	Banned bool `json:"banned"`
	// Until ends the ban; zero means until it is lifted (callsign unban).
	Until time.Time `json:"until,omitzero"`
	// Reason is the operator's note; it is logged, never shown to the user.
	Reason string `json:"reason,omitempty"`
	// RevokedAt is the revocation time: session and call tokens issued at
	// or before it are refused, also after the ban ends.
	RevokedAt time.Time `json:"revokedAt"`
	// Keep is when the store may forget the entry: the end of the ban or
	// the end of the longest token lifetime after RevokedAt, whichever is
	// later; zero for a ban without an end.
	Keep time.Time `json:"keep,omitzero"`
}

// Active reports whether the ban is in force at now.
func (e Entry) Active(now time.Time) bool {
	return e.Banned && (e.Until.IsZero() || now.Before(e.Until))
}

// Revoked reports whether a credential issued at issuedAt (a JWT "iat",
// whole seconds) predates the revocation. A zero issuedAt (a credential
// without an issue time) is never revoked by this check.
func (e Entry) Revoked(issuedAt time.Time) bool {
	if issuedAt.IsZero() || e.RevokedAt.IsZero() {
		return false
	}
	return !issuedAt.After(e.RevokedAt.Truncate(time.Second))
}

// Store keeps entries. Implementations are safe for concurrent use and
// honour ctx.
type Store interface {
	// Get returns the entry of userID; ok is false when there is none.
	Get(ctx context.Context, userID string) (e Entry, ok bool, err error)
	// Put stores e for userID until e.Keep (for ever when zero).
	Put(ctx context.Context, userID string, e Entry) error
}

// ErrInvalid is returned for an invalid userID or duration.
var ErrInvalid = errors.New("ban: invalid request")

// Ban bans userID at now for d (0: until lifted) and revokes every
// session and call token issued so far. retain is the longest lifetime of a
// token callsign issues; the revocation is kept at least that long after
// now. It returns the stored entry.
func Ban(ctx context.Context, s Store, userID string, d time.Duration, reason string, now time.Time, retain time.Duration) (Entry, error) {
	if !identity.ValidUserID(userID) || d < 0 || retain < 0 {
		return Entry{}, ErrInvalid
	}
	e := Entry{Banned: true, Reason: reason, RevokedAt: now.UTC()}
	if d > 0 {
		e.Until = now.Add(d).UTC()
		e.Keep = later(e.Until, now.Add(retain)).UTC()
	}
	if err := s.Put(ctx, userID, e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Unban lifts the ban of userID at now. The revocation stays: tokens
// issued before the ban remain refused. found is false when userID had no
// entry (nothing was written).
func Unban(ctx context.Context, s Store, userID string, now time.Time, retain time.Duration) (found bool, err error) {
	if !identity.ValidUserID(userID) || retain < 0 {
		return false, ErrInvalid
	}
	e, ok, err := s.Get(ctx, userID)
	if err != nil || !ok {
		return false, err
	}
	e.Banned, e.Until = false, time.Time{}
	e.Keep = later(now, e.RevokedAt.Add(retain)).UTC()
	if !now.Before(e.Keep) {
		e.Keep = now.Add(time.Second).UTC()
	}
	return true, s.Put(ctx, userID, e)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// decode parses a stored entry.
func decode(b []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("ban: stored entry is not valid JSON: %w", err)
	}
	return e, nil
}
