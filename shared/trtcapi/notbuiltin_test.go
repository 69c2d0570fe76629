//go:build callsign.notrtcapi

package trtcapi

import (
	"context"
	"errors"
	"testing"
)

// TestNotBuiltIn: without the client, New refuses, and a Client that
// bypassed New still sends nothing.
func TestNotBuiltIn(t *testing.T) {
	creds := func(context.Context) (Credential, error) { return Credential{SecretID: "id", SecretKey: "key"}, nil }
	if c, err := New(Options{Credentials: creds}); c != nil || !errors.Is(err, ErrNotBuiltIn) {
		t.Fatalf("New = %v, %v; want nil, ErrNotBuiltIn", c, err)
	}
	err := (&Client{}).RemoveUsers(t.Context(), 1400000000, Room{Str: "r"}, []string{"u"})
	const want = "trtcapi: RemoveUserByStrRoomId: trtcapi: this binary was built without the TRTC cloud API client (build tag callsign.notrtcapi)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNotBuiltIn) {
		t.Fatalf("RemoveUsers = %v, want %q", err, want)
	}
}
