// Command callsign is the all-in-one callsign function: every operation
// over HTTP and every callFunction action. It is the binary for the
// CloudBase Go1 event function (wx.cloud.callFunction) and for the SCF Web
// function (HTTPS through a Function URL), and it runs on AWS Lambda or as a
// local server too; see docs/platforms.md.
package main

import (
	"os"

	"github.com/callsign-dev/callsign/functions/internal/launch"
)

func main() {
	os.Exit(launch.Main("callsign", nil))
}
