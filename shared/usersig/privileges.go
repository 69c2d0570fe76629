package usersig

import (
	"strconv"
	"strings"
)

// Privileges is the PrivateMapKey privilege bit map (dwPrivilegeMap, spec
// §5.2). Only the low eight bits are defined, so only 0..255 is valid.
type Privileges uint32

// Privilege bits. Bit 8 is 128 (some official comments wrongly say 200).
const (
	PrivCreateRoom   Privileges = 1   // create the room
	PrivEnterRoom    Privileges = 2   // enter the room
	PrivSendAudio    Privileges = 4   // send audio
	PrivRecvAudio    Privileges = 8   // receive audio
	PrivSendVideo    Privileges = 16  // send video
	PrivRecvVideo    Privileges = 32  // receive video
	PrivSendSubVideo Privileges = 64  // send sub-stream (screen share) video
	PrivRecvSubVideo Privileges = 128 // receive sub-stream (screen share) video
	PrivAll          Privileges = 255 // every defined privilege
)

// Presets used by the call service (DESIGN §2).
const (
	// PresetAudioCaller is create + enter + send/receive audio (15).
	PresetAudioCaller = PrivCreateRoom | PrivEnterRoom | PrivSendAudio | PrivRecvAudio
	// PresetVideoCaller is PresetAudioCaller + send/receive video (63).
	PresetVideoCaller = PresetAudioCaller | PrivSendVideo | PrivRecvVideo
	// PresetAudioInvitee is enter + send/receive audio (14).
	PresetAudioInvitee = PrivEnterRoom | PrivSendAudio | PrivRecvAudio
	// PresetVideoInvitee is PresetAudioInvitee + send/receive video (62).
	PresetVideoInvitee = PresetAudioInvitee | PrivSendVideo | PrivRecvVideo
	// PresetScreenShare is send + receive sub-stream video (192), added to a
	// preset when screen sharing is configured.
	PresetScreenShare = PrivSendSubVideo | PrivRecvSubVideo
)

// privilegeName returns the name of one privilege bit.
func privilegeName(bit Privileges) string {
	switch bit {
	case PrivCreateRoom:
		return "createRoom"
	case PrivEnterRoom:
		return "enterRoom"
	case PrivSendAudio:
		return "sendAudio"
	case PrivRecvAudio:
		return "recvAudio"
	case PrivSendVideo:
		return "sendVideo"
	case PrivRecvVideo:
		return "recvVideo"
	case PrivSendSubVideo:
		return "sendSubVideo"
	case PrivRecvSubVideo:
		return "recvSubVideo"
	}
	return ""
}

// Valid reports whether p uses only the eight defined bits.
func (p Privileges) Valid() bool { return p <= PrivAll }

// String renders p as its decimal value followed by the bit names, e.g.
// "42 (enterRoom|recvAudio|recvVideo)", "0 (none)" or "256 (invalid)".
func (p Privileges) String() string {
	s := strconv.FormatUint(uint64(p), 10)
	if !p.Valid() {
		return s + " (invalid)"
	}
	if p == 0 {
		return s + " (none)"
	}
	names := make([]string, 0, 8)
	for bit := PrivCreateRoom; bit <= PrivRecvSubVideo; bit <<= 1 {
		if p&bit != 0 {
			names = append(names, privilegeName(bit))
		}
	}
	return s + " (" + strings.Join(names, "|") + ")"
}
