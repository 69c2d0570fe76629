package service

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/usersig"
	"github.com/golang-jwt/jwt/v5"
)

// callClaims are the claims of a call token (audience token.AudienceCall).
// The registered claims carry the caller (sub), the call ID (jti), issue
// time and expiry; the private claims bind the room, the invitees, the call
// type, the optional IM group and the SDKAppID.
type callClaims struct {
	jwt.RegisteredClaims
	// Room is the call's room.
	Room RoomID `json:"room"`
	// Invitees are the userIDs allowed to join.
	Invitees []string `json:"inv"`
	// Type is the call type; it selects the privileges.
	Type CallType `json:"ctype"`
	// GroupID is the optional IM group of a group call.
	GroupID string `json:"grp,omitempty"`
	// SDKAppID is the TRTC application the call belongs to.
	SDKAppID uint32 `json:"app"`
}

// CreateCall allocates a room for a call from the verified caller to
// in.UserIDList, returns the caller's PrivateMapKey and a call token that
// lets exactly those invitees join. Errors are *Error.
func (s *Service) CreateCall(ctx context.Context, creds identity.Credentials, in CreateCallRequest) (*CreateCallResponse, error) {
	id, e := s.authenticate(ctx, creds)
	if e != nil {
		return nil, e
	}
	if e := s.validateCall(id.UserID, &in); e != nil {
		return nil, e
	}
	if e := s.limit(ctx, ratelimit.OpCallCreate, id.UserID); e != nil {
		return nil, e
	}
	if e := s.checkPolicy(ctx, id.UserID, &in); e != nil {
		return nil, e
	}
	m, e := s.material(ctx)
	if e != nil {
		return nil, e
	}
	now := s.now()
	issued := issuedAt(now)
	callID, room, e := s.recordCall(ctx, id.UserID, &in, issued)
	if e != nil {
		return nil, e
	}
	priv := s.privileges(in.Type, true)
	pmk, err := m.signer.PrivateMapKey(id.UserID, s.pmkTTL, now, room.usersig(), priv)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "signing a PrivateMapKey failed", e)
		return nil, e
	}
	inviteExp := issued.Add(s.inviteTTL)
	claims := callClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    token.Issuer,
			Subject:   id.UserID,
			Audience:  jwt.ClaimStrings{token.AudienceCall},
			ID:        callID,
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(inviteExp),
		},
		Room:     room,
		Invitees: in.UserIDList,
		Type:     in.Type,
		GroupID:  in.GroupID,
		SDKAppID: m.sdkAppID,
	}
	tok, err := token.Sign(m.tokens, claims)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "signing a call token failed", e)
		return nil, e
	}
	return &CreateCallResponse{
		CallID:          callID,
		RoomID:          room,
		PrivateMapKey:   pmk,
		Privileges:      uint32(priv),
		CallToken:       tok,
		ExpiresAt:       issued.Add(s.pmkTTL),
		InviteExpiresAt: inviteExp,
		ServerTime:      issued,
	}, nil
}

// maxRoomCollisions bounds how often CreateCall draws a new room because
// a live call already holds the drawn one (numeric rooms only, in practice).
const maxRoomCollisions = 4

// recordCall allocates a call ID and a room no live call holds and stores
// the call's record. The record lives as long as the longest credential
// issued for the call (PrivateMapKey or call token); the room callbacks
// extend it while the call is active.
func (s *Service) recordCall(ctx context.Context, caller string, in *CreateCallRequest, issued time.Time) (string, RoomID, *Error) {
	for range maxRoomCollisions {
		callID, room, err := s.allocate()
		if err != nil {
			e := wrapErr(CodeInternal, msgInternal, err)
			s.logCause(ctx, "allocating a room failed", e)
			return "", RoomID{}, e
		}
		expires := issued.Add(max(s.pmkTTL, s.inviteTTL))
		rec := callrecord.Room{Str: room.Str, Num: room.Num}
		err = s.calls.Create(ctx, callrecord.Record{
			CallID:    callID,
			Room:      rec,
			Caller:    caller,
			Invitees:  in.UserIDList,
			Type:      string(in.Type),
			GroupID:   in.GroupID,
			CreatedAt: issued,
			ExpiresAt: expires,
			State:     callrecord.StateCreated,
		})
		switch {
		case err == nil:
			if e := s.indexCall(ctx, rec, expires, []string{caller}, in.UserIDList); e != nil {
				return "", RoomID{}, e
			}
			return callID, room, nil
		case errors.Is(err, callrecord.ErrExists):
			continue
		default:
			e := wrapErr(CodeUnavailable, msgRecordsDown, err)
			s.logCause(ctx, "storing the call record failed", e)
			return "", RoomID{}, e
		}
	}
	e := wrapErr(CodeUnavailable, msgRecordsDown, errors.New("every drawn room is held by a live call"))
	s.logCause(ctx, "allocating a room failed", e)
	return "", RoomID{}, e
}

