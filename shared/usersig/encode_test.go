package usersig

import (
	"bytes"
	"math/rand/v2"
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
		want := tencentBase64.AppendEncode([]byte("prefix"), src)
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
		if got, want := appendTencentBase64(nil, src), tencentBase64.AppendEncode(nil, src); !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}
