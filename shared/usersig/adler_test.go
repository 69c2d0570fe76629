package usersig

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32Short compares adler32Short with hash/adler32 on every length
// up to past the longest JSON document, for all-0xff (the largest sums),
// all-zero and random bytes, and on the longest accepted input.
func TestAdler32Short(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 2*maxJSONLen)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	inputs := map[string][]byte{
		"ff":     bytes.Repeat([]byte{0xff}, 2*maxJSONLen),
		"zero":   make([]byte, 2*maxJSONLen),
		"random": random,
	}
	for name, in := range inputs {
		for n := 0; n <= len(in); n++ {
			if got, want := adler32Short(in[:n]), adler32.Checksum(in[:n]); got != want {
				t.Fatalf("%s[:%d]: got %08x, want %08x", name, n, got, want)
			}
		}
	}
	long := bytes.Repeat([]byte{0xff}, adlerShortMax)
	if got, want := adler32Short(long), adler32.Checksum(long); got != want {
		t.Fatalf("%d bytes of 0xff: got %08x, want %08x", len(long), got, want)
	}
}

func FuzzAdler32Short(f *testing.F) {
	f.Add([]byte(`{"TLS.ver":"2.0"}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) > adlerShortMax {
			p = p[:adlerShortMax]
		}
		if got, want := adler32Short(p), adler32.Checksum(p); got != want {
			t.Fatalf("got %08x, want %08x", got, want)
		}
	})
}
