package usersig

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestAppendTencentBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.UintN(256))
		}
		got := appendTencentBase64([]byte("prefix"), src)
		want := tencentBase64().AppendEncode([]byte("prefix"), src)
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d: got %s, want %s", n, got, want)
		}
	}
}

func FuzzAppendTencentBase64(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Add([]byte{0xfb, 0xff})
	f.Fuzz(func(t *testing.T, src []byte) {
		if got, want := appendTencentBase64(nil, src), tencentBase64().AppendEncode(nil, src); !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}

// TestAppendDec32 compares appendDec32 with strconv at every digit-count
// boundary and the extremes.
func TestAppendDec32(t *testing.T) {
	vals := []uint32{0, math.MaxUint32, math.MaxUint32 - 1, 1700000000, 15552000}
	for p := uint64(1); p <= 1e9; p *= 10 {
		vals = append(vals, uint32(p-1), uint32(p), uint32(p+1))
	}
	for _, v := range vals {
		if got, want := string(appendDec32([]byte("x"), v)), "x"+strconv.FormatUint(uint64(v), 10); got != want {
			t.Errorf("appendDec32(%d) = %q, want %q", v, got, want)
		}
	}
}

func FuzzAppendDec32(f *testing.F) {
	f.Add(uint32(1700000000))
	f.Fuzz(func(t *testing.T, v uint32) {
		if got, want := string(appendDec32(nil, v)), strconv.FormatUint(uint64(v), 10); got != want {
			t.Fatalf("appendDec32(%d) = %q, want %q", v, got, want)
		}
	})
}
