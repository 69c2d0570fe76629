//go:build !linux

package teststore

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; Stop and the
// t.Cleanup registered by StartRedis/StartDynalite stop the server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
