package callrecord

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

// table is the DynamoDB table the tests create in dynalite (the rate-limit
// table layout).
const table = "callsign-test-calls"

// servers are the package's redis-server and dynalite, started on first use
// and stopped after all tests.
var servers = teststore.Shared{Table: table}

func TestMain(m *testing.M) { os.Exit(servers.Main(m)) }

func sharedDynamoDB(tb testing.TB) *dynamodb.Client { return servers.DynamoDB(tb) }

// uniquePrefix keeps each test's keys apart on the shared servers.
func uniquePrefix(tb testing.TB) string {
	return "test:" + tb.Name() + ":" + rand.Text()[:8] + ":"
}

// start is the fixed instant every test clock starts at.
var start = testclock.Epoch()

// backend is one Store under the behavioural suite. exact backends decide
// expiry at the injected clock; Redis expires keys at its own time, so
// its expiry is checked separately with a short real TTL.
type backend struct {
	name  string
	exact bool
	build func(t *testing.T, c *testclock.Clock) Store
}

func backends() []backend {
	return []backend{
		{"memory", true, func(t *testing.T, c *testclock.Clock) Store { return NewMemory(MemoryOptions{Now: c.Now}) }},
		{"redis", false, func(t *testing.T, c *testclock.Clock) Store { return redisStore(t, uniquePrefix(t), c.Now) }},
		{"dynamodb", true, func(t *testing.T, c *testclock.Clock) Store {
			return NewDynamoDB(sharedDynamoDB(t), table, uniquePrefix(t), c.Now)
		}},
	}
}

func sample(room Room) Record {
	return Record{
		CallID:    "c_AAAAAAAAAAAAAAAAAAAAAA",
		Room:      room,
		Caller:    "alice",
		Invitees:  []string{"bob", "carol"},
		Type:      "video",
		CreatedAt: start,
		ExpiresAt: start.Add(2 * time.Hour),
		State:     StateCreated,
	}
}

