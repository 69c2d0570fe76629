//go:build !callsign.noredis

package ban

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a shared Store on Redis: one string key per user holding the
// entry's JSON, expiring at Keep (no expiry for a ban without an end).
type Redis struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedis returns a Redis store. prefix is the rate limiter's stage
// prefix (e.g. "callsign:prod:"); now is the clock (nil: time.Now).
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now}
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, userID string) (Entry, bool, error) {
	b, err := s.client.Get(ctx, s.prefix+keyPrefix+userID).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("ban: redis: %w", err)
	}
	e, err := decode(b)
	return e, err == nil, err
}

// Put implements Store.
func (s *Redis) Put(ctx context.Context, userID string, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("ban: encoding: %w", err)
	}
	var ttl time.Duration // 0: no expiry
	if !e.Keep.IsZero() {
		ttl = max(e.Keep.Sub(s.now()), time.Millisecond)
	}
	if err := s.client.Set(ctx, s.prefix+keyPrefix+userID, b, ttl).Err(); err != nil {
		return fmt.Errorf("ban: redis: %w", err)
	}
	return nil
}
