package service

import (
	"bytes"
	"encoding/json"
	"time"
)

// UserSigRequest is the body of POST /v1/usersig (action "usersig").
type UserSigRequest struct {
	// TTLSeconds optionally asks for a UserSig lifetime in seconds. Absent:
	// the configured UserSigTTL. Below MinUserSigTTL: 400. Above the
	// configured UserSigMaxTTL: clamped to it.
	TTLSeconds *int64 `json:"ttlSeconds,omitempty"`
}

// UserSigResponse is the result of IssueUserSig. Its {sdkAppID, userSig}
// pair keeps the shape of TUICalling's genTestUserSig.
type UserSigResponse struct {
	// SDKAppID is the TRTC application the UserSig is for.
	SDKAppID uint32 `json:"sdkAppID"`
	// UserID is the verified caller's TRTC userID.
	UserID string `json:"userID"`
	// UserSig is the credential; pass it to the TRTC/TUICallKit login.
	UserSig string `json:"userSig"`
	// ExpiresAt is when the UserSig expires (RFC 3339, UTC, whole seconds).
	ExpiresAt time.Time `json:"expiresAt"`
	// TTLSeconds is the granted lifetime after clamping.
	TTLSeconds int64 `json:"ttlSeconds"`
	// RefreshAfter is the instant at 80 % of the lifetime from which the
	// client should fetch a new UserSig.
	RefreshAfter time.Time `json:"refreshAfter"`
	// ServerTime is the server's clock when it issued the response (RFC
	// 3339, UTC, whole seconds; the instant the other times count from).
	// Clients compute deadlines from durations (ExpiresAt − ServerTime) added
	// to their own receipt time, so a wrong device clock does not matter.
	ServerTime time.Time `json:"serverTime"`
}

// CallType is the kind of call: audio or video.
type CallType string

// Call types. In JSON they are written as strings; TUICalling's numeric
// types (1 audio, 2 video) are accepted on input.
const (
	CallAudio CallType = "audio"
	CallVideo CallType = "video"
)

// callTypeInvalid marks a "type" value that was present but not a known
// call type; validation rejects it with a message listing the valid values.
const callTypeInvalid CallType = "invalid"

// UnmarshalJSON accepts "audio", "video", 1 (audio) and 2 (video). Any other
// value decodes to an invalid CallType that CreateCall rejects with 400, so
// decoding itself never fails on a well-formed JSON value.
func (t *CallType) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case `"audio"`, `1`:
		*t = CallAudio
	case `"video"`, `2`:
		*t = CallVideo
	case `null`:
		// Leave unset: a missing type is reported by validation.
	default:
		*t = callTypeInvalid
	}
	return nil
}

// valid reports whether t is CallAudio or CallVideo.
func (t CallType) valid() bool { return t == CallAudio || t == CallVideo }

// CreateCallRequest is the body of POST /v1/calls (action "call.create").
type CreateCallRequest struct {
	// Type is the call type; required.
	Type CallType `json:"type"`
	// UserIDList names the invitees: 1..MaxInvitees valid TRTC userIDs, no
	// duplicates and not the caller.
	UserIDList []string `json:"userIDList"`
	// GroupID optionally names the IM group of a group call: at most
	// MaxGroupIDLen characters of [A-Za-z0-9_@#-]. It is bound into the call
	// token.
	GroupID string `json:"groupID,omitempty"`
}

// RoomID is a TRTC room as JSON: {"str":"c_..."} for a string room
// (TRTCParams.strRoomId) or {"num":123} for a numeric room
// (TRTCParams.roomId). Exactly one member is present.
type RoomID struct {
	// Str is the string room ID; empty for a numeric room.
	Str string `json:"str,omitempty"`
	// Num is the numeric room ID; 0 for a string room.
	Num uint32 `json:"num,omitempty"`
}

