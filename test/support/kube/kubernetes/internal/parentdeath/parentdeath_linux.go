// Package parentdeath lets a test's child process die with the test process, even when that one is
// SIGKILLed (a timed-out test file), so no kube-apiserver or etcd outlives its test.
package parentdeath

import (
	"os"
	"syscall"
)

// init runs on the main thread, whose parent-death signal is the one that counts.
func init() {
	if os.Getenv("MCPMUX_DIE_WITH_PARENT") != "1" {
		return
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		os.Stderr.WriteString("parentdeath: prctl(PR_SET_PDEATHSIG) failed: " + errno.Error() + "\n")
		os.Exit(1)
	}
	// The parent may have died before prctl took effect: then we were already re-parented.
	if os.Getppid() == 1 {
		os.Exit(1)
	}
}
