package usersig

import "encoding/binary"

// PrivateMap is the decoded userbuf of a PrivateMapKey (spec §5.1).
type PrivateMap struct {
	// Version is cVer: 0 for a numeric room, 1 for a string room.
	Version uint8
	// Account is the userID the ticket is for; it must equal TLS.identifier.
	Account string
	// SDKAppID is dwSdkAppid; it must equal TLS.sdkappid.
	SDKAppID uint32
	// Room is the room: dwAuthID for version 0; roomStr (and dwAuthID, which
	// must be 0) for version 1.
	Room Room
	// ExpiresAt is dwExpTime, an absolute Unix time; it must equal
	// TLS.time + TLS.expire.
	ExpiresAt uint32
	// Privileges is dwPrivilegeMap.
	Privileges Privileges
	// AccountType is dwAccountType; every official implementation writes 0.
	AccountType uint32
}

// Userbuf field sizes and offsets relative to the end of the account.
const (
	userBufFixedLen = 23 // cVer, wAccountLen, five uint32 fields
	roomStrLenSize  = 2  // wRoomStrLen
)

// appendUserBuf appends the binary userbuf of pm (spec §5.1). pm must be
// validated: account and room lengths fit uint16. The version byte follows
// the room (1 for a string room), whatever pm.Version says.
func appendUserBuf(dst []byte, pm *PrivateMap) []byte {
	ver := byte(0)
	if pm.Room.IsString() {
		ver = 1
	}
	dst = append(dst, ver)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(pm.Account)))
	dst = append(dst, pm.Account...)
	dst = binary.BigEndian.AppendUint32(dst, pm.SDKAppID)
	dst = binary.BigEndian.AppendUint32(dst, pm.Room.ID)
	dst = binary.BigEndian.AppendUint32(dst, pm.ExpiresAt)
	dst = binary.BigEndian.AppendUint32(dst, uint32(pm.Privileges))
	dst = binary.BigEndian.AppendUint32(dst, pm.AccountType)
	if ver == 1 {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(pm.Room.Str)))
		dst = append(dst, pm.Room.Str...)
	}
	return dst
}

// parseUserBuf parses b as a PrivateMapKey userbuf. It succeeds only when
// the version is 0 or 1 and the lengths add up to exactly len(b); it does not
// check the values (Verify does).
func parseUserBuf(b []byte) (*PrivateMap, bool) {
	if len(b) < userBufFixedLen || b[0] > 1 {
		return nil, false
	}
	pm := &PrivateMap{Version: b[0]}
	accLen := int(binary.BigEndian.Uint16(b[1:3]))
	rest := b[3:]
	if len(rest) < accLen+20 {
		return nil, false
	}
	pm.Account = string(rest[:accLen])
	rest = rest[accLen:]
	pm.SDKAppID = binary.BigEndian.Uint32(rest[0:4])
	pm.Room.ID = binary.BigEndian.Uint32(rest[4:8])
	pm.ExpiresAt = binary.BigEndian.Uint32(rest[8:12])
	pm.Privileges = Privileges(binary.BigEndian.Uint32(rest[12:16]))
	pm.AccountType = binary.BigEndian.Uint32(rest[16:20])
	rest = rest[20:]
	if pm.Version == 0 {
		if len(rest) != 0 {
			return nil, false
		}
		return pm, true
	}
	if len(rest) < roomStrLenSize {
		return nil, false
	}
	roomLen := int(binary.BigEndian.Uint16(rest[0:2]))
	rest = rest[roomStrLenSize:]
	if len(rest) != roomLen {
		return nil, false
	}
	pm.Room.Str = string(rest)
	return pm, true
}
