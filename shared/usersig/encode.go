package usersig

import "encoding/base64"

// tencentAlphabet is the Tencent base64 alphabet (spec §4.2): standard
// base64 with '+' → '*' and '/' → '-'; the padding character is '_'.
const tencentAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-"

// tencentBase64 decodes (and, in tests, encodes) ticket text. It is
// immutable; Strict rejects non-zero padding bits.
var tencentBase64 = base64.NewEncoding(tencentAlphabet).WithPadding('_').Strict()

// tencentPairs maps every 12-bit value to its two Tencent base64 characters,
// so the signing hot path encodes three bytes with two table lookups. It is
// an immutable lookup table computed once, not configuration.
var tencentPairs = func() (t [4096][2]byte) {
	for v := range t {
		t[v] = [2]byte{tencentAlphabet[v>>6], tencentAlphabet[v&0x3f]}
	}
	return t
}()

// appendTencentBase64 appends the Tencent base64 encoding of src to dst. It
// produces exactly what tencentBase64.AppendEncode produces.
func appendTencentBase64(dst, src []byte) []byte {
	n := len(src) / 3 * 3
	for i := 0; i < n; i += 3 {
		v := uint(src[i])<<16 | uint(src[i+1])<<8 | uint(src[i+2])
		hi, lo := tencentPairs[v>>12], tencentPairs[v&0xfff]
		dst = append(dst, hi[0], hi[1], lo[0], lo[1])
	}
	switch len(src) - n {
	case 1:
		v := uint(src[n]) << 4 // 8 bits → 12 bits
		p := tencentPairs[v]
		dst = append(dst, p[0], p[1], '_', '_')
	case 2:
		v := uint(src[n])<<16 | uint(src[n+1])<<8
		hi, lo := tencentPairs[v>>12], tencentPairs[v&0xfff]
		dst = append(dst, hi[0], hi[1], lo[0], '_')
	}
	return dst
}
