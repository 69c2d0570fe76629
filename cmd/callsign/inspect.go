package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/usersig"
)

func init() {
	register(command{name: "inspect", summary: "decode a ticket without a key (not a verification)", run: runInspect})
}

// inspectJSON is the --json output; fields appear only where they apply.
type inspectJSON struct {
	Ver           string       `json:"ver"`
	Identifier    string       `json:"identifier"`
	SDKAppID      uint32       `json:"sdkAppID"`
	Time          int64        `json:"time"`
	Expire        int64        `json:"expire"`
	ExpiresAt     string       `json:"expiresAt"`
	Expired       bool         `json:"expired"`
	Sig           string       `json:"sig"`
	UserBuf       *string      `json:"userbuf,omitempty"`
	PrivateMapKey *privateJSON `json:"privateMapKey,omitempty"`
}

// privateJSON describes a PrivateMapKey userbuf: roomID for a numeric-room
// (version 0) userbuf, even when it is 0 (what the official libraries sign
// for an empty string room), and strRoomID for a string-room (version 1)
// userbuf, even when empty; roomID also appears for a version-1 userbuf whose
// dwAuthID is not 0, so nothing in the userbuf is hidden.
type privateJSON struct {
	RoomID     *uint32 `json:"roomID,omitempty"`
	StrRoomID  *string `json:"strRoomID,omitempty"`
	ExpiresAt  uint32  `json:"expiresAt"`
	Privileges uint32  `json:"privileges"`
}

func runInspect(e *env, args []string) int {
	fs := newFlagSet(e, "inspect", "[--json] [--now UNIX] TICKET|-")
	asJSON := fs.Bool("json", false, "print a JSON object instead of text")
	var now intFlag
	fs.Var(&now, "now", "judge expiry at this Unix time (default: the current time)")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	ticket, code, ok := ticketArg(e, fs, pos)
	if !ok {
		return code
	}
	tk, err := usersig.Decode(ticket)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign inspect: %v\n", err)
		return exitFail
	}
	at := clock(e, &now)
	expired := at.Unix() > tk.Time+tk.Expire
	expiresAt := tk.ExpiresAt().UTC().Format(time.RFC3339)
	if *asJSON {
		out := inspectJSON{
			Ver: tk.Version, Identifier: tk.Identifier, SDKAppID: tk.SDKAppID, Time: tk.Time, Expire: tk.Expire,
			ExpiresAt: expiresAt, Expired: expired, Sig: tk.Sig,
		}
		if tk.UserBuf != nil {
			ub := base64.StdEncoding.EncodeToString(tk.UserBuf)
			out.UserBuf = &ub
		}
		if pm := tk.PrivateMap; pm != nil {
			p := &privateJSON{ExpiresAt: pm.ExpiresAt, Privileges: uint32(pm.Privileges)}
			if pm.Version == 0 || pm.Room.ID != 0 {
				p.RoomID = &pm.Room.ID
			}
			if pm.Version == 1 {
				p.StrRoomID = &pm.Room.Str
			}
			out.PrivateMapKey = p
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(e.stderr, "callsign inspect: write: %v\n", err)
			return exitFail
		}
		return exitOK
	}

	kind := "UserSig"
	switch {
	case tk.PrivateMap != nil:
		kind = "PrivateMapKey"
	case tk.UserBuf != nil:
		kind = "ticket with an unrecognised userbuf"
	}
	status := "valid for " + time.Unix(tk.Time+tk.Expire, 0).Sub(at).String()
	if expired {
		status = "expired"
	}
	w := e.stdout
	fmt.Fprintf(w, "%s (decoded without a key: the signature is NOT verified)\n", kind)
	fmt.Fprintf(w, "version:     %s\n", tk.Version)
	fmt.Fprintf(w, "identifier:  %s\n", tk.Identifier)
	fmt.Fprintf(w, "sdkAppID:    %d\n", tk.SDKAppID)
	fmt.Fprintf(w, "time:        %d (%s)\n", tk.Time, time.Unix(tk.Time, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "expire:      %d s (%s)\n", tk.Expire, time.Duration(tk.Expire)*time.Second)
	fmt.Fprintf(w, "expiresAt:   %s (%s)\n", expiresAt, status)
	fmt.Fprintf(w, "sig:         %s\n", tk.Sig)
	if tk.UserBuf != nil {
		fmt.Fprintf(w, "userbuf:     %s (%d bytes)\n", base64.StdEncoding.EncodeToString(tk.UserBuf), len(tk.UserBuf))
	}
	if pm := tk.PrivateMap; pm != nil {
		if pm.Version == 0 || pm.Room.ID != 0 {
			fmt.Fprintf(w, "roomID:      %d\n", pm.Room.ID)
		}
		if pm.Version == 1 {
			fmt.Fprintf(w, "strRoomID:   %s\n", strconv.Quote(pm.Room.Str))
		}
		fmt.Fprintf(w, "privileges:  %s\n", pm.Privileges)
		fmt.Fprintf(w, "pmkExpires:  %d (%s)\n", pm.ExpiresAt, time.Unix(int64(pm.ExpiresAt), 0).UTC().Format(time.RFC3339))
	}
	return exitOK
}
