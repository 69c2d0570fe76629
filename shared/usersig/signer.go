// Package usersig is callsign's signing core: Tencent TRTC/IM UserSig v2
// tickets, PrivateMapKey (room permission) tickets, decoding without a key
// and verification with key rotation. It implements the byte-level contract
// of the team handbook's usersig-spec.md. It does no I/O, reads no clock
// (every function takes now) and holds no package-level configuration.
//
// Output is byte-identical to the official Go library (HEAD / v1.4.0): the
// JSON document is written in the order ver, identifier, sdkappid, expire,
// time, [userbuf], sig with a trailing newline, wrapped in a hand-written
// zlib stream of stored blocks (78 01, one stored block, an empty final
// block, Adler-32), then encoded with Tencent's base64 alphabet. No zlib
// writer is ever created; signing costs one allocation (the returned string).
package usersig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// MaxTTL is the longest ticket validity callsign signs: 180 days
// (15,552,000 s), the console default. It applies to UserSigs and
// PrivateMapKeys alike; services choose much shorter PrivateMapKey TTLs.
const MaxTTL = 15552000 * time.Second

// Pieces of the content to sign (spec §2) and of the JSON document (spec §3,
// in the official Go field order). The buffer sizes below are derived from
// them and from the input limits, so the longest ticket fits without growing.
const (
	contentIdentifier = "TLS.identifier:"
	contentSDKAppID   = "\nTLS.sdkappid:"
	contentTime       = "\nTLS.time:"
	contentExpire     = "\nTLS.expire:"
	contentUserBuf    = "TLS.userbuf:"

	jsonIdentifier = `{"TLS.ver":"2.0","TLS.identifier":"`
	jsonSDKAppID   = `","TLS.sdkappid":`
	jsonExpire     = `,"TLS.expire":`
	jsonTime       = `,"TLS.time":`
	jsonUserBuf    = `,"TLS.userbuf":"`
	jsonSig        = `,"TLS.sig":"`
	jsonEnd        = "\"}\n"
)

const (
	// maxUserBufLen is the longest userbuf callsign builds: a string room
	// with the longest userID and room.
	maxUserBufLen = 25 + MaxUserIDLen + MaxStrRoomLen
	// maxUserBuf64Len is the length of base64std of the longest userbuf.
	maxUserBuf64Len = (maxUserBufLen + 2) / 3 * 4
	// maxDigits is the length of the longest decimal uint32.
	maxDigits = 10
	// sigLen is the length of TLS.sig, base64std of an HMAC-SHA256.
	sigLen = (sha256.Size + 2) / 3 * 4
	// maxContentLen is the length of the longest content to sign.
	maxContentLen = len(contentIdentifier+contentSDKAppID+contentTime+contentExpire+"\n"+contentUserBuf+"\n") +
		MaxUserIDLen + 3*maxDigits + maxUserBuf64Len
	// maxJSONLen is the length of the longest JSON document.
	maxJSONLen = len(jsonIdentifier+jsonSDKAppID+jsonExpire+jsonTime+jsonUserBuf+`"`+jsonSig+jsonEnd) +
		MaxUserIDLen + 3*maxDigits + maxUserBuf64Len + sigLen
	// zlibHeaderLen is 78 01 plus the stored-block header 00 LEN NLEN.
	zlibHeaderLen = 7
	// zlibTrailerLen is the empty final stored block plus the Adler-32.
	zlibTrailerLen = 5 + 4
	// maxStreamLen is the length of the longest zlib stream.
	maxStreamLen = zlibHeaderLen + maxJSONLen + zlibTrailerLen
)

// The JSON document's Adler-32 is computed with adlerState, which takes at
// most adlerShortMax bytes; this fails to compile if the longest document
// were longer.
const _ = uint(adlerShortMax - maxJSONLen)

// Signer signs UserSigs and PrivateMapKeys for one SDKAppID with one secret
// key. It is safe for concurrent use. Each call reads no clock and allocates
// only the returned string: HMAC states and buffers are pooled per Signer.
//
// A Signer never prints its key: String and GoString show only the SDKAppID.
type Signer struct {
	sdkAppID uint32
	app      []byte // decimal sdkAppID
	// The runs of the content to sign and of the JSON document that hold
	// the SDKAppID, each written with one copy.
	contentApp []byte // "\nTLS.sdkappid:<app>\nTLS.time:"
	jsonApp    []byte // `","TLS.sdkappid":<app>,"TLS.expire":`
	key        []byte
	pool       sync.Pool // of *scratch
}

// scratch is the per-call working memory of a Signer. The buffers are
// arrays sized for the longest ticket, so a call only re-slices them: no
// growth, and no slice headers written back into the pooled object.
type scratch struct {
	mac     hash.Hash // HMAC-SHA256 keyed with the Signer's key
	sum     [sha256.Size]byte
	userbuf [maxUserBufLen]byte
	ub64    [maxUserBuf64Len]byte // base64std(userbuf)
	content [maxContentLen]byte   // the bytes to sign (spec §2)
	stream  [maxStreamLen]byte    // zlib stream wrapping the JSON document
}

