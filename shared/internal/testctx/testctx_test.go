package testctx

import (
	"context"
	"testing"
	"time"
)

func TestDeadlineOn(t *testing.T) {
	tests := []struct {
		name    string
		limit   time.Duration
		end     func(s *Signal, cancel context.CancelFunc)
		wantErr error
	}{
		{name: "signal", limit: time.Hour, end: func(s *Signal, _ context.CancelFunc) { s.Fire(); s.Fire() }, wantErr: context.DeadlineExceeded},
		{name: "limit", limit: time.Millisecond, end: func(*Signal, context.CancelFunc) {}, wantErr: context.DeadlineExceeded},
		{name: "cancel", limit: time.Hour, end: func(_ *Signal, cancel context.CancelFunc) { cancel() }, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSignal()
			before := time.Now()
			ctx, cancel := DeadlineOn(s.C(), tt.limit)
			defer cancel()
			if d, ok := ctx.Deadline(); !ok || d.Before(before.Add(tt.limit)) || d.After(time.Now().Add(tt.limit)) {
				t.Errorf("Deadline = %v, %v; want now + %v", d, ok, tt.limit)
			}
			if tt.limit == time.Hour && ctx.Err() != nil {
				t.Fatalf("Err = %v before the context ended", ctx.Err())
			}
			// A context derived from it, as a client under test makes one,
			// ends the same way.
			child, cancelChild := context.WithTimeout(ctx, time.Hour)
			defer cancelChild()
			tt.end(s, cancel)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done not closed")
			}
			<-child.Done()
			if ctx.Err() != tt.wantErr || child.Err() != tt.wantErr || context.Cause(ctx) != tt.wantErr {
				t.Fatalf("Err = %v, child %v, Cause %v; want %v", ctx.Err(), child.Err(), context.Cause(ctx), tt.wantErr)
			}
			cancel() // after the end: changes nothing
			if ctx.Err() != tt.wantErr {
				t.Fatalf("Err = %v after cancel, want %v", ctx.Err(), tt.wantErr)
			}
		})
	}
}
