package usersig

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
	"sync"
)

// tables.go holds the static tables (the base64 pair tables,
// constTicketText and adlerPrefix), generated so that package
// initialisation computes and allocates nothing; the tests recompute them.
//
//go:generate go run ./internal/gentables tables.go

// tencentAlphabet is the Tencent base64 alphabet (spec §4.2): standard
// base64 with '+' → '*' and '/' → '-'; the padding character is '_'.
const tencentAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-"

// tencentEncoding holds the Encoding tencentBase64 returns, built on first
// use: an immutable lookup table, not configuration. Building it takes
// three allocations and a loop, which package initialisation should not pay
// for.
var tencentEncoding struct {
	once sync.Once
	enc  *base64.Encoding
}

// tencentBase64 returns the Encoding that decodes (and, in tests, encodes)
// ticket text. Strict rejects non-zero padding bits.
func tencentBase64() *base64.Encoding {
	tencentEncoding.once.Do(func() {
		tencentEncoding.enc = base64.NewEncoding(tencentAlphabet).WithPadding('_').Strict()
	})
	return tencentEncoding.enc
}

// base64Pairs is a base64 encode table: for every 12-bit value, its two
// characters, the first in the low byte. With it the signing hot path
// encodes three bytes with two lookups and one 4-byte little-endian store.
type base64Pairs [4096]uint16

// tencentPairs and stdPairs (tables.go) are the pair tables of the Tencent
// and the standard alphabet: immutable lookup tables in the binary's data,
// not configuration.

// appendTencentBase64 appends the Tencent base64 encoding of src to dst. It
// produces exactly what tencentBase64().AppendEncode produces.
func appendTencentBase64(dst, src []byte) []byte {
	return tencentPairs.appendEncode(dst, src, '_')
}

// appendStdBase64 appends the standard base64 encoding of src to dst. It
// produces exactly what base64.StdEncoding.AppendEncode produces.
func appendStdBase64(dst, src []byte) []byte {
	return stdPairs.appendEncode(dst, src, '=')
}

// appendEncode appends the padded base64 encoding of src to dst, using the
// alphabet of t and the padding character pad.
func (t *base64Pairs) appendEncode(dst, src []byte, pad byte) []byte {
	n, m := len(dst), (len(src)+2)/3*4
	dst = slices.Grow(dst, m)[:n+m]
	out := dst[n:]
	// Twelve bytes (eight 12-bit halves of four groups) at a time, with two
	// 8-byte loads and two 8-byte stores; the second load reads two bytes
	// ahead, so stop while at least 14 remain.
	for len(src) >= 14 && len(out) >= 16 {
		x := binary.BigEndian.Uint64(src)
		y := binary.BigEndian.Uint64(src[6:])
		binary.LittleEndian.PutUint64(out, uint64(t[x>>52])|
			uint64(t[x>>40&0xfff])<<16|
			uint64(t[x>>28&0xfff])<<32|
			uint64(t[x>>16&0xfff])<<48)
		binary.LittleEndian.PutUint64(out[8:], uint64(t[y>>52])|
			uint64(t[y>>40&0xfff])<<16|
			uint64(t[y>>28&0xfff])<<32|
			uint64(t[y>>16&0xfff])<<48)
		src, out = src[12:], out[16:]
	}
	// Then six bytes at a time the same way, while at least 8 remain.
	for len(src) >= 8 && len(out) >= 8 {
		x := binary.BigEndian.Uint64(src)
		binary.LittleEndian.PutUint64(out, uint64(t[x>>52])|
			uint64(t[x>>40&0xfff])<<16|
			uint64(t[x>>28&0xfff])<<32|
			uint64(t[x>>16&0xfff])<<48)
		src, out = src[6:], out[8:]
	}
	for len(src) >= 3 && len(out) >= 4 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		binary.LittleEndian.PutUint32(out, uint32(t[v>>12])|uint32(t[v&0xfff])<<16)
		src, out = src[3:], out[4:]
	}
	switch len(src) {
	case 1:
		p := t[uint(src[0])<<4] // 8 bits → 12 bits
		binary.LittleEndian.PutUint32(out, uint32(p)|uint32(pad)<<16|uint32(pad)<<24)
	case 2:
		v := uint(src[0])<<16 | uint(src[1])<<8
		binary.LittleEndian.PutUint32(out, uint32(t[v>>12])|uint32(t[v&0xfff]&0xff)<<16|uint32(pad)<<24)
	}
	return dst
}