// NewSigner returns a Signer for sdkAppID (1..4294967295) and key, the
// console secret key used as raw bytes (never hex-decoded; spec §1).
func NewSigner(sdkAppID uint32, key string) (*Signer, error) {
	if sdkAppID == 0 {
		return nil, invalid("sdkAppID must be 1..%d", uint32(math.MaxUint32))
	}
	if key == "" {
		return nil, invalid("secret key is empty")
	}
	s := &Signer{
		sdkAppID: sdkAppID,
		app:      strconv.AppendUint(nil, uint64(sdkAppID), 10),
		key:      []byte(key),
	}
	s.contentApp = append(append([]byte(contentSDKAppID), s.app...), contentTime...)
	s.jsonApp = append(append([]byte(jsonSDKAppID), s.app...), jsonExpire...)
	s.pool.New = func() any {
		return &scratch{mac: hmac.New(sha256.New, s.key)}
	}
	return s, nil
}

// SDKAppID returns the SDKAppID the Signer signs for.
func (s *Signer) SDKAppID() uint32 { return s.sdkAppID }

// String describes the Signer without its key.
func (s *Signer) String() string {
	return "usersig.Signer{SDKAppID: " + string(s.app) + "}"
}

// GoString describes the Signer without its key (for %#v).
func (s *Signer) GoString() string { return s.String() }

