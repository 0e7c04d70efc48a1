//go:build unix

package main

import "syscall"

// syncDisks writes every file's changed data to disk, so that a raw rate
// measured after it does not wait for writes an earlier run left behind.
func syncDisks() { syscall.Sync() }
