package secret

import (
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/callsign-dev/callsign/shared/internal/testctx"
)

// scripted is the state the fake store servers share: the requests they
// saw (of type R) and the answer the test scripted for the next ones.
type scripted[R any] struct {
	mu       sync.Mutex
	requests []R
	status   int
	body     string
	block    bool
	// entered fires once a held request has been recorded.
	entered *testctx.Signal
}

// respond makes the fake answer with status and body.
func (s *scripted[R]) respond(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.block = status, body, false
}

// blockUntilCanceled makes the fake hold each request until the client
// gives up (or the server closes). The channel it returns is closed once a
// held request has been recorded: a context that ends on it
// (testctx.DeadlineOn) lets the client give up only after its request
// arrived.
func (s *scripted[R]) blockUntilCanceled() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.block = true
	s.entered = testctx.NewSignal()
	return s.entered.C()
}

// take returns and forgets the requests seen so far.
func (s *scripted[R]) take() []R {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// serve records req and writes the scripted answer; when blocking it waits
// for the request's context or done instead.
func (s *scripted[R]) serve(w http.ResponseWriter, r *http.Request, done <-chan struct{}, req R) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	status, body, block, entered := s.status, s.body, s.block, s.entered
	s.mu.Unlock()
	if block {
		entered.Fire()
		select {
		case <-r.Context().Done():
		case <-done:
		}
		return
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// checkLoad asserts one Load outcome: with wantErr set, a store error of
// kind wantKind and exactly that text, and no partial secret; otherwise
// exactly want.
func checkLoad(t *testing.T, got Secret, err error, want Secret, wantKind error, wantErr string) {
	t.Helper()
	if wantErr != "" {
		checkStoreError(t, err, wantKind, wantErr)
		if got != (Secret{}) {
			t.Errorf("partial secret returned with error")
		}
		return
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got != want {
		t.Fatalf("Load = %v, want %v", fieldsOf(got), fieldsOf(want))
	}
}
