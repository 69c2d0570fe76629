//go:build unix

package usersig

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used so far (user + system,
// all threads, so including the garbage collector's background work). A
// benchmark that measures it is not charged for the time other processes on
// a loaded machine hold the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