// indexCall adds the room to every member's index of calls, so that an
// operator's ban finds the rooms to remove the user from. The room callbacks
// extend a record past this expiry while its call is active; the index is
// refreshed at each join.
func (s *Service) indexCall(ctx context.Context, room callrecord.Room, until time.Time, members ...[]string) *Error {
	for _, list := range members {
		for _, u := range list {
			if err := s.calls.AddUserRoom(ctx, u, room, until); err != nil {
				e := wrapErr(CodeUnavailable, msgRecordsDown, err)
				s.logCause(ctx, "indexing the call failed", e)
				return e
			}
		}
	}
	return nil
}

// joinRecord records the join in the call's record. The record is the
// source of truth: a call that ended (room dismissed) cannot be joined
// (410). A missing record does not refuse the join, since the call token
// is the capability: with the in-instance store another instance may hold
// the record. Store failures are 503.
func (s *Service) joinRecord(ctx context.Context, c *callClaims, userID string) *Error {
	_, err := s.calls.Update(ctx, callrecord.Room{Str: c.Room.Str, Num: c.Room.Num}, func(r *callrecord.Record) error {
		if r.CallID != c.ID || r.State == callrecord.StateEnded {
			return errCallEnded
		}
		if userID != r.Caller && !slices.Contains(r.Joined, userID) {
			r.Joined = append(r.Joined, userID)
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, callrecord.ErrNotFound):
		return nil
	case errors.Is(err, errCallEnded):
		return wrapErr(CodeExpired, msgCallEnded, err)
	default:
		e := wrapErr(CodeUnavailable, msgRecordsDown, err)
		s.logCause(ctx, "updating the call record failed", e)
		return e
	}
}

// renewable reports whether userID may renew its PrivateMapKey with the
// expired call token c: the call's record is live and not ended, and
// userID is its caller or an invitee who joined while the invitation was
// valid. This lets a custom client renew its ticket
// (updatePrivateMapKey) during a long call without a new invitation.
func (s *Service) renewable(ctx context.Context, c *callClaims, userID string) (bool, *Error) {
	rec, err := s.calls.Get(ctx, callrecord.Room{Str: c.Room.Str, Num: c.Room.Num})
	switch {
	case errors.Is(err, callrecord.ErrNotFound):
		return false, nil
	case err != nil:
		e := wrapErr(CodeUnavailable, msgRecordsDown, err)
		s.logCause(ctx, "reading the call record failed", e)
		return false, e
	}
	if rec.CallID != c.ID || rec.State == callrecord.StateEnded {
		return false, nil
	}
	return userID == rec.Caller || slices.Contains(rec.Joined, userID), nil
}

// errCallEnded aborts a join of a call whose record says it ended.
var errCallEnded = errors.New("call has ended")

// JoinCall verifies a call token and, when the verified caller is one of
// its invitees, returns a PrivateMapKey for the call's room with invitee
// privileges. The caller of the call may also "join" (for example after
// an app restart) and receives the caller's privileges again; anyone else
// gets 403 not_invited. A bad or tampered token is 401, an expired one or
// a call whose room was dismissed 410. The join is recorded in the call's
// record; once recorded, the caller and that invitee may call JoinCall with
// the same token after it expired, to renew their PrivateMapKey while the
// call's record lives and the call has not ended. Errors are *Error.
func (s *Service) JoinCall(ctx context.Context, creds identity.Credentials, in JoinCallRequest) (*JoinCallResponse, error) {
	id, e := s.authenticate(ctx, creds)
	if e != nil {
		return nil, e
	}
	if in.CallToken == "" {
		return nil, invalidRequest("callToken is required")
	}
	if e := s.limit(ctx, ratelimit.OpCallJoin, id.UserID); e != nil {
		return nil, e
	}
	m, e := s.material(ctx)
	if e != nil {
		return nil, e
	}
	now := s.now()
	var c callClaims
	switch err := token.Verify(in.CallToken, token.AudienceCall, m.tokens, now, s.leeway, &c); {
	case errors.Is(err, token.ErrExpired) && c.isCallToken():
		// An expired invitation still renews the PrivateMapKey of someone
		// already in the call (see renewable); anyone else gets 410.
		if c.check(m.sdkAppID) != nil {
			return nil, wrapErr(CodeExpired, msgExpiredCallToken, err)
		}
		ok, e := s.renewable(ctx, &c, id.UserID)
		if e != nil {
			return nil, e
		}
		if !ok {
			return nil, wrapErr(CodeExpired, msgExpiredCallToken, err)
		}
	case err != nil:
		return nil, wrapErr(CodeUnauthenticated, msgInvalidCallToken, err)
	}
	if err := c.check(m.sdkAppID); err != nil {
		return nil, wrapErr(CodeUnauthenticated, msgInvalidCallToken, err)
	}
	if e := s.checkCallToken(ctx, &c); e != nil {
		return nil, e
	}
	isCaller := id.UserID == c.Subject
	if !isCaller && !slices.Contains(c.Invitees, id.UserID) {
		return nil, &Error{Code: CodeNotInvited, Message: msgNotInvited}
	}
	if e := s.joinRecord(ctx, &c, id.UserID); e != nil {
		return nil, e
	}
	if e := s.indexCall(ctx, callrecord.Room{Str: c.Room.Str, Num: c.Room.Num}, now.Add(s.pmkTTL), []string{id.UserID}); e != nil {
		return nil, e
	}
	priv := s.privileges(c.Type, isCaller)
	pmk, err := m.signer.PrivateMapKey(id.UserID, s.pmkTTL, now, c.Room.usersig(), priv)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "signing a PrivateMapKey failed", e)
		return nil, e
	}
	issued := issuedAt(now)
	return &JoinCallResponse{
		CallID:        c.ID,
		RoomID:        c.Room,
		PrivateMapKey: pmk,
		Privileges:    uint32(priv),
		ExpiresAt:     issued.Add(s.pmkTTL),
		ServerTime:    issued,
	}, nil
}

