// Command usersig is the callsign function that issues UserSigs
// (POST /v1/usersig, callFunction action "usersig"). The same binary runs on
// AWS Lambda, as a Tencent SCF Go1 event function, as an SCF Web function,
// or as a local server; see docs/platforms.md.
package main

import (
	"os"

	"github.com/callsign-dev/callsign/functions/internal/launch"
)

func main() {
	os.Exit(launch.Main("usersig", []string{"usersig"}))
}
