package sample

import (
	"syscall"
	"unsafe"
)

// threadCPU returns the calling OS thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID), so
// benchmarks can report a cost that other load on a shared machine does not inflate.
func threadCPU() (int64, bool) {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, false
	}
	return ts.Nano(), true
}