// isCallToken reports whether the claims carry the call token's issuer and
// audience. token.Verify reports token.ErrExpired for every expired token
// that a known key signed, whatever its audience (jwt/v5 joins the claim
// errors), and fills c before validating; an expired token of another kind
// (a session token) is an invalid call token (401), not an expired
// invitation (410).
func (c *callClaims) isCallToken() bool {
	return c.Issuer == token.Issuer && slices.Contains(c.Audience, token.AudienceCall)
}

// check validates the private claims of a correctly signed call token. A
// token minted by this service always passes; the check guards against a
// token minted under the same key by something else.
func (c *callClaims) check(sdkAppID uint32) error {
	switch {
	case c.SDKAppID != sdkAppID:
		return errors.New("call token: SDKAppID mismatch")
	case !identity.ValidUserID(c.Subject):
		return errors.New("call token: invalid caller")
	case !validCallID(c.ID):
		return errors.New("call token: invalid call ID")
	case !c.Type.valid():
		return errors.New("call token: invalid call type")
	case c.Room.usersig().Validate() != nil:
		return errors.New("call token: invalid room")
	case len(c.Invitees) == 0 || len(c.Invitees) > MaxMaxInvitees:
		return errors.New("call token: invalid invitee list")
	}
	for _, u := range c.Invitees {
		if !identity.ValidUserID(u) {
			return errors.New("call token: invalid invitee")
		}
	}
	return nil
}

