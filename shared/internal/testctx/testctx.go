// Package testctx has contexts for tests that make a client give up at a
// known point rather than after a wall-clock delay.
//
// A test that sets a short deadline against a server that never answers,
// and then checks what reached the server, races the deadline against the
// request: on a loaded machine the client may give up before its request
// arrives. DeadlineOn ends the client's wait only once the server has
// signalled that the request is there, with the same error a passed
// deadline gives, so the outcome and the request are both certain.
package testctx

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is a context that ends with context.DeadlineExceeded when its
// signal arrives or its limit passes, whichever is first, or with
// context.Canceled when cancelled before either.
type deadlineCtx struct {
	context.Context // context.Background(): no values, no parent to inherit
	deadline        time.Time
	done            chan struct{}

	mu  sync.Mutex
	err error
}

// Deadline reports the limit: code that sizes its own timeouts from the
// deadline sees the safety net, never a moment that has already passed.
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done is closed when the context ends.
func (c *deadlineCtx) Done() <-chan struct{} { return c.done }

// Err is nil until Done is closed, then why the context ended.
func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// String names the context in failure messages.
func (c *deadlineCtx) String() string { return "testctx.DeadlineOn" }

// end records err and closes done.
func (c *deadlineCtx) end(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

// DeadlineOn returns a context that ends as if its deadline had passed
// (Err returns context.DeadlineExceeded) as soon as signal is closed, and
// at the latest after limit, a safety net for a signal that never comes.
// Its Deadline is now + limit. The cancel function ends it with
// context.Canceled if it has not ended yet, and releases its resources;
// call it when the test is done with the context.
//
// A server handler closes signal once it has received (and recorded) the
// request it then holds; the client under test is given the context and
// gives up only after that, exactly as it would at a real deadline.
func DeadlineOn(signal <-chan struct{}, limit time.Duration) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{Context: context.Background(), deadline: time.Now().Add(limit), done: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-signal:
			c.end(context.DeadlineExceeded)
		case <-t.C:
			c.end(context.DeadlineExceeded)
		case <-stop:
			c.end(context.Canceled)
		}
	}()
	var once sync.Once
	return c, func() { once.Do(func() { close(stop) }) }
}

// Signal is a channel that Fire closes once, however often it is called:
// a handler that may be entered more than once (a retry) can fire it every
// time.
type Signal struct {
	once sync.Once
	ch   chan struct{}
}

// NewSignal returns a Signal that has not fired.
func NewSignal() *Signal { return &Signal{ch: make(chan struct{})} }

// Fire closes the channel, the first time only.
func (s *Signal) Fire() { s.once.Do(func() { close(s.ch) }) }

// C is closed once Fire has been called.
func (s *Signal) C() <-chan struct{} { return s.ch }
