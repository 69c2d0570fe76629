package scf

import (
	"context"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/platform/internal/apptest"
)

// TestDrainWaitsForInvocations: drain, which Start runs on shutdown,
// returns only after the invocation in flight has answered.
func TestDrainWaitsForInvocations(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := NewHandler(&apptest.App{Action: func(ctx context.Context, a api.Action) []byte {
		close(entered)
		<-release
		return []byte(`{"ok":true}`)
	}}, Options{})
	answered := make(chan string, 1)
	go func() {
		ctx := functioncontext.NewContext(context.Background(), &functioncontext.FunctionContext{TimeLimitInMs: 60000})
		p, err := h.Invoke(ctx, []byte(`{"action":"usersig"}`))
		if err != nil {
			answered <- err.Error()
			return
		}
		answered <- string(p)
	}()
	<-entered
	drained := make(chan struct{})
	go func() {
		h.drain()
		close(drained)
	}()
	select {
	case <-drained:
		t.Fatal("drain returned while an invocation was running")
	case got := <-answered:
		t.Fatalf("invocation answered %s before it was released", got)
	default:
	}
	close(release)
	for _, ch := range []<-chan struct{}{waitString(answered, `{"ok":true}`, t), drained} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("invocation or drain did not finish")
		}
	}
}

// waitString closes the returned channel once ch delivers want, failing
// the test on another value.
func waitString(ch <-chan string, want string, t *testing.T) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		if got := <-ch; got != want {
			t.Errorf("invocation answered %s, want %s", got, want)
		}
		close(done)
	}()
	return done
}
