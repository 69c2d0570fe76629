// Package trtcevent verifies and decodes TRTC room and media event
// callbacks ("Room&Media Webhooks"): Tencent POSTs a JSON body with the
// headers Sign = base64(HMAC-SHA256(callback key, raw body)) and SdkAppId.
// The package does no I/O.
package trtcevent

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// MaxBodyBytes is the largest callback body accepted (16 KiB; Tencent's
// bodies are a few hundred bytes).
const MaxBodyBytes = 16 << 10

// Event types (EventType) of the room event group.
const (
	CreateRoom  = 101
	DismissRoom = 102
	EnterRoom   = 103
	ExitRoom    = 104
	ChangeRole  = 105
)

// Sign returns the Sign header for body under key: standard base64 (with
// padding) of HMAC-SHA256(key, body).
func Sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether sign is the Sign of body under key. The raw body
// bytes are hashed exactly as received (Tencent's bodies are tab-indented;
// re-encoding them changes the signature), and the comparison takes
// constant time. An empty key never verifies.
func Verify(key string, body []byte, sign string) bool {
	if key == "" || sign == "" {
		return false
	}
	return hmac.Equal([]byte(Sign(key, body)), []byte(sign))
}

// Room is the event's room: RoomId arrives as a JSON string for string
// rooms and as a number for numeric rooms, and the two kinds are never
// mixed ("12345" is not 12345).
type Room struct {
	Str string
	Num uint32
}

// Event is a decoded callback. Unknown fields are ignored; fields an event
// type does not carry are zero.
type Event struct {
	// GroupID is EventGroupId: 1 room events, 2 media events.
	GroupID int
	// Type is EventType (CreateRoom, EnterRoom, …).
	Type int
	// CallbackTs is when Tencent sent the callback, Unix ms.
	CallbackTs int64
	// Room is EventInfo.RoomId.
	Room Room
	// UserID is EventInfo.UserId; empty for a dismissal.
	UserID string
	// EventTs is the event time in Unix seconds.
	EventTs int64
	// EventMsTs is the event time in Unix ms.
	EventMsTs int64
	// Role is 20 (anchor) or 21 (audience) on enter and exit.
	Role int
	// UserType is 1 WebRTC, 2 mini-program, 3 native SDK, on enter.
	UserType int
	// TerminalType is the client platform, on enter.
	TerminalType int
	// Reason is the enter or exit reason (exit 3: removed from the room).
	Reason int
}

// ErrInvalid is wrapped by every Parse error. Messages name fields, never
// their values.
var ErrInvalid = errors.New("trtcevent: invalid callback body")

// wire is the body as Tencent sends it.
type wire struct {
	EventGroupID *int  `json:"EventGroupId"`
	EventType    *int  `json:"EventType"`
	CallbackTs   int64 `json:"CallbackTs"`
	EventInfo    *struct {
		RoomID       json.RawMessage `json:"RoomId"`
		EventTs      int64           `json:"EventTs"`
		EventMsTs    int64           `json:"EventMsTs"`
		UserID       string          `json:"UserId"`
		Role         int             `json:"Role"`
		TerminalType int             `json:"TerminalType"`
		UserType     int             `json:"UserType"`
		Reason       int             `json:"Reason"`
	} `json:"EventInfo"`
}

// Parse decodes a callback body. EventGroupId, EventType and EventInfo with
// a RoomId are required; a numeric RoomId must be in 1..4294967295 and a
// string RoomId non-empty.
func Parse(body []byte) (Event, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("%w: not a JSON object of the expected shape", ErrInvalid)
	}
	if w.EventGroupID == nil || w.EventType == nil || w.EventInfo == nil {
		return Event{}, fmt.Errorf("%w: EventGroupId, EventType and EventInfo are required", ErrInvalid)
	}
	info := w.EventInfo
	e := Event{
		GroupID:      *w.EventGroupID,
		Type:         *w.EventType,
		CallbackTs:   w.CallbackTs,
		UserID:       info.UserID,
		EventTs:      info.EventTs,
		EventMsTs:    info.EventMsTs,
		Role:         info.Role,
		UserType:     info.UserType,
		TerminalType: info.TerminalType,
		Reason:       info.Reason,
	}
	raw := bytes.TrimSpace(info.RoomID)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return Event{}, fmt.Errorf("%w: EventInfo.RoomId is required", ErrInvalid)
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &e.Room.Str); err != nil || e.Room.Str == "" {
			return Event{}, fmt.Errorf("%w: EventInfo.RoomId is an empty or invalid string", ErrInvalid)
		}
	default:
		n, err := strconv.ParseUint(string(raw), 10, 32)
		if err != nil || n == 0 {
			return Event{}, fmt.Errorf("%w: EventInfo.RoomId is not a room number in 1..4294967295", ErrInvalid)
		}
		e.Room.Num = uint32(n)
	}
	if e.EventMsTs == 0 {
		e.EventMsTs = e.EventTs * 1000
	}
	return e, nil
}

// Key identifies one event for de-duplication: Tencent may deliver an
// event more than once (retries) and identifies it by (EventType, RoomId,
// UserId, EventMsTs). The key is a hex SHA-256, so it is short and safe in
// any store whatever the user and room IDs contain.
func (e Event) Key() string {
	h := sha256.New()
	room := "n:" + strconv.FormatUint(uint64(e.Room.Num), 10)
	if e.Room.Str != "" {
		room = "s:" + e.Room.Str
	}
	for _, part := range []string{strconv.Itoa(e.Type), room, e.UserID, strconv.FormatInt(e.EventMsTs, 10)} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}
