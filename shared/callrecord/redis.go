//go:build !callsign.noredis

package callrecord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// addRoomScript adds ARGV[1] (a room key) to the hash KEYS[1] with score
// ARGV[2] (Unix ms until which the room's call lives), keeping the larger
// score, and makes the key expire at the latest score (ARGV[3] is now in
// Unix ms). Entries dead at now are dropped; past ARGV[4] entries the
// oldest go.
var addRoomScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local untilMs = tonumber(ARGV[2])
if untilMs > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
local now = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
local live, latest = {}, 0
for i = 1, #all, 2 do
  local t = tonumber(all[i+1])
  if t <= now then redis.call('HDEL', KEYS[1], all[i]) else
    table.insert(live, {all[i], t})
    if t > latest then latest = t end
  end
end
table.sort(live, function(a, b) return a[2] < b[2] end)
for i = 1, #live - tonumber(ARGV[4]) do redis.call('HDEL', KEYS[1], live[i][1]) end
if latest > now then redis.call('PEXPIRE', KEYS[1], latest - now) end
return 1`)

// AddUserRoom implements Store. The index is a hash of room key → Unix ms.
func (s *Redis) AddUserRoom(ctx context.Context, userID string, room Room, until time.Time) error {
	now := s.now().UnixMilli()
	err := addRoomScript.Run(ctx, s.client, []string{s.prefix + userKeyPrefix + userID},
		room.Key(), until.UnixMilli(), now, MaxUserRooms).Err()
	if err != nil {
		return fmt.Errorf("callrecord: redis: %w", err)
	}
	return nil
}

// UserRooms implements Store.
func (s *Redis) UserRooms(ctx context.Context, userID string) ([]Room, error) {
	m, err := s.client.HGetAll(ctx, s.prefix+userKeyPrefix+userID).Result()
	if err != nil {
		return nil, fmt.Errorf("callrecord: redis: %w", err)
	}
	u := userRooms{}
	for k, v := range m {
		if t, err := strconv.ParseInt(v, 10, 64); err == nil {
			u[k] = t
		}
	}
	return u.rooms(s.now().UnixMilli()), nil
}

// ttlFrom is the time left until t, at least one millisecond (Redis refuses
// a zero expiry).
func ttlFrom(t, now time.Time) time.Duration {
	return max(t.Sub(now), time.Millisecond)
}
