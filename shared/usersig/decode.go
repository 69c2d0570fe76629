package usersig

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
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
// refusing documents over MaxDocumentLen.
func inflate(raw []byte) ([]byte, error) {
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