// UserSig returns a UserSig for userID, valid from now (truncated to whole
// seconds) for ttl. ttl must be a whole number of seconds in 1s..MaxTTL and
// now+ttl must fit a uint32 Unix time. Invalid input returns an error
// wrapping ErrInvalidInput and signs nothing.
func (s *Signer) UserSig(userID string, ttl time.Duration, now time.Time) (string, error) {
	if err := ValidateUserID(userID); err != nil {
		return "", err
	}
	t, exp, err := validity(ttl, now)
	if err != nil {
		return "", err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	return s.sign(sc, userID, t, exp, nil)
}

// PrivateMapKey returns a PrivateMapKey (room ticket) that lets userID use
// room with the privileges priv (0..255), valid from now for ttl under the
// same rules as UserSig. The userbuf's dwExpTime is the same now+ttl as the
// ticket's TLS.time+TLS.expire.
func (s *Signer) PrivateMapKey(userID string, ttl time.Duration, now time.Time, room Room, priv Privileges) (string, error) {
	if err := ValidateUserID(userID); err != nil {
		return "", err
	}
	if err := room.Validate(); err != nil {
		return "", err
	}
	if !priv.Valid() {
		return "", invalid("privileges must be 0..255, got %d", uint32(priv))
	}
	t, exp, err := validity(ttl, now)
	if err != nil {
		return "", err
	}
	sc := s.pool.Get().(*scratch)
	defer s.pool.Put(sc)
	pm := PrivateMap{
		Account:    userID,
		SDKAppID:   s.sdkAppID,
		Room:       room,
		ExpiresAt:  t + exp,
		Privileges: priv,
	}
	if room.IsString() {
		pm.Version = 1
	}
	ub := appendUserBuf(sc.userbuf[:0], &pm)
	return s.sign(sc, userID, t, exp, ub)
}

// UserSig is a convenience wrapper: NewSigner(sdkAppID, key) then UserSig.
// Services that sign repeatedly should keep a Signer.
func UserSig(sdkAppID uint32, key, userID string, ttl time.Duration, now time.Time) (string, error) {
	s, err := NewSigner(sdkAppID, key)
	if err != nil {
		return "", err
	}
	return s.UserSig(userID, ttl, now)
}

// PrivateMapKey is a convenience wrapper: NewSigner(sdkAppID, key) then
// PrivateMapKey.
func PrivateMapKey(sdkAppID uint32, key, userID string, ttl time.Duration, now time.Time, room Room, priv Privileges) (string, error) {
	s, err := NewSigner(sdkAppID, key)
	if err != nil {
		return "", err
	}
	return s.PrivateMapKey(userID, ttl, now, room, priv)
}

// validity checks ttl and now (read once) and returns TLS.time and
// TLS.expire. Both fit uint32 and so does their sum.
func validity(ttl time.Duration, now time.Time) (t, exp uint32, err error) {
	switch {
	case ttl < time.Second:
		return 0, 0, invalid("ttl must be at least 1s, got %v", ttl)
	case ttl%time.Second != 0:
		return 0, 0, invalid("ttl must be a whole number of seconds, got %v", ttl)
	case ttl > MaxTTL:
		return 0, 0, invalid("ttl must be at most %v (%d s), got %v", MaxTTL, int64(MaxTTL/time.Second), ttl)
	}
	exp = uint32(ttl / time.Second)
	unix := now.Unix()
	if unix < 1 || unix > int64(math.MaxUint32-exp) {
		return 0, 0, invalid("now must be after 1970 and now+ttl must fit a 32-bit Unix time")
	}
	return uint32(unix), exp, nil
}

// sign builds the ticket for identifier with TLS.time t, TLS.expire exp and
// the optional userbuf ub (nil: none) into sc and returns it as a string.
func (s *Signer) sign(sc *scratch, identifier string, t, exp uint32, ub []byte) (string, error) {
	if ub != nil && len(ub) == 0 {
		// An empty userbuf would sign a "TLS.userbuf:" line that no
		// verifier can reproduce (spec §8, defect 1).
		return "", invalid("empty userbuf")
	}
	var ub64 []byte
	if ub != nil {
		ub64 = appendStdBase64(sc.ub64[:0], ub)
	}
	// Both numbers appear twice (content and JSON); format them once.
	var tBuf, expBuf [maxDigits]byte
	tDec := appendDec32(tBuf[:0], t)
	expDec := appendDec32(expBuf[:0], exp)

	sc.mac.Reset() // restores the precomputed inner state (crypto/hmac)
	c := append(sc.content[:0], contentIdentifier...)
	c = append(c, identifier...)
	c = append(c, s.contentApp...)
	c = append(c, tDec...)
	c = append(c, contentExpire...)
	c = append(c, expDec...)
	c = append(c, '\n')
	if ub64 != nil {
		c = append(c, contentUserBuf...)
		c = append(c, ub64...)
		c = append(c, '\n')
	}
	sc.mac.Write(c)
	sum := sc.mac.Sum(sc.sum[:0])

	// The JSON document exactly as Go's encoding/json Encoder renders the
	// official struct (spec §10.2). The identifier is a validated userID and
	// the other strings are standard base64, so nothing needs escaping.
	z := append(sc.stream[:0], 0x78, 0x01, 0, 0, 0, 0, 0)
	z = append(z, jsonIdentifier...)
	z = append(z, identifier...)
	z = append(z, s.jsonApp...)
	z = append(z, expDec...)
	z = append(z, jsonTime...)
	z = append(z, tDec...)
	if ub64 != nil {
		z = append(z, jsonUserBuf...)
		z = append(z, ub64...)
		z = append(z, '"')
	}
	z = append(z, jsonSig...)
	z = appendStdBase64(z, sum)
	z = append(z, jsonEnd...)
	n := len(z) - zlibHeaderLen // always far below 65535
	binary.LittleEndian.PutUint16(z[3:5], uint16(n))
	binary.LittleEndian.PutUint16(z[5:7], ^uint16(n))
	z = append(z, 0x01, 0x00, 0x00, 0xff, 0xff)
	// The document starts with the constant jsonIdentifier, whose Adler-32
	// sums are precomputed.
	z = binary.BigEndian.AppendUint32(z,
		adlerPrefix.update(z[zlibHeaderLen+len(jsonIdentifier):zlibHeaderLen+n]))

	// Encode straight into the returned string's memory: the one
	// allocation, written once and never modified after the conversion.
	// Stream bytes 9..41 are constant (the end of jsonIdentifier) and start
	// on a 3-byte boundary, so their 44 characters are precomputed.
	out := make([]byte, 0, (len(z)+2)/3*4)
	out = appendTencentBase64(out, z[:constStart])
	out = append(out, constTicketText...)
	out = appendTencentBase64(out, z[constEnd:])
	return unsafe.String(unsafe.SliceData(out), len(out)), nil
}

// The constant run of every stream: stream bytes constStart..constEnd are
// jsonIdentifier after its first two bytes, 33 bytes on 3-byte boundaries.
// constTicketText (tables.go) is their Tencent base64 text.
const (
	constStart = 9
	constEnd   = zlibHeaderLen + len(jsonIdentifier)
)

// The start of constTicketText's run and its length must be multiples of 3.
const _ = uint(0 - constStart%3 - (constEnd-constStart)%3)

// appendDec32 appends the decimal form of v to dst, like strconv.AppendUint.
func appendDec32(dst []byte, v uint32) []byte {
	var b [maxDigits]byte
	i := len(b)
	for v >= 100 {
		q := v / 100
		d := (v - q*100) * 2
		i -= 2
		b[i], b[i+1] = digitPairs[d], digitPairs[d+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[v*2], digitPairs[v*2+1]
	} else {
		i--
		b[i] = byte('0' + v)
	}
	return append(dst, b[i:]...)
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// appendContent appends the bytes to sign (spec §2): identifier, sdkappid,
// time, expire and, when ub64 is non-nil, the userbuf line. Verify uses it;
// Signer.sign writes the same bytes with its precomputed runs.
func appendContent(dst []byte, identifier string, app []byte, t, exp uint64, ub64 []byte) []byte {
	dst = append(dst, contentIdentifier...)
	dst = append(dst, identifier...)
	dst = append(dst, contentSDKAppID...)
	dst = append(dst, app...)
	dst = append(dst, contentTime...)
	dst = strconv.AppendUint(dst, t, 10)
	dst = append(dst, contentExpire...)
	dst = strconv.AppendUint(dst, exp, 10)
	dst = append(dst, '\n')
	if ub64 != nil {
		dst = append(dst, contentUserBuf...)
		dst = append(dst, ub64...)
		dst = append(dst, '\n')
	}
	return dst
}
