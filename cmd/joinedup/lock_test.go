//go:build unix

package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestDataDirectoryHeldByOneHub checks that a hub does not start on a data
// directory another hub holds, and that the directory is free again once
// the first hub has closed.
func TestDataDirectoryHeldByOneHub(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock a free data directory: %v", err)
	}

	cfg := DefaultConfig()
	cfg.Addr, cfg.Data = "127.0.0.1:0", dir
	_, err = OpenHub(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "in use by another joinedup hub") {
		t.Fatalf("open a hub on a held data directory: got %v, want an error saying it is in use", err)
	}
	if _, err := lockDataDir(dir); err == nil {
		t.Fatal("the data directory could be locked twice")
	}

	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock the data directory after it was released: %v", err)
	}
	again()
}
