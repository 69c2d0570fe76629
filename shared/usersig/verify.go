package usersig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// Expect is what Verify checks a ticket against.
type Expect struct {
	// SDKAppID is the expected TLS.sdkappid; required.
	SDKAppID uint32
	// UserID is the expected TLS.identifier; required.
	UserID string
	// Now is the verification time; required (a zero Now is refused so that
	// a forgotten clock cannot make every ticket look fresh).
	Now time.Time
	// PrivateMapKey selects the ticket kind: false for a plain UserSig (no
	// userbuf allowed), true for a PrivateMapKey (a valid PrivateMapKey
	// userbuf required).
	PrivateMapKey bool
	// Room, when set, must equal the PrivateMapKey's room exactly.
	// Only valid with PrivateMapKey.
	Room *Room
	// Privileges, when set, must equal the PrivateMapKey's privileges
	// exactly. Only valid with PrivateMapKey.
	Privileges *Privileges
}

// Verify decodes ticket and checks it against want, trying keys in order
// (current key first, then previous keys during rotation); the first key
// whose HMAC matches wins. It returns the decoded ticket when valid.
//
// Checks run in the official libraries' order, and the first failure is
// returned: SDKAppID (ErrAppMismatch), identifier (ErrIdentifierMismatch),
// expiry (ErrExpired; valid while Now <= Time+Expire, as officially),
// userbuf kind and content (ErrUserBufMismatch), signature
// (ErrBadSignature, compared in constant time). Decoding failures wrap
// ErrMalformed; bad arguments wrap ErrInvalidInput. Like the official
// verifiers, Verify does not reject a TLS.time in the future.
//
// For a PrivateMapKey it also checks the userbuf invariants of spec §6.3:
// account == TLS.identifier, dwSdkAppid == TLS.sdkappid,
// dwExpTime == TLS.time + TLS.expire, dwAccountType == 0, privileges in
// 0..255, a valid room of the kind the version byte names (0 numeric, 1
// string), and the exact length for the version.
func Verify(ticket string, keys []string, want Expect) (*Ticket, error) {
	if err := want.validate(keys); err != nil {
		return nil, err
	}
	t, err := Decode(ticket)
	if err != nil {
		return nil, err
	}
	if t.SDKAppID != want.SDKAppID {
		return nil, fmt.Errorf("%w: ticket is for SDKAppID %d, want %d", ErrAppMismatch, t.SDKAppID, want.SDKAppID)
	}
	if t.Identifier != want.UserID {
		return nil, fmt.Errorf("%w: ticket is for another userID", ErrIdentifierMismatch)
	}
	if want.Now.Unix() > t.Time+t.Expire {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, t.ExpiresAt().UTC().Format(time.RFC3339))
	}
	if err := checkUserBuf(t, want); err != nil {
		return nil, err
	}
	content := appendContent(make([]byte, 0, 256), t.Identifier,
		strconv.AppendUint(nil, uint64(t.SDKAppID), 10), uint64(t.Time), uint64(t.Expire), userBufText(t.UserBuf))
	var sum [sha256.Size]byte
	for _, key := range keys {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(content)
		if hmac.Equal(mac.Sum(sum[:0]), t.mac[:]) {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: TLS.sig does not match any of %d key(s)", ErrBadSignature, len(keys))
}

// validate checks the arguments of Verify.
func (want *Expect) validate(keys []string) error {
	switch {
	case len(keys) == 0:
		return invalid("no verification key")
	case want.SDKAppID == 0:
		return invalid("expected SDKAppID is 0")
	case want.UserID == "":
		return invalid("expected userID is empty")
	case want.Now.IsZero():
		return invalid("verification time is zero")
	case !want.PrivateMapKey && (want.Room != nil || want.Privileges != nil):
		return invalid("room and privileges can only be expected of a PrivateMapKey")
	}
	for i, k := range keys {
		if k == "" {
			return invalid("verification key %d is empty", i)
		}
	}
	return nil
}

// userBufText is the TLS.userbuf line's value: the canonical standard base64
// of ub, or nil when the ticket has no userbuf.
func userBufText(ub []byte) []byte {
	if ub == nil {
		return nil
	}
	return base64.StdEncoding.AppendEncode(make([]byte, 0, base64.StdEncoding.EncodedLen(len(ub))), ub)
}

// checkUserBuf applies the userbuf rules of Verify.
func checkUserBuf(t *Ticket, want Expect) error {
	if !want.PrivateMapKey {
		if t.UserBuf != nil {
			return fmt.Errorf("%w: a UserSig must not carry a userbuf", ErrUserBufMismatch)
		}
		return nil
	}
	if t.UserBuf == nil {
		return fmt.Errorf("%w: ticket has no userbuf; it is not a PrivateMapKey", ErrUserBufMismatch)
	}
	pm := t.PrivateMap
	switch {
	case pm == nil:
		return fmt.Errorf("%w: userbuf is not a PrivateMapKey userbuf", ErrUserBufMismatch)
	case pm.Account != t.Identifier:
		return fmt.Errorf("%w: userbuf account differs from TLS.identifier", ErrUserBufMismatch)
	case pm.SDKAppID != t.SDKAppID:
		return fmt.Errorf("%w: userbuf SDKAppID differs from TLS.sdkappid", ErrUserBufMismatch)
	case int64(pm.ExpiresAt) != t.Time+t.Expire:
		return fmt.Errorf("%w: userbuf expiry differs from TLS.time + TLS.expire", ErrUserBufMismatch)
	case pm.AccountType != 0:
		return fmt.Errorf("%w: userbuf account type is not 0", ErrUserBufMismatch)
	case !pm.Privileges.Valid():
		return fmt.Errorf("%w: userbuf privileges exceed 255", ErrUserBufMismatch)
	case pm.Version == 1 && !pm.Room.IsString():
		// TRTC reads a version-1 userbuf as a string room; with an empty
		// room string, dwAuthID must not pass for a numeric room.
		return fmt.Errorf("%w: userbuf version 1 (string room) has an empty room string", ErrUserBufMismatch)
	}
	if pm.Room.Validate() != nil {
		// Not wrapped: ErrInvalidInput would blame the caller's arguments.
		return fmt.Errorf("%w: userbuf room is not a valid room (numeric 0, both set, or bad string)", ErrUserBufMismatch)
	}
	if want.Room != nil && *want.Room != pm.Room {
		return fmt.Errorf("%w: ticket is for room %s, want %s", ErrUserBufMismatch, pm.Room, *want.Room)
	}
	if want.Privileges != nil && *want.Privileges != pm.Privileges {
		return fmt.Errorf("%w: ticket grants privileges %s, want %s", ErrUserBufMismatch, pm.Privileges, *want.Privileges)
	}
	return nil
}
