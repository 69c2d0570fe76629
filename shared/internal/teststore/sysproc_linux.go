package teststore

import "syscall"

// sysProcAttr asks Linux to kill the server if the test process dies without
// stopping it, so no server outlives a crashed or killed test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