// CreateCallResponse is the result of CreateCall.
type CreateCallResponse struct {
	// CallID identifies the call (128 random bits, "c_" + 22 base64url characters).
	CallID string `json:"callID"`
	// RoomID is the server-allocated room.
	RoomID RoomID `json:"roomID"`
	// PrivateMapKey is the caller's room ticket.
	PrivateMapKey string `json:"privateMapKey"`
	// Privileges is the caller's privilege bit map (15 audio, 63 video, +192
	// with screen sharing).
	Privileges uint32 `json:"privileges"`
	// CallToken is the signed invitation the caller hands to the invitees.
	CallToken string `json:"callToken"`
	// ExpiresAt is when the caller's PrivateMapKey expires.
	ExpiresAt time.Time `json:"expiresAt"`
	// InviteExpiresAt is when the call token expires; invitees must join
	// before then.
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
	// ServerTime is the server's clock when it issued the response (RFC
	// 3339, UTC, whole seconds; the instant the other times count from).
	// Clients compute deadlines from durations (ExpiresAt − ServerTime) added
	// to their own receipt time, so a wrong device clock does not matter.
	ServerTime time.Time `json:"serverTime"`
}

// JoinCallRequest is the body of POST /v1/calls/join (action "call.join").
type JoinCallRequest struct {
	// CallToken is the token from the caller's CreateCallResponse; required.
	CallToken string `json:"callToken"`
}

// JoinCallResponse is the result of JoinCall.
type JoinCallResponse struct {
	// CallID identifies the call.
	CallID string `json:"callID"`
	// RoomID is the call's room.
	RoomID RoomID `json:"roomID"`
	// PrivateMapKey is the joiner's room ticket.
	PrivateMapKey string `json:"privateMapKey"`
	// Privileges is the joiner's privilege bit map (14 audio, 62 video, +192
	// with screen sharing; the caller re-joining gets the caller's).
	Privileges uint32 `json:"privileges"`
	// ExpiresAt is when the PrivateMapKey expires.
	ExpiresAt time.Time `json:"expiresAt"`
	// ServerTime is the server's clock when it issued the response (RFC
	// 3339, UTC, whole seconds; the instant the other times count from).
	// Clients compute deadlines from durations (ExpiresAt − ServerTime) added
	// to their own receipt time, so a wrong device clock does not matter.
	ServerTime time.Time `json:"serverTime"`
}

// StartSessionRequest is the body of POST /v1/session.
type StartSessionRequest struct {
	// Code is the wx.login code; required, at most MaxCodeLen printable
	// ASCII characters.
	Code string `json:"code"`
}

// StartSessionResponse is the result of StartSession. session_key is never
// part of it.
type StartSessionResponse struct {
	// SessionToken is callsign's own session token; send it as
	// "Authorization: Bearer <token>" on later requests.
	SessionToken string `json:"sessionToken"`
	// ExpiresAt is when the session token expires.
	ExpiresAt time.Time `json:"expiresAt"`
	// UserID is the TRTC userID derived from the WeChat OpenID.
	UserID string `json:"userID"`
	// SDKAppID is the TRTC application.
	SDKAppID uint32 `json:"sdkAppID"`
	// UserSig is a UserSig for UserID with the default lifetime.
	UserSig string `json:"userSig"`
	// UserSigExpiresAt is when the UserSig expires.
	UserSigExpiresAt time.Time `json:"userSigExpiresAt"`
	// RefreshAfter is 80 % of the UserSig's lifetime: from then on fetch a
	// new UserSig with POST /v1/usersig and the session token.
	RefreshAfter time.Time `json:"refreshAfter"`
	// ServerTime is the server's clock when it issued the response (RFC
	// 3339, UTC, whole seconds; the instant the other times count from).
	// Clients compute deadlines from durations (ExpiresAt − ServerTime) added
	// to their own receipt time, so a wrong device clock does not matter.
	ServerTime time.Time `json:"serverTime"`
}

// compile-time check that the custom unmarshaler is used.
var _ json.Unmarshaler = (*CallType)(nil)
