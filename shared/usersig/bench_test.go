package usersig

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// Benchmarks. Run them all in one go so the ratios are measured together:
//
//	go test -run '^$' -bench . -benchmem ./shared/usersig/
//
// The signing speed-up over the official library, per kind of ticket:
//
//	go test -run '^$' -bench '^BenchmarkSign$//ratio' -benchtime 1s -count 10 ./shared/usersig/

// The official library (v1.4.0, test-only) runs as the baseline in the same
// benchmark, as the "official" sub-benchmark: GenUserSig and
// GenPrivateMapKey read the clock themselves, which costs them one or two
// time.Now calls that callsign's signer (given now) does not make.

// signKind is one kind of ticket, signed by callsign and by the official
// library with the same inputs.
type signKind struct {
	name     string
	callsign func() (string, error)
	official func() (string, error)
}

// signKinds returns every kind of ticket callsign signs, each from the
// first test vector of that kind: a UserSig, a PrivateMapKey for a numeric
// room and one for a string room.
func signKinds(b *testing.B) []signKind {
	vs := loadVectors(b)
	var kinds []signKind
	for _, want := range []struct{ kind, name string }{
		{"usersig", "UserSig"},
		{"pmk", "PrivateMapKey-numeric"},
		{"pmkstr", "PrivateMapKey-string"},
	} {
		i := slices.IndexFunc(vs, func(v vector) bool { return v.Kind == want.kind })
		if i < 0 {
			b.Fatalf("no %s vector", want.kind)
		}
		v := vs[i]
		s, err := NewSigner(v.App, v.Key)
		if err != nil {
			b.Fatal(err)
		}
		room, priv := v.room(b), Privileges(v.Priv)
		k := signKind{name: want.name}
		switch want.kind {
		case "usersig":
			k.callsign = func() (string, error) { return s.UserSig(v.UID, v.ttl(), v.now()) }
			k.official = func() (string, error) {
				return tencentyun.GenUserSig(int(v.App), v.Key, v.UID, int(v.Exp))
			}
		case "pmk":
			k.callsign = func() (string, error) { return s.PrivateMapKey(v.UID, v.ttl(), v.now(), room, priv) }
			k.official = func() (string, error) {
				return tencentyun.GenPrivateMapKey(int(v.App), v.Key, v.UID, int(v.Exp), room.ID, v.Priv)
			}
		case "pmkstr":
			k.callsign = func() (string, error) { return s.PrivateMapKey(v.UID, v.ttl(), v.now(), room, priv) }
			k.official = func() (string, error) {
				return tencentyun.GenPrivateMapKeyWithStringRoomID(int(v.App), v.Key, v.UID, int(v.Exp), room.Str, v.Priv)
			}
		}
		kinds = append(kinds, k)
	}
	return kinds
}

// ratioBatch is how many tickets each side signs in turn in a ratio
// benchmark iteration: enough that the clock reads cost nothing, few enough
// that both sides see the same machine load.
const ratioBatch = 16

// BenchmarkSign signs every kind of ticket with callsign and with the
// official library. Per kind, "callsign" and "official" are plain
// benchmarks; "ratio" interleaves the two (ratioBatch official tickets, then
// ratioBatch callsign tickets, per iteration) and reports the speed-up as x
// (official time ÷ callsign time), with both sides' ns per ticket.
// Its ns/op, B/op and allocs/op are per pair of tickets (one of each side).
func BenchmarkSign(b *testing.B) {
	for _, k := range signKinds(b) {
		b.Run(k.name, func(b *testing.B) {
			b.Run("callsign", func(b *testing.B) { benchSign(b, k.callsign) })
			b.Run("official", func(b *testing.B) { benchSign(b, k.official) })
			b.Run("ratio", func(b *testing.B) { benchRatio(b, k) })
		})
	}
}

func benchSign(b *testing.B, sign func() (string, error)) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sign(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRatio(b *testing.B, k signKind) {
	var ours, official time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for range ratioBatch {
			if _, err := k.official(); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range ratioBatch {
			if _, err := k.callsign(); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		official += t1.Sub(t0)
		ours += t2.Sub(t1)
		n += ratioBatch
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(official)/float64(ours), "x")
	b.ReportMetric(float64(ours)/float64(n), "callsign-ns")
	b.ReportMetric(float64(official)/float64(n), "official-ns")
	b.ReportMetric(float64(ours+official)/float64(n), "ns/op")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(n), "B/op")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n), "allocs/op")
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
