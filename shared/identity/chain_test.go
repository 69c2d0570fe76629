package identity

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// stubVerifier returns fixed results and counts calls.
type stubVerifier struct {
	id    Identity
	err   error
	calls int
}

func (s *stubVerifier) Verify(context.Context, Credentials) (Identity, error) {
	s.calls++
	return s.id, s.err
}

func noCreds() *stubVerifier { return &stubVerifier{err: fmt.Errorf("stub: %w", ErrNoCredentials)} }

func ok(user string) *stubVerifier {
	return &stubVerifier{id: Identity{UserID: user, Subject: user, Provider: "stub"}}
}

func TestChain(t *testing.T) {
	storeDown := errors.New("secret store down")
	tests := []struct {
		name      string
		vs        []*stubVerifier
		wantUser  string
		wantIs    error
		wantText  string
		wantCalls []int
	}{
		{"first success wins", []*stubVerifier{ok("a"), ok("b")}, "a", nil, "", []int{1, 0}},
		{"no credentials falls through", []*stubVerifier{noCreds(), ok("b")}, "b", nil, "", []int{1, 1}},
		{"all no credentials", []*stubVerifier{noCreds(), noCreds()}, "", ErrUnauthenticated, "identity: unauthenticated: identity: no credentials", []int{1, 1}},
		{"unauthenticated stops", []*stubVerifier{{err: fmt.Errorf("v: %w: bad token", ErrUnauthenticated)}, ok("b")}, "", ErrUnauthenticated, "v: identity: unauthenticated: bad token", []int{1, 0}},
		{"other error stops", []*stubVerifier{{err: storeDown}, ok("b")}, "", storeDown, "secret store down", []int{1, 0}},
		{"both sentinels stop", []*stubVerifier{{err: fmt.Errorf("%w %w", ErrNoCredentials, ErrUnauthenticated)}, ok("b")}, "", ErrUnauthenticated, "identity: no credentials identity: unauthenticated", []int{1, 0}},
		{"invalid identity refused", []*stubVerifier{ok("not valid!")}, "", nil, "identity: verifier returned an invalid identity", []int{1}},
		{"empty chain", nil, "", ErrUnauthenticated, "identity: unauthenticated: identity: no credentials", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := make([]Verifier, 0, len(tt.vs)+1)
			for _, v := range tt.vs {
				vs = append(vs, v)
			}
			vs = append(vs, nil) // nil entries are ignored
			id, err := Chain(vs...).Verify(context.Background(), Credentials{})
			if tt.wantText == "" {
				if err != nil || id.UserID != tt.wantUser {
					t.Fatalf("got %+v, %v; want user %q", id, err, tt.wantUser)
				}
			} else {
				if err == nil || err.Error() != tt.wantText {
					t.Fatalf("err = %v, want %q", err, tt.wantText)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.wantIs)
				}
				if id != (Identity{}) {
					t.Fatalf("identity returned with error: %+v", id)
				}
			}
			for i, want := range tt.wantCalls {
				if tt.vs[i].calls != want {
					t.Errorf("verifier %d called %d times, want %d", i, tt.vs[i].calls, want)
				}
			}
		})
	}
}
