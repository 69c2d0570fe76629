// Command calls is the callsign function that creates and joins calls
// (POST /v1/calls and /v1/calls/join, callFunction actions "call.create"
// and "call.join"). The same binary runs on AWS Lambda, as a Tencent SCF Go1
// event function, as an SCF Web function, or as a local server; see
// docs/platforms.md.
package main

import (
	"os"

	"github.com/callsign-dev/callsign/functions/internal/launch"
)

func main() {
	os.Exit(launch.Main("calls", []string{"call.create", "call.join"}))
}