func TestStores(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("create get update", func(t *testing.T) {
				ctx := context.Background()
				s := b.build(t, testclock.New(start))
				room := Room{Str: "c_room1"}
				if _, err := s.Get(ctx, room); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get before Create: %v, want ErrNotFound", err)
				}
				want := sample(room)
				if err := s.Create(ctx, want); err != nil {
					t.Fatalf("Create: %v", err)
				}
				if err := s.Create(ctx, sample(room)); !errors.Is(err, ErrExists) {
					t.Fatalf("second Create: %v, want ErrExists", err)
				}
				got, err := s.Get(ctx, room)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("Get = %+v, %v; want %+v", got, err, want)
				}
				// A numeric room with the same digits is another room.
				if _, err := s.Get(ctx, Room{Num: 1}); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(numeric) = %v, want ErrNotFound", err)
				}
				upd, err := s.Update(ctx, room, func(r *Record) error {
					r.State = StateActive
					r.Participants = map[string]int64{"alice": 1764777600023}
					return nil
				})
				if err != nil || upd.State != StateActive {
					t.Fatalf("Update = %+v, %v", upd, err)
				}
				got, _ = s.Get(ctx, room)
				if got.State != StateActive || got.Participants["alice"] != 1764777600023 {
					t.Fatalf("after Update: %+v", got)
				}
				sentinel := errors.New("abort")
				if _, err := s.Update(ctx, room, func(r *Record) error { r.State = StateEnded; return sentinel }); !errors.Is(err, sentinel) {
					t.Fatalf("aborted Update: %v, want the fn's error", err)
				}
				if got, _ := s.Get(ctx, room); got.State != StateActive {
					t.Fatalf("aborted Update changed the record: %v", got.State)
				}
				if _, err := s.Update(ctx, Room{Str: "c_none"}, func(*Record) error { return nil }); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Update of a missing record: %v, want ErrNotFound", err)
				}
			})
			t.Run("concurrent updates are not lost", func(t *testing.T) {
				ctx := context.Background()
				s := b.build(t, testclock.New(start))
				room := Room{Num: 2147483647}
				if err := s.Create(ctx, sample(room)); err != nil {
					t.Fatal(err)
				}
				const n = 6
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for i := range n {
					wg.Go(func() {
						_, err := s.Update(ctx, room, func(r *Record) error {
							if r.Participants == nil {
								r.Participants = map[string]int64{}
							}
							r.Participants[fmt.Sprintf("u%d", i)] = int64(i)
							return nil
						})
						errs <- err
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil && !errors.Is(err, ErrConflict) {
						t.Fatalf("Update: %v", err)
					}
				}
				got, _ := s.Get(ctx, room)
				// ErrConflict is allowed only under extreme contention;
				// with 6 writers and 8 attempts each, every write lands.
				if len(got.Participants) != n {
					t.Fatalf("participants = %v, want %d entries", got.Participants, n)
				}
			})
			t.Run("claims", func(t *testing.T) {
				ctx := context.Background()
				c := testclock.New(start)
				s := b.build(t, c)
				ok, err := s.Claim(ctx, "evt1", time.Minute)
				if err != nil || !ok {
					t.Fatalf("first Claim = %v, %v; want true", ok, err)
				}
				if ok, err := s.Claim(ctx, "evt1", time.Minute); err != nil || ok {
					t.Fatalf("second Claim = %v, %v; want false", ok, err)
				}
				if ok, _ := s.Claim(ctx, "evt2", time.Minute); !ok {
					t.Fatal("Claim of another key failed")
				}
				if err := s.Release(ctx, "evt1"); err != nil {
					t.Fatal(err)
				}
				if ok, _ := s.Claim(ctx, "evt1", time.Minute); !ok {
					t.Fatal("Claim after Release failed")
				}
				if err := s.Extend(ctx, "evt1", 2*time.Minute); err != nil {
					t.Fatal(err)
				}
				if ok, _ := s.Claim(ctx, "evt1", time.Minute); ok {
					t.Fatal("Claim after Extend succeeded")
				}
				if !b.exact {
					return
				}
				c.Advance(2*time.Minute - time.Millisecond)
				if ok, _ := s.Claim(ctx, "evt1", time.Minute); ok {
					t.Fatal("Claim 1 ms before the extended lease ended succeeded")
				}
				c.Advance(time.Millisecond)
				if ok, _ := s.Claim(ctx, "evt1", time.Minute); !ok {
					t.Fatal("Claim after the extended lease ended failed")
				}
			})
			t.Run("expiry", func(t *testing.T) {
				ctx := context.Background()
				c := testclock.New(start)
				s := b.build(t, c)
				room := Room{Str: "c_exp"}
				r := sample(room)
				if !b.exact {
					// Redis expires at its own clock: use a short real TTL.
					r.ExpiresAt = start.Add(50 * time.Millisecond)
					if err := s.Create(ctx, r); err != nil {
						t.Fatal(err)
					}
					deadline := time.Now().Add(5 * time.Second)
					for {
						if _, err := s.Get(ctx, room); errors.Is(err, ErrNotFound) {
							break
						}
						if time.Now().After(deadline) {
							t.Fatal("record did not expire")
						}
						time.Sleep(20 * time.Millisecond)
					}
					if err := s.Create(ctx, sample(room)); err != nil {
						t.Fatalf("Create over an expired record: %v", err)
					}
					return
				}
				if err := s.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
				c.Advance(2*time.Hour - time.Millisecond)
				if _, err := s.Get(ctx, room); err != nil {
					t.Fatalf("Get 1 ms before expiry: %v", err)
				}
				c.Advance(time.Millisecond)
				if _, err := s.Get(ctx, room); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get at expiry: %v, want ErrNotFound", err)
				}
				r2 := sample(room)
				r2.CallID = "c_BBBBBBBBBBBBBBBBBBBBBB"
				r2.ExpiresAt = c.Now().Add(time.Hour)
				if err := s.Create(ctx, r2); err != nil {
					t.Fatalf("Create over an expired record: %v", err)
				}
				if got, _ := s.Get(ctx, room); got.CallID != r2.CallID {
					t.Fatalf("Get after re-create: call %s, want %s", got.CallID, r2.CallID)
				}
			})
		})
	}
}

