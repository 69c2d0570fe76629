package usersig

import "encoding/binary"

// adlerMod is the Adler-32 modulus (RFC 1950 §8.2).
const adlerMod = 65521

// adlerState is a running Adler-32 (RFC 1950 §8.2) over at most
// adlerShortMax bytes in all: short enough that neither unreduced sum can
// overflow a uint64, so the modulus is taken once, at the end.
type adlerState struct{ s1, s2 uint64 }

// newAdler returns the state of an empty input.
func newAdler() adlerState { return adlerState{s1: 1} }

// adler32Short returns the Adler-32 checksum of p, at most adlerShortMax
// bytes.
func adler32Short(p []byte) uint32 { return newAdler().update(p) }

// update returns the checksum of the bytes so far followed by p.
func (a adlerState) update(p []byte) uint32 {
	a = a.write(p)
	return uint32(a.s2%adlerMod)<<16 | uint32(a.s1%adlerMod)
}

// write returns the state after p. It reads eight bytes at a time and adds
// their plain and position-weighted sums with two multiplications each,
// instead of the two dependent additions per byte of hash/adler32.
func (a adlerState) write(p []byte) adlerState {
	const (
		lanes = 0x00ff00ff00ff00ff
		ones  = 0x0001000100010001
		// Weights of the even bytes (0, 2, 4, 6: 8, 6, 4, 2) and the odd
		// bytes (1, 3, 5, 7: 7, 5, 3, 1) of an 8-byte group in s2, each
		// placed so that the lane products meet in the top 16 bits.
		evenWeights = 8<<48 | 6<<32 | 4<<16 | 2
		oddWeights  = 7<<48 | 5<<32 | 3<<16 | 1
	)
	s1, s2 := a.s1, a.s2
	for len(p) >= 8 {
		x := binary.LittleEndian.Uint64(p)
		even, odd := x&lanes, x>>8&lanes
		s2 += 8*s1 + (even*evenWeights)>>48 + (odd*oddWeights)>>48
		s1 += ((even + odd) * ones) >> 48
		p = p[8:]
	}
	for _, c := range p {
		s1 += uint64(c)
		s2 += s1
	}
	return adlerState{s1, s2}
}

// adlerShortMax is the longest input adler32Short accepts. The lane sums
// stay below 2^16 for any input; s2 grows at most quadratically, far below
// 2^64 at this length. It covers the longest JSON document with room to
// spare.
const adlerShortMax = 1 << 16
