package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
	"unicode/utf8"
)

// Decoding limits. A legitimate ticket is under 600 characters and its
// document under 500 bytes.
const (
	// MaxTicketLen is the longest ticket text Decode accepts.
	MaxTicketLen = 8192
	// MaxDocumentLen caps the inflated JSON document (decompression bombs).
	MaxDocumentLen = 16384
)

// Version is the only TLS.ver callsign accepts and emits.
const Version = "2.0"

// Ticket is a decoded UserSig or PrivateMapKey. Decode fills it without a
// key, so nothing in it is authenticated until Verify accepts the ticket.
type Ticket struct {
	// Version is TLS.ver; always "2.0".
	Version string
	// Identifier is TLS.identifier, the userID.
	Identifier string
	// SDKAppID is TLS.sdkappid.
	SDKAppID uint32
	// Time is TLS.time, the Unix time of issue.
	Time int64
	// Expire is TLS.expire, the validity in seconds relative to Time.
	Expire int64
	// Sig is TLS.sig, the standard-base64 HMAC-SHA256 text.
	Sig string
	// UserBuf is the decoded TLS.userbuf: nil when the field is absent,
	// non-nil (possibly empty) when present.
	UserBuf []byte
	// PrivateMap is the parsed userbuf; non-nil when UserBuf is a
	// structurally valid PrivateMapKey userbuf.
	PrivateMap *PrivateMap

	mac [32]byte // decoded Sig
}

// ExpiresAt returns the instant the ticket expires: Time + Expire. Verify
// still accepts the ticket at exactly that second and rejects it one second
// later.
func (t *Ticket) ExpiresAt() time.Time { return time.Unix(t.Time+t.Expire, 0) }

// wireDoc is the JSON document with every field optional, so that missing
// fields are detected. Numbers are decoded into integers: a string-typed or
// fractional number is an error.
type wireDoc struct {
	Ver        *string `json:"TLS.ver"`
	Identifier *string `json:"TLS.identifier"`
	SDKAppID   *uint32 `json:"TLS.sdkappid"`
	Expire     *int64  `json:"TLS.expire"`
	Time       *int64  `json:"TLS.time"`
	UserBuf    *string `json:"TLS.userbuf"`
	Sig        *string `json:"TLS.sig"`
}

// inflaters pools zlib readers; a pool is shared scratch memory, not
// configuration.
var inflaters sync.Pool

// Decode decodes a ticket without a key, for inspection. It accepts the output
// of every official implementation (any zlib level, any JSON key order and
// whitespace). Errors wrap ErrBase64, ErrZlib, ErrJSON or ErrTooLarge, all
// children of ErrMalformed. The result is unauthenticated: use Verify before
// trusting any field.
func Decode(ticket string) (*Ticket, error) {
	if ticket == "" {
		return nil, fmt.Errorf("%w: empty ticket", ErrBase64)
	}
	if len(ticket) > MaxTicketLen {
		return nil, fmt.Errorf("%w: ticket is %d characters, at most %d accepted", ErrTooLarge, len(ticket), MaxTicketLen)
	}
	for i := 0; i < len(ticket); i++ {
		if !tencentBase64Byte(ticket[i]) {
			return nil, fmt.Errorf("%w: character outside A-Z a-z 0-9 * - _ at offset %d", ErrBase64, i)
		}
	}
	raw, err := tencentBase64().DecodeString(ticket)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBase64, err)
	}
	doc, err := inflate(raw)
	if err != nil {
		return nil, err
	}
	return parseDocument(doc)
}

// tencentBase64Byte reports whether c belongs to the Tencent alphabet or is
// its padding character.
func tencentBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '*' || c == '-' || c == '_'
}

// inflate decompresses one complete zlib stream that must span all of raw,
// refusing documents over MaxDocumentLen. The result may share raw's memory.
func inflate(raw []byte) ([]byte, error) {
	if doc, ok := inflateStored(raw); ok {
		return doc, nil
	}
	return inflateZlib(raw)
}

// inflateStored is inflate's fast path for the streams callsign and the
// official Go library (v1.4.0, zlib.NoCompression) write: a zlib header
// without a preset dictionary, then only stored (uncompressed) deflate
// blocks up to the final one, then an Adler-32 that matches and ends
// exactly at the end of raw. For such a stream it returns the blocks'
// concatenated payload (sharing raw's memory unless several blocks carry
// data) and true, without compress/zlib, whose reader allocates about 40 KB
// (a 32 KB window and Huffman tables) on first use. In every other case,
// including a valid stream of another form, an invalid one or a document
// over MaxDocumentLen, it returns false and inflate falls back to
// compress/zlib, so that what is accepted and every error stay exactly
// those of compress/zlib. It never modifies raw.
func inflateStored(raw []byte) ([]byte, bool) {
	// RFC 1950 §2.2: CM 8 (deflate), CINFO at most 7, FDICT clear, and
	// CMF·256+FLG a multiple of 31 (FCHECK): the checks of compress/zlib,
	// which refuses FDICT without a dictionary. raw must also be short
	// enough for adlerState (far longer than any ticket's stream).
	if len(raw) < 2 || len(raw) > adlerShortMax || raw[0]&0x0f != 8 || raw[0]>>4 > 7 || raw[1]&0x20 != 0 ||
		binary.BigEndian.Uint16(raw)%31 != 0 {
		return nil, false
	}
	// RFC 1951 §3.2.4: each block starts with BFINAL (bit 0) and BTYPE 00
	// (bits 1-2); the rest of that byte is padding, here required to be 0.
	// LEN and NLEN (its one's complement) follow, little-endian, then LEN
	// bytes.
	in := raw[2:]
	adler := newAdler()
	var doc []byte // the last non-empty payload, a part of raw
	total, parts := 0, 0
	for final := false; !final; {
		if len(in) < 5 || in[0] > 1 {
			return nil, false
		}
		final = in[0] == 1
		n := int(binary.LittleEndian.Uint16(in[1:3]))
		if binary.LittleEndian.Uint16(in[3:5]) != ^uint16(n) || len(in) < 5+n {
			return nil, false
		}
		if n > 0 {
			doc = in[5 : 5+n : 5+n]
			adler = adler.write(doc)
			total += n
			parts++
		}
		in = in[5+n:]
	}
	if len(in) != 4 || binary.BigEndian.Uint32(in) != adler.update(nil) || total > MaxDocumentLen {
		return nil, false
	}
	switch parts {
	case 0:
		return []byte{}, true
	case 1:
		return doc, true
	}
	// Several blocks carry data: copy them out, in a second pass over the
	// validated stream.
	out := make([]byte, 0, total)
	for in = raw[2:]; len(out) < total; {
		n := int(binary.LittleEndian.Uint16(in[1:3]))
		out = append(out, in[5:5+n]...)
		in = in[5+n:]
	}
	return out, true
}