func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(start)
	m := NewMemory(MemoryOptions{Now: c.Now, MaxEntries: 2})
	for i, room := range []Room{{Num: 1}, {Num: 2}} {
		r := sample(room)
		r.ExpiresAt = start.Add(time.Duration(i+1) * time.Minute)
		if err := m.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Create(ctx, sample(Room{Num: 3})); !errors.Is(err, ErrFull) {
		t.Fatalf("Create when full: %v, want ErrFull", err)
	}
	if _, err := m.Claim(ctx, "k", time.Minute); !errors.Is(err, ErrFull) {
		t.Fatalf("Claim when full: %v, want ErrFull", err)
	}
	c.Advance(time.Minute) // room 1 expires
	if err := m.Create(ctx, sample(Room{Num: 3})); err != nil {
		t.Fatalf("Create after an entry expired: %v", err)
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d, want 2", m.Len())
	}
	if _, err := m.Get(ctx, Room{Num: 2}); err != nil {
		t.Fatalf("a live record was evicted: %v", err)
	}
}

// TestUserRooms: the per-user index lists the rooms of the user's calls,
// keeps the later expiry of a room added twice, drops rooms whose call
// expired (at the store's clock) and keeps at most MaxUserRooms.
func TestUserRooms(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			c := testclock.New(start)
			s := b.build(t, c)
			if rooms, err := s.UserRooms(ctx, "alice"); err != nil || len(rooms) != 0 {
				t.Fatalf("empty index = %v, %v", rooms, err)
			}
			for _, add := range []struct {
				room  Room
				until time.Duration
			}{{Room{Str: "c_b"}, time.Hour}, {Room{Num: 42}, 2 * time.Minute}, {Room{Str: "c_a"}, time.Minute}, {Room{Str: "c_a"}, 3 * time.Hour}} {
				if err := s.AddUserRoom(ctx, "alice", add.room, start.Add(add.until)); err != nil {
					t.Fatal(err)
				}
			}
			want := []Room{{Num: 42}, {Str: "c_a"}, {Str: "c_b"}}
			if rooms, err := s.UserRooms(ctx, "alice"); err != nil || !reflect.DeepEqual(rooms, want) {
				t.Fatalf("UserRooms = %v, %v; want %v", rooms, err, want)
			}
			if rooms, _ := s.UserRooms(ctx, "bob"); len(rooms) != 0 {
				t.Fatalf("bob's index = %v", rooms)
			}
			c.Advance(5 * time.Minute)
			want = []Room{{Str: "c_a"}, {Str: "c_b"}}
			if rooms, err := s.UserRooms(ctx, "alice"); err != nil || !reflect.DeepEqual(rooms, want) {
				t.Fatalf("after 5 minutes UserRooms = %v, %v; want %v", rooms, err, want)
			}
			for i := range MaxUserRooms {
				if err := s.AddUserRoom(ctx, "carol", Room{Num: uint32(i + 1)}, c.Now().Add(time.Duration(i+1)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AddUserRoom(ctx, "carol", Room{Str: "c_newest"}, c.Now().Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			rooms, err := s.UserRooms(ctx, "carol")
			if err != nil || len(rooms) != MaxUserRooms || slices.Contains(rooms, Room{Num: 1}) || !slices.Contains(rooms, Room{Str: "c_newest"}) {
				t.Fatalf("capped index = %d rooms %v, %v", len(rooms), rooms, err)
			}
		})
	}
}

func TestParseRoomKey(t *testing.T) {
	for _, r := range []Room{{Str: "c_x"}, {Num: 2147483647}, {Str: "12"}} {
		got, err := ParseRoomKey(r.Key())
		if err != nil || got != r {
			t.Fatalf("ParseRoomKey(%q) = %v, %v", r.Key(), got, err)
		}
	}
	for _, k := range []string{"", "s:", "n:0", "n:x", "x:1", "n:4294967296"} {
		if _, err := ParseRoomKey(k); err == nil {
			t.Fatalf("ParseRoomKey(%q) succeeded", k)
		}
	}
}
