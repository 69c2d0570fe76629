package trtcapi

import (
	"context"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// DefaultPace keeps each action under Tencent's 20 requests per second:
// one call every 1/18 s with no burst, so any one-second window holds at
// most 19 calls.
func DefaultPace() ratelimit.Policy {
	return ratelimit.Policy{Rate: 18, Period: time.Second, Burst: 1}
}

// LimiterPacer paces calls with a ratelimit.Limiter, one key per action.
// With a shared limiter (Redis, DynamoDB) the pace holds across every
// instance of the deployment.
type LimiterPacer struct {
	// Limiter decides; required.
	Limiter ratelimit.Limiter
	// Policy is the pace; zero means DefaultPace().
	Policy ratelimit.Policy
	// Sleep waits d or until ctx ends; nil means a timer. Tests inject one
	// that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// paceKeyPrefix starts every pacing key ("trtc.api:<action>").
const paceKeyPrefix = "trtc.api:"

// Wait implements Pacer: it blocks until the limiter admits one call of
// action, or ctx ends.
func (p *LimiterPacer) Wait(ctx context.Context, action string) error {
	pol := p.Policy
	if pol == (ratelimit.Policy{}) {
		pol = DefaultPace()
	}
	sleep := p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for {
		d, err := p.Limiter.Allow(ctx, paceKeyPrefix+action, pol)
		if err != nil {
			return fmt.Errorf("trtcapi: pacing %s: %w", action, err)
		}
		if d.Allowed {
			return nil
		}
		if err := sleep(ctx, d.RetryAfter); err != nil {
			return err
		}
	}
}

// Sleep waits d or until ctx ends, returning ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
