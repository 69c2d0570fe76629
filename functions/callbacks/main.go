// Command callbacks is the callsign function that receives Tencent's TRTC
// room and media event callbacks (POST /v1/callbacks/trtc) and enforces the
// call records: anyone entering a call's room who is not its caller or an
// invitee is removed through the TRTC cloud API (CALLSIGN_CALL_ENFORCEMENT).
// It also receives TUICallKit's Call.CallbackAfterStartCall
// (POST /v1/callbacks/call) and ends calls callsign did not set up, or whose
// caller is banned, after confirming them with the IM REST API.
// The same binary runs on AWS Lambda, as an SCF Web function or as a local
// server; see docs/enforcement.md.
package main

import (
	"os"

	"github.com/callsign-dev/callsign/functions/internal/launch"
)

func main() {
	os.Exit(launch.Main("callbacks", []string{"callback.trtc", "callback.call"}))
}