// inflateZlib is inflate with compress/zlib: any valid zlib stream.
func inflateZlib(raw []byte) ([]byte, error) {
	br := bytes.NewReader(raw)
	var zr io.ReadCloser
	if pooled, ok := inflaters.Get().(io.ReadCloser); ok {
		if err := pooled.(zlib.Resetter).Reset(br, nil); err != nil {
			inflaters.Put(pooled)
			return nil, fmt.Errorf("%w: %w", ErrZlib, err)
		}
		zr = pooled
	} else {
		r, err := zlib.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrZlib, err)
		}
		zr = r
	}
	defer inflaters.Put(zr)

	doc, err := io.ReadAll(io.LimitReader(zr, MaxDocumentLen+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrZlib, err)
	}
	if len(doc) > MaxDocumentLen {
		return nil, fmt.Errorf("%w: inflated document exceeds %d bytes", ErrTooLarge, MaxDocumentLen)
	}
	if br.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the end of the zlib stream", ErrZlib, br.Len())
	}
	return doc, nil
}

// parseDocument checks and converts the inflated JSON document.
func parseDocument(doc []byte) (*Ticket, error) {
	if !utf8.Valid(doc) {
		return nil, fmt.Errorf("%w: document is not valid UTF-8", ErrJSON)
	}
	var w wireDoc
	if err := json.Unmarshal(doc, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJSON, err)
	}
	switch {
	case w.Ver == nil:
		return nil, fmt.Errorf("%w: TLS.ver is missing", ErrJSON)
	case w.Identifier == nil:
		return nil, fmt.Errorf("%w: TLS.identifier is missing", ErrJSON)
	case w.SDKAppID == nil:
		return nil, fmt.Errorf("%w: TLS.sdkappid is missing", ErrJSON)
	case w.Expire == nil:
		return nil, fmt.Errorf("%w: TLS.expire is missing", ErrJSON)
	case w.Time == nil:
		return nil, fmt.Errorf("%w: TLS.time is missing", ErrJSON)
	case w.Sig == nil:
		return nil, fmt.Errorf("%w: TLS.sig is missing", ErrJSON)
	case *w.Ver != Version:
		return nil, fmt.Errorf("%w: unsupported TLS.ver (want %q)", ErrJSON, Version)
	case *w.Time < 0 || *w.Expire < 0:
		return nil, fmt.Errorf("%w: negative TLS.time or TLS.expire", ErrJSON)
	case *w.Time > math.MaxInt64-*w.Expire:
		return nil, fmt.Errorf("%w: TLS.time + TLS.expire overflows", ErrJSON)
	}
	t := &Ticket{
		Version:    *w.Ver,
		Identifier: *w.Identifier,
		SDKAppID:   *w.SDKAppID,
		Time:       *w.Time,
		Expire:     *w.Expire,
		Sig:        *w.Sig,
	}
	if len(t.Sig) != base64.StdEncoding.EncodedLen(len(t.mac)) {
		return nil, fmt.Errorf("%w: TLS.sig is not a standard-base64 HMAC-SHA256", ErrJSON)
	}
	if n, err := base64.StdEncoding.Decode(t.mac[:], []byte(t.Sig)); err != nil || n != len(t.mac) ||
		base64.StdEncoding.EncodeToString(t.mac[:]) != t.Sig {
		return nil, fmt.Errorf("%w: TLS.sig is not a standard-base64 HMAC-SHA256", ErrJSON)
	}
	if w.UserBuf != nil {
		ub, err := base64.StdEncoding.DecodeString(*w.UserBuf)
		if err != nil {
			return nil, fmt.Errorf("%w: TLS.userbuf: %w", ErrJSON, err)
		}
		if base64.StdEncoding.EncodeToString(ub) != *w.UserBuf {
			return nil, fmt.Errorf("%w: TLS.userbuf is not canonical standard base64", ErrJSON)
		}
		if ub == nil {
			ub = []byte{}
		}
		t.UserBuf = ub
		t.PrivateMap, _ = parseUserBuf(ub)
	}
	return t, nil
}
