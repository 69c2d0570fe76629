package callrecord

import (
	"context"
	"time"
)

// WithTimeout returns a Store that bounds every call to s by d (in addition
// to the caller's context), so a hanging shared store cannot hold a request
// or a callback up to the function's deadline. d <= 0 returns s.
func WithTimeout(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	return timeoutStore{s: s, d: d}
}

type timeoutStore struct {
	s Store
	d time.Duration
}

func (t timeoutStore) Create(ctx context.Context, r Record) error {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Create(ctx, r)
}

func (t timeoutStore) Get(ctx context.Context, room Room) (Record, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Get(ctx, room)
}

func (t timeoutStore) Update(ctx context.Context, room Room, fn func(*Record) error) (Record, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Update(ctx, room, fn)
}

func (t timeoutStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Claim(ctx, key, ttl)
}

func (t timeoutStore) Extend(ctx context.Context, key string, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Extend(ctx, key, ttl)
}

func (t timeoutStore) Release(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.Release(ctx, key)
}

func (t timeoutStore) AddUserRoom(ctx context.Context, userID string, room Room, until time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.AddUserRoom(ctx, userID, room, until)
}

func (t timeoutStore) UserRooms(ctx context.Context, userID string) ([]Room, error) {
	ctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	return t.s.UserRooms(ctx, userID)
}
