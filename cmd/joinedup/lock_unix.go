//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDataDir takes an exclusive lock on the lock file in dir, so that a
// second hub cannot share the data directory's store, JetStream files and
// reference services with a running one. The operating system releases
// the lock when the process ends, however it ends; unlock releases it
// before that.
func lockDataDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, "joinedup.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner := ""
		if b, readErr := os.ReadFile(path); readErr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				owner = " (process " + pid + ")"
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("the data directory %s is in use by another joinedup hub%s: stop that hub, or give this one another -data", dir, owner)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	// The process id is for the message above; the lock is the flock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f.Close, nil
}
