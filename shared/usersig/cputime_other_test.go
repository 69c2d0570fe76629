//go:build !unix

package usersig

import "time"

// processStart anchors cpuTime.
var processStart = time.Now()

// cpuTime falls back to the wall clock where getrusage is unavailable.
func cpuTime() time.Duration { return time.Since(processStart) }
