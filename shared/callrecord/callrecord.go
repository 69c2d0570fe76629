// Package callrecord keeps the server-side record of every call callsign
// creates: the room, the caller, the invitees, the call's state and who is
// in the room. call.create writes it, call.join and the TRTC room callbacks
// read and update it. The call token stays a signed capability; the record
// is the source of truth for enforcement.
//
// Records live in the same shared store as the rate limits (Memory, Redis
// or DynamoDB) and expire on their own at Record.ExpiresAt. A Store also
// offers short-lived claims (Claim, Extend, Release), which the callback
// handler uses to act exactly once per Tencent event across instances, and
// a per-user index of call rooms (AddUserRoom, UserRooms), which an
// operator's ban uses to remove the user from every active call.
//
// The build tag callsign.noredis leaves the Redis store (and go-redis) out.
package callrecord

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// States of a call: created → active → ended.
const (
	// StateCreated: call.create stored the record; nobody entered yet.
	StateCreated State = "created"
	// StateActive: a member of the call entered the room.
	StateActive State = "active"
	// StateEnded: Tencent reported the room dismissed (event 102). Anyone
	// entering afterwards is not part of this call.
	StateEnded State = "ended"
)

// State is the lifecycle state of a call.
type State string

// Room is a TRTC room: a string room (Str non-empty) or a numeric room
// (Num non-zero). TRTC keeps the two kinds apart: string room "12345" is not
// numeric room 12345.
type Room struct {
	// Str is the string room ID; empty for a numeric room.
	Str string `json:"str,omitempty"`
	// Num is the numeric room ID; 0 for a string room.
	Num uint32 `json:"num,omitempty"`
}

// Key is the room's store key: "s:<str>" or "n:<num>".
func (r Room) Key() string {
	if r.Str != "" {
		return "s:" + r.Str
	}
	return "n:" + strconv.FormatUint(uint64(r.Num), 10)
}

// Valid reports whether exactly one of Str and Num is set.
func (r Room) Valid() bool { return (r.Str != "") != (r.Num != 0) }

// String renders the room for logs: the string ID or the decimal number.
func (r Room) String() string {
	if r.Str != "" {
		return r.Str
	}
	return strconv.FormatUint(uint64(r.Num), 10)
}

// Record is one call.
type Record struct {
	// CallID identifies the call.
	CallID string `json:"callID"`
	// Room is the call's room; records are keyed by it.
	Room Room `json:"room"`
	// Caller is the userID that created the call.
	Caller string `json:"caller"`
	// Invitees are the userIDs the caller invited.
	Invitees []string `json:"invitees"`
	// Type is the call type ("audio" or "video").
	Type string `json:"type"`
	// GroupID is the optional IM group of a group call.
	GroupID string `json:"groupID,omitempty"`
	// CreatedAt is when call.create stored the record.
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when the record disappears from the store.
	ExpiresAt time.Time `json:"expiresAt"`
	// State is created, active or ended.
	State State `json:"state"`
	// Participants maps each member currently in the room to the Tencent
	// event time (Unix ms) of their entry.
	Participants map[string]int64 `json:"participants,omitempty"`
	// Joined lists the invitees that called call.join, in order.
	Joined []string `json:"joined,omitempty"`
	// EndedAtMs is the Tencent event time (Unix ms) of the dismissal; 0
	// until the call ended.
	EndedAtMs int64 `json:"endedAtMs,omitempty"`
}

// Member reports whether userID is the caller or an invitee.
func (r *Record) Member(userID string) bool {
	return userID != "" && (userID == r.Caller || slices.Contains(r.Invitees, userID))
}

// Errors of a Store.
var (
	// ErrNotFound: no live record for the room.
	ErrNotFound = errors.New("callrecord: no such call")
	// ErrExists: Create found a live record for the room.
	ErrExists = errors.New("callrecord: the room already has a live call")
	// ErrFull: a Memory store reached its capacity with no expired entry.
	ErrFull = errors.New("callrecord: store full")
	// ErrConflict: Update lost the race for a record too many times in a
	// row.
	ErrConflict = errors.New("callrecord: too many concurrent updates")
)

