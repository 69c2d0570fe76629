//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it; this file is not built with -race.

package usersig

import (
	"strings"
	"testing"
)

// TestSignAllocations: signing allocates only the returned string.
func TestSignAllocations(t *testing.T) {
	s, err := NewSigner(1400000000, testKey)
	if err != nil {
		t.Fatal(err)
	}
	room := StringRoom(strings.Repeat("r", 64))
	uid := strings.Repeat("u", 32)
	cases := map[string]func(){
		"UserSig":       func() { _, _ = s.UserSig(uid, MaxTTL, testNow) },
		"PrivateMapKey": func() { _, _ = s.PrivateMapKey(uid, MaxTTL, testNow, room, PrivAll) },
	}
	for name, f := range cases {
		f() // warm the pool
		if got := testing.AllocsPerRun(200, f); got != 1 {
			t.Errorf("%s: %v allocs per ticket, want 1", name, got)
		}
	}
}
