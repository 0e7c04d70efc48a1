//go:build !unix

package main

import "time"

// syncDisks does nothing where the system offers no sync of every disk.
func syncDisks() {}

// processCPU returns 0 where the process's CPU time cannot be read.
func processCPU() time.Duration { return 0 }
