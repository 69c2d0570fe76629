package usersig

import (
	"strconv"
)

// Limits of the validation policy (spec §7).
const (
	// MaxUserIDLen is the longest accepted userID in bytes.
	MaxUserIDLen = 32
	// MaxRoomID is the largest numeric room ID (0xFFFFFFFF is excluded).
	MaxRoomID uint32 = 4294967294
	// MaxStrRoomLen is the longest string room ID in bytes.
	MaxStrRoomLen = 64
)

// Room is a TRTC room: either a numeric room (ID, 1..MaxRoomID) or a string
// room (Str, 1..MaxStrRoomLen bytes of the 89 characters TRTC allows).
// Exactly one of the two is set. Numeric room 123 and string room "123" are
// different rooms.
type Room struct {
	// ID is the numeric room ID (TRTCParams.roomId); 0 for a string room.
	ID uint32
	// Str is the string room ID (TRTCParams.strRoomId); "" for a numeric room.
	Str string
}

// NumericRoom returns the numeric room id.
func NumericRoom(id uint32) Room { return Room{ID: id} }

// StringRoom returns the string room s.
func StringRoom(s string) Room { return Room{Str: s} }

// IsString reports whether r is a string room.
func (r Room) IsString() bool { return r.Str != "" }

// String renders a numeric room as its number and a string room quoted, so
// that room 123 and room "123" print differently.
func (r Room) String() string {
	if r.Str != "" {
		return strconv.Quote(r.Str)
	}
	return strconv.FormatUint(uint64(r.ID), 10)
}

// Validate checks the room against spec §7. The error wraps ErrInvalidInput.
func (r Room) Validate() error {
	switch {
	case r.ID != 0 && r.Str != "":
		return invalid("room: set either a numeric room ID or a string room ID, not both")
	case r.ID == 0 && r.Str == "":
		return invalid("room: no room ID (numeric room 0 and the empty string room are not rooms)")
	case r.Str == "":
		if r.ID > MaxRoomID {
			return invalid("room: numeric room ID must be 1..%d", MaxRoomID)
		}
		return nil
	}
	if len(r.Str) > MaxStrRoomLen {
		return invalid("room: string room ID is %d bytes, at most %d allowed", len(r.Str), MaxStrRoomLen)
	}
	for i := 0; i < len(r.Str); i++ {
		if !strRoomByte(r.Str[i]) {
			return invalid("room: string room ID has a disallowed character at byte %d (allowed: A-Z a-z 0-9 space and !#$%%&()+-:;<=.>?@[]^_{}|~,)", i)
		}
	}
	return nil
}

// strRoomByte reports whether c is one of the 89 characters TRTC allows in a
// string room ID: printable ASCII except " ' * / \ and backtick.
func strRoomByte(c byte) bool {
	if c < ' ' || c > '~' {
		return false
	}
	switch c {
	case '"', '\'', '*', '/', '\\', '`':
		return false
	}
	return true
}

// userIDByte reports whether c may appear in a userID ([A-Za-z0-9_-]).
func userIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// ValidateUserID checks id against ^[A-Za-z0-9_-]{1,32}$ (spec §7). The error
// wraps ErrInvalidInput and does not repeat the userID.
func ValidateUserID(id string) error {
	if len(id) == 0 || len(id) > MaxUserIDLen {
		return invalid("userID must be 1..%d characters, got %d bytes", MaxUserIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !userIDByte(id[i]) {
			return invalid("userID has a character outside A-Z a-z 0-9 _ - at byte %d", i)
		}
	}
	return nil
}
