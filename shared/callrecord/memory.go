package callrecord

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxEntries caps a Memory store's records plus claims.
const DefaultMaxEntries = 100_000

// MemoryOptions configures NewMemory. The zero value is ready to use.
type MemoryOptions struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxEntries caps records plus claims; default DefaultMaxEntries.
	MaxEntries int
}

// Memory is an in-instance Store: the default for a single instance (the
// local server, one warm function). It is bounded: when MaxEntries entries
// are held, expired ones are dropped, and if none has expired a new record
// or claim fails with ErrFull (a live record is never evicted, since that
// would turn its call into an unknown room).
type Memory struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	entries map[string]memEntry
}

// memEntry is one record (JSON, so callers never share its maps and
// slices) or one claim.
type memEntry struct {
	rec   []byte
	until time.Time
}

// NewMemory returns an empty Memory store.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	return &Memory{now: opts.Now, max: opts.MaxEntries, entries: make(map[string]memEntry)}
}

// Len returns the number of entries held, expired ones included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// live returns the unexpired entry at key; the caller holds mu.
func (m *Memory) live(key string, now time.Time) (memEntry, bool) {
	e, ok := m.entries[key]
	if !ok || !now.Before(e.until) {
		return memEntry{}, false
	}
	return e, true
}

// put stores e at key, making room first when the store is full; the
// caller holds mu.
func (m *Memory) put(key string, e memEntry, now time.Time) error {
	if _, held := m.entries[key]; !held && len(m.entries) >= m.max {
		for k, old := range m.entries {
			if !now.Before(old.until) {
				delete(m.entries, k)
			}
		}
		if len(m.entries) >= m.max {
			return ErrFull
		}
	}
	m.entries[key] = e
	return nil
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("callrecord: encoding: %w", err)
	}
	key := recordKeyPrefix + r.Room.Key()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.live(key, now); ok {
		return ErrExists
	}
	return m.put(key, memEntry{rec: b, until: r.ExpiresAt}, now)
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, room Room) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	e, ok := m.live(recordKeyPrefix+room.Key(), m.now())
	m.mu.Unlock()
	if !ok {
		return Record{}, ErrNotFound
	}
	return decode(e.rec)
}

// Update implements Store. fn runs under the store's lock, so it must not
// call back into the store.
func (m *Memory) Update(ctx context.Context, room Room, fn func(*Record) error) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	key := recordKeyPrefix + room.Key()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e, ok := m.live(key, now)
	if !ok {
		return Record{}, ErrNotFound
	}
	r, err := decode(e.rec)
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
	m.entries[key] = memEntry{rec: b, until: r.ExpiresAt}
	return r, nil
}

// Claim implements Store.
func (m *Memory) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	k := claimKeyPrefix + key
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.live(k, now); ok {
		return false, nil
	}
	if err := m.put(k, memEntry{until: now.Add(ttl)}, now); err != nil {
		return false, err
	}
	return true, nil
}

// Extend implements Store.
func (m *Memory) Extend(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	return m.put(claimKeyPrefix+key, memEntry{until: now.Add(ttl)}, now)
}

// Release implements Store.
func (m *Memory) Release(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, claimKeyPrefix+key)
	return nil
}

// decode parses a stored record.
func decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("callrecord: stored record is not valid JSON: %w", err)
	}
	return r, nil
}

// encode renders a record for storage.
func encode(r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("callrecord: encoding: %w", err)
	}
	return b, nil
}

// AddUserRoom implements Store.
func (m *Memory) AddUserRoom(ctx context.Context, userID string, room Room, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := userKeyPrefix + userID
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	u := userRooms{}
	if e, ok := m.live(key, now); ok {
		if err := json.Unmarshal(e.rec, &u); err != nil {
			return fmt.Errorf("callrecord: stored user index is not valid JSON: %w", err)
		}
	}
	u.add(room, until.UnixMilli(), now.UnixMilli())
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("callrecord: encoding: %w", err)
	}
	return m.put(key, memEntry{rec: b, until: time.UnixMilli(u.latest())}, now)
}

// UserRooms implements Store.
func (m *Memory) UserRooms(ctx context.Context, userID string) ([]Room, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	now := m.now()
	e, ok := m.live(userKeyPrefix+userID, now)
	m.mu.Unlock()
	if !ok {
		return nil, nil
	}
	u := userRooms{}
	if err := json.Unmarshal(e.rec, &u); err != nil {
		return nil, fmt.Errorf("callrecord: stored user index is not valid JSON: %w", err)
	}
	return u.rooms(now.UnixMilli()), nil
}
