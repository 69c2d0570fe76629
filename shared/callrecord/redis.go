package callrecord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a shared Store on Redis (Tencent Cloud Redis, ElastiCache): one
// string key per record holding its JSON, expiring at Record.ExpiresAt
// (PX, relative to the store's clock so that instance and server clocks
// need not agree), and one key per claim. Update is a compare-and-swap on
// the record's exact bytes in a Lua script, so concurrent callbacks never
// lose each other's changes. Every key holds one value: cluster-safe.
type Redis struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedis returns a Redis store. prefix separates stages sharing a Redis
// (the rate limiter's prefix, e.g. "callsign:prod:"); now is the clock
// (nil: time.Now).
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now}
}

// casScript replaces KEYS[1] with ARGV[2] (expiring in ARGV[3] ms) only if
// it still holds ARGV[1].
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`)

// Create implements Store.
func (s *Redis) Create(ctx context.Context, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("callrecord: encoding: %w", err)
	}
	ok, err := s.client.SetNX(ctx, s.prefix+recordKeyPrefix+r.Room.Key(), b, ttlFrom(r.ExpiresAt, s.now())).Result()
	if err != nil {
		return fmt.Errorf("callrecord: redis: %w", err)
	}
	if !ok {
		return ErrExists
	}
	return nil
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, room Room) (Record, error) {
	b, err := s.client.Get(ctx, s.prefix+recordKeyPrefix+room.Key()).Bytes()
	if errors.Is(err, redis.Nil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("callrecord: redis: %w", err)
	}
	return decode(b)
}

// Update implements Store.
func (s *Redis) Update(ctx context.Context, room Room, fn func(*Record) error) (Record, error) {
	key := s.prefix + recordKeyPrefix + room.Key()
	for range maxUpdateAttempts {
		old, err := s.client.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return Record{}, ErrNotFound
		}
		if err != nil {
			return Record{}, fmt.Errorf("callrecord: redis: %w", err)
		}
		r, err := decode([]byte(old))
		if err != nil {
			return Record{}, err
		}
		if err := fn(&r); err != nil {
			return Record{}, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return Record{}, fmt.Errorf("callrecord: encoding: %w", err)
		}
		ms := ttlFrom(r.ExpiresAt, s.now()).Milliseconds()
		swapped, err := casScript.Run(ctx, s.client, []string{key}, old, b, max(ms, 1)).Int()
		if err != nil {
			return Record{}, fmt.Errorf("callrecord: redis: %w", err)
		}
		if swapped == 1 {
			return r, nil
		}
	}
	return Record{}, ErrConflict
}

// Claim implements Store.
func (s *Redis) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.prefix+claimKeyPrefix+key, "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("callrecord: redis: %w", err)
	}
	return ok, nil
}

// Extend implements Store.
func (s *Redis) Extend(ctx context.Context, key string, ttl time.Duration) error {
	if err := s.client.Set(ctx, s.prefix+claimKeyPrefix+key, "1", ttl).Err(); err != nil {
		return fmt.Errorf("callrecord: redis: %w", err)
	}
	return nil
}

// Release implements Store.
func (s *Redis) Release(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.prefix+claimKeyPrefix+key).Err(); err != nil {
		return fmt.Errorf("callrecord: redis: %w", err)
	}
	return nil
}
