package usersig

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// The official Go library, github.com/tencentyun/tls-sig-api-v2-golang
// v1.4.0, is a test-only dependency: the oracle here and the baseline of the
// benchmarks. No function binary links it (functions.TestBinariesLinkNoTestTools).

// officialCases is how many random inputs each cross-check runs.
const officialCases = 3000

// officialSign signs c's inputs with the official library.
func officialSign(c oracleCase) (string, error) {
	switch c.Kind {
	case "usersig":
		return tencentyun.GenUserSig(int(c.App), c.Key, c.UID, int(c.Exp))
	case "pmk":
		return tencentyun.GenPrivateMapKey(int(c.App), c.Key, c.UID, int(c.Exp), c.Room.(uint32), c.Priv)
	default:
		return tencentyun.GenPrivateMapKeyWithStringRoomID(int(c.App), c.Key, c.UID, int(c.Exp), c.Room.(string), c.Priv)
	}
}

// caseRoom is c's room as a Room.
func caseRoom(c oracleCase) Room {
	if r, ok := c.Room.(string); ok {
		return StringRoom(r)
	}
	return NumericRoom(c.Room.(uint32))
}

// withinOneSecond runs gen, which reads the real clock itself, until the
// clock shows the same Unix second before and after it, and returns its
// ticket and that second: the TLS.time the ticket carries. Only the real
// clock is involved, and the test compares instants relative to it.
func withinOneSecond(t *testing.T, gen func() (string, error)) (string, time.Time) {
	t.Helper()
	for range 10 {
		before := time.Now().Unix()
		ticket, err := gen()
		if err != nil {
			t.Fatalf("official library: %v", err)
		}
		if time.Now().Unix() == before {
			return ticket, time.Unix(before, 0)
		}
	}
	t.Fatal("every attempt straddled a second boundary")
	return "", time.Time{}
}

// TestOfficialVerifiesOurTickets: the official verifier accepts every
// callsign ticket for its inputs until Time+Expire, and refuses it a second
// later and under another key.
func TestOfficialVerifiesOurTickets(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261203, 12))
	for i, c := range randomCases(t, rng, officialCases) {
		var ub []byte
		if c.Kind != "usersig" {
			tk, err := Decode(c.Ours)
			if err != nil {
				t.Fatalf("case %d: Decode(ours): %v", i, err)
			}
			ub = tk.UserBuf
		}
		verify := func(key string, now int64) error {
			if ub == nil {
				return tencentyun.VerifyUserSig(uint64(c.App), key, c.UID, c.Ours, time.Unix(now, 0))
			}
			return tencentyun.VerifyUserSigWithBuf(uint64(c.App), key, c.UID, c.Ours, time.Unix(now, 0), ub)
		}
		if err := verify(c.Key, c.T+c.Exp); err != nil {
			t.Fatalf("case %d (%s): official verifier refused our ticket: %v", i, c.Kind, err)
		}
		if err := verify(c.Key, c.T+c.Exp+1); !errors.Is(err, tencentyun.ErrExpired) {
			t.Fatalf("case %d (%s): a second after expiry: %v, want ErrExpired", i, c.Kind, err)
		}
		if err := verify(c.Key+"x", c.T); !errors.Is(err, tencentyun.ErrSigNotMatch) {
			t.Fatalf("case %d (%s): another key: %v, want ErrSigNotMatch", i, c.Kind, err)
		}
	}
}

// TestOurVerifierAcceptsOfficialTickets: for the same inputs and the same
// TLS.time, callsign's ticket is byte-identical to the official library's,
// and Verify accepts the official ticket with exactly its room and
// privileges until Time+Expire.
func TestOurVerifierAcceptsOfficialTickets(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261203, 21))
	for i, c := range randomCases(t, rng, officialCases) {
		official, now := withinOneSecond(t, func() (string, error) { return officialSign(c) })
		s, err := NewSigner(c.App, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		ttl := time.Duration(c.Exp) * time.Second
		want := Expect{SDKAppID: c.App, UserID: c.UID, Now: now.Add(ttl)}
		var ours string
		if c.Kind == "usersig" {
			ours, err = s.UserSig(c.UID, ttl, now)
		} else {
			room, priv := caseRoom(c), Privileges(c.Priv)
			ours, err = s.PrivateMapKey(c.UID, ttl, now, room, priv)
			want.PrivateMapKey, want.Room, want.Privileges = true, &room, &priv
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if ours != official {
			t.Fatalf("case %d (%s): outputs differ\nofficial %s\nours     %s", i, c.Kind, official, ours)
		}
		tk, err := Verify(official, []string{"not-the-key", c.Key}, want)
		if err != nil {
			t.Fatalf("case %d (%s): Verify(official ticket): %v", i, c.Kind, err)
		}
		if tk.Time != now.Unix() || tk.Expire != c.Exp || tk.Identifier != c.UID || tk.SDKAppID != c.App {
			t.Fatalf("case %d: decoded %+v", i, tk)
		}
		want.Now = want.Now.Add(time.Second)
		if _, err := Verify(official, []string{c.Key}, want); !errors.Is(err, ErrExpired) {
			t.Fatalf("case %d (%s): a second after expiry: %v, want ErrExpired", i, c.Kind, err)
		}
	}
}
