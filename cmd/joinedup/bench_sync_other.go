//go:build !unix

package main

// syncDisks does nothing where the system offers no sync of every disk.
func syncDisks() {}