// validateCall checks a create-call request against the policy.
func (s *Service) validateCall(caller string, in *CreateCallRequest) *Error {
	switch {
	case in.Type == "":
		return invalidRequest(`type is required ("audio" or "video")`)
	case !in.Type.valid():
		return invalidRequest(`type must be "audio", "video", 1 (audio) or 2 (video)`)
	case len(in.UserIDList) == 0:
		return invalidRequest("userIDList must name at least one invitee")
	case len(in.UserIDList) > s.maxInvitees:
		return invalidRequest("userIDList may name at most " + strconv.Itoa(s.maxInvitees) + " invitees")
	}
	for i, u := range in.UserIDList {
		field := "userIDList[" + strconv.Itoa(i) + "]"
		switch {
		case !identity.ValidUserID(u):
			return invalidRequest(field + " is not a valid userID (1-32 characters of A-Z a-z 0-9 _ -)")
		case u == caller:
			return invalidRequest(field + " is the caller; a user cannot invite themself")
		case slices.Contains(in.UserIDList[:i], u):
			return invalidRequest(field + " is a duplicate")
		}
	}
	if in.GroupID != "" && !validGroupID(in.GroupID) {
		return invalidRequest("groupID must be 1-" + strconv.Itoa(MaxGroupIDLen) + " characters of A-Z a-z 0-9 _ - @ #")
	}
	return nil
}

// validGroupID reports whether g is 1..MaxGroupIDLen characters of
// [A-Za-z0-9_@#-] (custom IM group IDs and generated "@TGS#..." IDs).
func validGroupID(g string) bool {
	if len(g) == 0 || len(g) > MaxGroupIDLen {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '@', c == '#':
		default:
			return false
		}
	}
	return true
}

// privileges returns the ticket privileges for a call type: caller audio
// 15, video 63; invitees the same without create-room; plus the
// screen-share bits when configured.
func (s *Service) privileges(t CallType, caller bool) usersig.Privileges {
	var p usersig.Privileges
	switch {
	case t == CallVideo && caller:
		p = usersig.PresetVideoCaller
	case t == CallVideo:
		p = usersig.PresetVideoInvitee
	case caller:
		p = usersig.PresetAudioCaller
	default:
		p = usersig.PresetAudioInvitee
	}
	if s.screenShare {
		p |= usersig.PresetScreenShare
	}
	return p
}

// idPrefix starts every call ID and string room ID.
const idPrefix = "c_"

// idLen is the length of a call ID: the prefix plus 22 base64url characters.
const idLen = len(idPrefix) + 22

// randomID returns "c_" + 22 unpadded base64url characters of 128 random
// bits. The characters (A-Z a-z 0-9 - _) are all allowed in TRTC string
// room IDs.
func (s *Service) randomID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	return idPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validCallID reports whether id has the shape randomID produces.
func validCallID(id string) bool {
	if len(id) != idLen || id[:len(idPrefix)] != idPrefix {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(id[len(idPrefix):])
	return err == nil
}

// maxRandomRejections bounds rejection sampling of numeric rooms; each
// draw is rejected with probability 2^-31, so hitting the bound means the
// randomness source is broken.
const maxRandomRejections = 8

// allocate returns a new call ID and room. String rooms get their own 128
// random bits; numeric rooms are uniform in 1..MaxNumericRoom,
// TUICallKit's range (31 random bits; 0 is redrawn, so there is no modulo
// bias).
func (s *Service) allocate() (string, RoomID, error) {
	callID, err := s.randomID()
	if err != nil {
		return "", RoomID{}, err
	}
	if !s.numericRoom {
		str, err := s.randomID()
		if err != nil {
			return "", RoomID{}, err
		}
		return callID, RoomID{Str: str}, nil
	}
	var b [4]byte
	for range maxRandomRejections {
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return "", RoomID{}, fmt.Errorf("reading randomness: %w", err)
		}
		if n := binary.BigEndian.Uint32(b[:]) & MaxNumericRoom; n >= 1 {
			return callID, RoomID{Num: n}, nil
		}
	}
	return "", RoomID{}, errors.New("randomness source keeps yielding out-of-range room IDs")
}

// usersig converts r to the signing core's Room.
func (r RoomID) usersig() usersig.Room {
	if r.Str != "" {
		return usersig.StringRoom(r.Str)
	}
	return usersig.NumericRoom(r.Num)
}
