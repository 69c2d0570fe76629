package usersig

import (
	"errors"
	"testing"
	"time"
)

// fuzzSeeds are the eight nodeUserSig strings, the two Go-official strings
// and a few near misses.
func fuzzSeeds(t testing.TB) []string {
	seeds := []string{goV1, goV4, "", "_", "eJw_", goV1[:40]}
	for _, v := range loadVectors(t) {
		seeds = append(seeds, v.NodeUserSig)
	}
	return seeds
}

// sentinelOf reports whether err wraps one of the package's errors.
func sentinelOf(err error) bool {
	for _, s := range []error{ErrInvalidInput, ErrMalformed, ErrAppMismatch, ErrIdentifierMismatch, ErrExpired, ErrUserBufMismatch, ErrBadSignature} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ticket string) {
		tk, err := Decode(ticket)
		if err != nil {
			if tk != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, %v: want nil and an ErrMalformed", tk, err)
			}
			return
		}
		if tk.Version != Version || len(tk.Sig) != 44 || tk.Time < 0 || tk.Expire < 0 {
			t.Fatalf("accepted an invalid ticket: %+v", tk)
		}
		if tk.PrivateMap != nil && tk.UserBuf == nil {
			t.Fatal("PrivateMap without UserBuf")
		}
		// appendUserBuf derives the version byte from the room, so only a
		// version-1 userbuf with an empty room string cannot round-trip.
		if pm := tk.PrivateMap; pm != nil && !(pm.Version == 1 && pm.Room.Str == "") {
			if back := appendUserBuf(nil, pm); string(back) != string(tk.UserBuf) {
				t.Fatalf("userbuf does not round-trip: %x vs %x", back, tk.UserBuf)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	vs := loadVectors(f)
	for i, s := range fuzzSeeds(f) {
		v := vs[i%len(vs)]
		f.Add(s, v.UID, v.App, v.T+v.Exp, v.pmk())
	}
	keys := []string{vs[0].Key, vs[1].Key, vs[2].Key}
	f.Fuzz(func(t *testing.T, ticket, userID string, app uint32, now int64, pmk bool) {
		if now == 0 {
			now = 1
		}
		want := Expect{SDKAppID: app, UserID: userID, Now: time.Unix(now, 0), PrivateMapKey: pmk}
		tk, err := Verify(ticket, keys, want)
		if err != nil {
			if tk != nil || !sentinelOf(err) {
				t.Fatalf("Verify = %v, %v: want nil and a package error", tk, err)
			}
			return
		}
		if tk.SDKAppID != app || tk.Identifier != userID || now > tk.Time+tk.Expire || (tk.UserBuf != nil) != pmk {
			t.Fatalf("accepted a ticket that does not match: %+v for %+v", tk, want)
		}
		if pmk && (tk.PrivateMap == nil || int64(tk.PrivateMap.ExpiresAt) != tk.Time+tk.Expire || tk.PrivateMap.Account != userID ||
			(tk.PrivateMap.Version == 1) != tk.PrivateMap.Room.IsString()) {
			t.Fatalf("accepted a PrivateMapKey with a bad userbuf: %+v", tk.PrivateMap)
		}
	})
}
