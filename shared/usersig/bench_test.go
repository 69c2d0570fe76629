package usersig

import (
	"testing"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// Benchmarks. Run them all in one go so the ratios are measured together:
//
//	go test -run '^$' -bench . -benchmem ./shared/usersig/

// The official library (v1.4.0, test-only) runs as the baseline in the same
// benchmark, as the "official" sub-benchmark: GenUserSig and
// GenPrivateMapKey read the clock themselves, which costs them one or two
// time.Now calls that callsign's signer (given now) does not make.

func BenchmarkUserSig(b *testing.B) {
	v := loadVectors(b)[0]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("callsign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.UserSig(v.UID, v.ttl(), v.now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("official", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tencentyun.GenUserSig(int(v.App), v.Key, v.UID, int(v.Exp)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPrivateMapKey(b *testing.B) {
	v := loadVectors(b)[3]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	room := v.room(b)
	if room.IsString() {
		b.Fatal("vector 3 must have a numeric room")
	}
	b.Run("callsign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.PrivateMapKey(v.UID, v.ttl(), v.now(), room, Privileges(v.Priv)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("official", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tencentyun.GenPrivateMapKey(int(v.App), v.Key, v.UID, int(v.Exp), room.ID, v.Priv); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUserSigParallel(b *testing.B) {
	v := loadVectors(b)[0]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("callsign", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.UserSig(v.UID, v.ttl(), v.now()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("official", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := tencentyun.GenUserSig(int(v.App), v.Key, v.UID, int(v.Exp)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkVerify verifies the Node V4 PrivateMapKey (zlib level 6) with one
// key: callsign's Verify, and the official verifier given the expected
// userbuf.
func BenchmarkVerify(b *testing.B) {
	v := loadVectors(b)[3]
	room := v.room(b)
	want := Expect{SDKAppID: v.App, UserID: v.UID, Now: v.now(), PrivateMapKey: true, Room: &room}
	tk, err := Decode(v.NodeUserSig)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("callsign", func(b *testing.B) {
		keys := []string{v.Key}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Verify(v.NodeUserSig, keys, want); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("official", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := tencentyun.VerifyUserSigWithBuf(uint64(v.App), v.Key, v.UID, v.NodeUserSig, v.now(), tk.UserBuf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	v := loadVectors(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(v.NodeUserSig); err != nil {
			b.Fatal(err)
		}
	}
}
