package identity

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// Derivation modes accepted by NewDeriver (CALLSIGN_USER_ID_MODE).
const (
	// ModeRaw uses prefix+subject as the userID when it is a valid TRTC
	// userID and refuses the subject otherwise.
	ModeRaw = "raw"
	// ModeHash maps any non-empty subject to a stable 32-character userID.
	ModeHash = "hash"
)

// MaxUserIDLength is the longest TRTC userID (and the length of every ID
// that ModeHash derives).
const MaxUserIDLength = 32

// MaxHashPrefixLength is the longest prefix ModeHash accepts. It leaves at
// least 20 base32 characters (100 bits of SHA-256) in every derived ID.
const MaxHashPrefixLength = 12

// ValidUserID reports whether s is a TRTC userID callsign will sign for:
// 1 to 32 characters from [A-Za-z0-9_-].
func ValidUserID(s string) bool {
	if len(s) == 0 || len(s) > MaxUserIDLength {
		return false
	}
	return validUserIDChars(s)
}

// validUserIDChars reports whether every byte of s is in [A-Za-z0-9_-].
func validUserIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Deriver turns a verified subject (an OpenID, a JWT "sub") into the TRTC
// userID callsign signs for. It is immutable and safe for concurrent use.
//
// ModeRaw: userID = prefix + subject, accepted only when the result matches
// ^[A-Za-z0-9_-]{1,32}$; otherwise Derive returns ErrUnmappableSubject.
//
// ModeHash: userID = prefix + the first 32-len(prefix) characters of
// lowercase(base32(SHA-256(subject))), where base32 is the RFC 4648 standard
// alphabet (a-z, 2-7 after lowercasing) and subject is hashed as its exact
// UTF-8 bytes with no normalisation. The result is always exactly 32
// characters, the same subject always yields the same ID (on every instance
// and on both clouds), and the function is a public, unkeyed hash: it
// pseudonymises the subject but is not secret. For example, with prefix
// "wx_" the subject "oAbCdEfGhIjKlMnOpQrStUvWxYz0" maps to the ID listed in
// docs/identity.md.
type Deriver struct {
	mode   string
	prefix string
}

// NewDeriver returns a Deriver for mode (ModeRaw or ModeHash) and prefix. The
// prefix must consist of [A-Za-z0-9_-]; in ModeRaw it may be at most 31
// characters, in ModeHash at most MaxHashPrefixLength.
func NewDeriver(mode, prefix string) (*Deriver, error) {
	if !validUserIDChars(prefix) {
		return nil, errors.New("identity: userID prefix may only contain A-Z, a-z, 0-9, '_' and '-'")
	}
	switch mode {
	case ModeRaw:
		if len(prefix) > MaxUserIDLength-1 {
			return nil, fmt.Errorf("identity: userID prefix is %d characters; raw mode allows at most %d", len(prefix), MaxUserIDLength-1)
		}
	case ModeHash:
		if len(prefix) > MaxHashPrefixLength {
			return nil, fmt.Errorf("identity: userID prefix is %d characters; hash mode allows at most %d", len(prefix), MaxHashPrefixLength)
		}
	default:
		return nil, fmt.Errorf("identity: unknown userID mode %q (want %q or %q)", mode, ModeRaw, ModeHash)
	}
	return &Deriver{mode: mode, prefix: prefix}, nil
}

// Mode returns the Deriver's mode.
func (d *Deriver) Mode() string { return d.mode }

// Prefix returns the Deriver's prefix.
func (d *Deriver) Prefix() string { return d.prefix }

// Derive returns the userID for subject. An empty subject, or in ModeRaw a
// subject that does not fit, gives an error wrapping ErrUnmappableSubject
// (and so ErrForbidden). The error never contains the subject.
func (d *Deriver) Derive(subject string) (string, error) {
	if subject == "" {
		return "", fmt.Errorf("derive userID: empty subject: %w", ErrUnmappableSubject)
	}
	if d.mode == ModeHash {
		sum := sha256.Sum256([]byte(subject))
		id := make([]byte, len(d.prefix), MaxUserIDLength)
		copy(id, d.prefix)
		return string(appendBase32Lower(id, sum[:], MaxUserIDLength-len(d.prefix))), nil
	}
	id := d.prefix + subject
	if !ValidUserID(id) {
		return "", fmt.Errorf("derive userID (raw mode): %w", ErrUnmappableSubject)
	}
	return id, nil
}

// base32Lower is the RFC 4648 base32 alphabet in lower case.
const base32Lower = "abcdefghijklmnopqrstuvwxyz234567"

// appendBase32Lower appends the first n characters of the RFC 4648 base32
// encoding of src, in lower case, to dst: what
// strings.ToLower(base32.StdEncoding.EncodeToString(src))[:n] gives for n at
// most the unpadded length, without importing encoding/base32, whose
// package initialisation every cold start would pay.
func appendBase32Lower(dst, src []byte, n int) []byte {
	var acc uint // the pending bits, at most 12
	bits := 0
	for _, b := range src {
		acc = acc<<8 | uint(b)
		for bits += 8; bits >= 5; bits -= 5 {
			if n == 0 {
				return dst
			}
			dst = append(dst, base32Lower[acc>>(bits-5)&31])
			n--
		}
		acc &= 1<<bits - 1
	}
	if bits > 0 && n > 0 {
		dst = append(dst, base32Lower[acc<<(5-bits)&31])
	}
	return dst
}
