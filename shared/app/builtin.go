package app

import (
	"errors"
	"fmt"
)

// ErrNotBuiltIn is returned (wrapped) by New when the configuration needs a
// part that the binary was built without. The per-cloud packages leave
// parts out with build tags (see docs/deploy.md):
//
//	callsign.noredis    the Redis limiter, call records and bans
//	callsign.notencent  the SCF Go1 event-function runtime and the Tencent Cloud SSM secret source
//	callsign.notrtcapi  the TRTC cloud API client (room removals), needed by the callback operations
//
// The default build (go build, go test, cmd/callsign) has every part.
var ErrNotBuiltIn = errors.New("not built into this binary")

// notBuiltIn is the start-up error for a setting whose support the build
// tag left out.
func notBuiltIn(setting, part, tag string) error {
	return fmt.Errorf("app: %s: this binary was built without %s (build tag %s); package it for the stage's configuration: %w",
		setting, part, tag, ErrNotBuiltIn)
}
