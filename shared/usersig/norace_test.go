//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it; this file is not built with -race.

package usersig

import (
	"strings"
	"testing"
	"time"
)

// TestSignAllocations: signing allocates only the returned string, for every
// kind of ticket, at the longest and the shortest inputs.
func TestSignAllocations(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("u", MaxUserIDLen)
	strRoom := StringRoom(strings.Repeat("r", MaxStrRoomLen))
	cases := map[string]func(){
		"UserSig":                     func() { _, _ = s.UserSig(long, MaxTTL, testNow) },
		"UserSig short":               func() { _, _ = s.UserSig("u", time.Second, testNow) },
		"PrivateMapKey numeric":       func() { _, _ = s.PrivateMapKey(long, MaxTTL, testNow, NumericRoom(MaxRoomID), PrivAll) },
		"PrivateMapKey numeric short": func() { _, _ = s.PrivateMapKey("u", time.Second, testNow, NumericRoom(1), 0) },
		"PrivateMapKey string":        func() { _, _ = s.PrivateMapKey(long, MaxTTL, testNow, strRoom, PrivAll) },
		"PrivateMapKey string short":  func() { _, _ = s.PrivateMapKey("u", time.Second, testNow, StringRoom("r"), 0) },
	}
	for name, f := range cases {
		f() // warm the pool
		if got := testing.AllocsPerRun(200, f); got != 1 {
			t.Errorf("%s: %v allocs per ticket, want 1", name, got)
		}
	}
}

// TestInflateSignedAllocations: inflating the stream of a ticket callsign
// signed allocates nothing: the document is part of the stream's bytes.
func TestInflateSignedAllocations(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := s.PrivateMapKey(strings.Repeat("u", MaxUserIDLen), MaxTTL, testNow, StringRoom(strings.Repeat("r", MaxStrRoomLen)), PrivAll)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tencentBase64().DecodeString(ticket)
	if err != nil {
		t.Fatal(err)
	}
	if got := testing.AllocsPerRun(100, func() { _, _ = inflate(raw) }); got != 0 {
		t.Errorf("%v allocs per inflate, want 0", got)
	}
}