// Store holds call records and claims. Implementations are safe for
// concurrent use; every method honours ctx.
type Store interface {
	// Create stores r, keyed by r.Room, until r.ExpiresAt. It fails with
	// ErrExists when a live record holds the room.
	Create(ctx context.Context, r Record) error
	// Get returns the live record of room, or ErrNotFound.
	Get(ctx context.Context, room Room) (Record, error)
	// Update applies fn to the live record of room and stores the result
	// atomically: when another writer changed the record in between, fn
	// runs again on the new value. An error from fn aborts the update and
	// is returned as is. ErrNotFound when there is no live record.
	Update(ctx context.Context, room Room, fn func(*Record) error) (Record, error)
	// Claim takes key for ttl when nobody holds it; ok reports whether this
	// caller got it.
	Claim(ctx context.Context, key string, ttl time.Duration) (ok bool, err error)
	// Extend holds key for ttl from now, whoever held it before.
	Extend(ctx context.Context, key string, ttl time.Duration) error
	// Release frees key at once.
	Release(ctx context.Context, key string) error
	// AddUserRoom adds room to userID's index of calls until until (the
	// call record's expiry), so an operator's ban can find every call
	// room the user may be in.
	AddUserRoom(ctx context.Context, userID string, room Room, until time.Time) error
	// UserRooms returns the rooms in userID's index; some may belong to
	// calls that have since ended or expired (check their records).
	UserRooms(ctx context.Context, userID string) ([]Room, error)
}

// maxUpdateAttempts bounds the compare-and-swap loop of Update.
const maxUpdateAttempts = 8

// Key prefixes inside the shared store, after the stage prefix. They cannot
// collide with rate-limit keys ("<op>:<subject>", op never "call").
const (
	recordKeyPrefix = "call:room:"
	claimKeyPrefix  = "call:once:"
	userKeyPrefix   = "call:user:"
)

// MaxUserRooms caps a user's index of calls; the oldest rooms are dropped
// first (their records expire before the newer ones').
const MaxUserRooms = 64

// ParseRoomKey is the inverse of Room.Key.
func ParseRoomKey(k string) (Room, error) {
	if len(k) > 2 && k[:2] == "s:" {
		return Room{Str: k[2:]}, nil
	}
	if len(k) > 2 && k[:2] == "n:" {
		n, err := strconv.ParseUint(k[2:], 10, 32)
		if err == nil && n != 0 {
			return Room{Num: uint32(n)}, nil
		}
	}
	return Room{}, errors.New("callrecord: not a room key")
}

// userRooms is the stored index of one user: room keys with the expiry of
// their call record.
type userRooms map[string]int64

// add inserts room until untilMs, drops entries dead at nowMs and keeps the
// MaxUserRooms latest.
func (u userRooms) add(room Room, untilMs, nowMs int64) {
	u[room.Key()] = max(u[room.Key()], untilMs)
	for k, t := range u {
		if t <= nowMs {
			delete(u, k)
		}
	}
	for len(u) > MaxUserRooms {
		oldest, ot := "", int64(0)
		for k, t := range u {
			if oldest == "" || t < ot {
				oldest, ot = k, t
			}
		}
		delete(u, oldest)
	}
}

// rooms lists the live rooms of the index at nowMs.
func (u userRooms) rooms(nowMs int64) []Room {
	var out []Room
	for k, t := range u {
		if t <= nowMs {
			continue
		}
		if r, err := ParseRoomKey(k); err == nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Room) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// latest is the largest expiry in the index.
func (u userRooms) latest() int64 {
	var m int64
	for _, t := range u {
		m = max(m, t)
	}
	return m
}
