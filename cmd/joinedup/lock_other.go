//go:build !unix

package main

// lockDataDir does nothing on systems without flock.
//
// NOTE: there, nothing stops two hubs from sharing a data directory.
func lockDataDir(string) (func() error, error) {
	return func() error { return nil }, nil
}
