//go:build unix

package main

import (
	"syscall"
	"time"
)

// syncDisks writes every file's changed data to disk, so that a raw rate
// measured after it does not wait for writes an earlier run left behind.
func syncDisks() { syscall.Sync() }

// processCPU returns the CPU time, user and system, that this process has
// used so far, or 0 when getrusage fails.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
