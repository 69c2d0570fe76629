package usersig

import (
	"math"
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
//	go test -run '^$' -bench '^BenchmarkSign$//ratio' -count 10 ./shared/usersig/

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

// BenchmarkSign signs every kind of ticket with callsign and with the
// official library. Per kind, "callsign" and "official" are plain
// benchmarks of one side each; "ratio" alternates the two (see benchRatio)
// and reports the speed-up as x.
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

// ratioRound is how many tickets each side signs in turn in one iteration of
// a ratio benchmark: long enough that each side's round pays for the garbage
// collection its own allocations cause, and that the microsecond CPU clock
// and cache warm-up cost nothing; short enough for dozens of rounds a second.
const ratioRound = 2048

// ratioHist is a histogram of per-round speed-ups on a log scale, ratioRes
// bins per unit of ln(x), covering x from e^-4 to e^4 (about 55); fixed-size
// so that measuring allocates nothing.
type ratioHist [2 * ratioBins]uint32

const (
	ratioRes  = 400          // bins per unit of ln(x): 0.25 % wide
	ratioBins = 4 * ratioRes // bins on each side of x = 1
)

func (h *ratioHist) add(x float64) {
	i := int(math.Floor(math.Log(x)*ratioRes)) + ratioBins
	h[min(max(i, 0), len(h)-1)]++
}

// median returns the x at the middle of the recorded batches.
func (h *ratioHist) median() float64 {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	var seen uint64
	for i, c := range h {
		if seen += uint64(c); 2*seen >= n {
			return math.Exp((float64(i-ratioBins) + 0.5) / ratioRes)
		}
	}
	return math.NaN()
}

// benchRatio alternates rounds of ratioRound official tickets and
// ratioRound callsign tickets, each round after a forced garbage collection
// so that neither side is charged for collecting the other's garbage, and
// reports x, the median over rounds of official CPU time ÷ callsign CPU
// time. CPU time (cpuTime: the whole process, so a side's round includes the
// background collection its allocations trigger) is not inflated by other
// processes taking the CPU, and the median ignores the rounds something
// else distorted. callsign-ns and official-ns are each side's mean CPU ns per
// ticket, and x-mean is their ratio. ns/op (wall time, forced collections
// included), B/op and allocs/op are per pair of tickets (one of each side).
func benchRatio(b *testing.B, k signKind) {
	var hist ratioHist
	var ours, official time.Duration
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	n := 0
	round := func(sign func() (string, error)) time.Duration {
		runtime.GC()
		t0 := cpuTime()
		for range ratioRound {
			if _, err := sign(); err != nil {
				b.Fatal(err)
			}
		}
		return cpuTime() - t0
	}
	for b.Loop() {
		off := round(k.official)
		cs := round(k.callsign)
		if cs > 0 {
			hist.add(float64(off) / float64(cs))
		}
		official += off
		ours += cs
		n += ratioRound
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(hist.median(), "x")
	b.ReportMetric(float64(official)/float64(ours), "x-mean")
	b.ReportMetric(float64(ours)/float64(n), "callsign-ns")
	b.ReportMetric(float64(official)/float64(n), "official-ns")
	b.ReportMetric(float64(b.Elapsed())/float64(n), "ns/op")
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

// BenchmarkVerifySigned verifies the ticket callsign signs for the inputs of
// BenchmarkVerify (a stored-block zlib stream instead of Node's level 6).
func BenchmarkVerifySigned(b *testing.B) {
	v := loadVectors(b)[3]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	ticket := v.sign(b, s)
	room := v.room(b)
	want := Expect{SDKAppID: v.App, UserID: v.UID, Now: v.now(), PrivateMapKey: true, Room: &room}
	keys := []string{v.Key}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(ticket, keys, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSigned decodes the ticket callsign signs for the inputs of
// BenchmarkDecode.
func BenchmarkDecodeSigned(b *testing.B) {
	v := loadVectors(b)[0]
	s, err := NewSigner(v.App, v.Key)
	if err != nil {
		b.Fatal(err)
	}
	ticket := v.sign(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(ticket); err != nil {
			b.Fatal(err)
		}
	}
}
