package reference

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServiceLogCheckpointed commits 2,000 small transactions on a
// service's database with pauses between them, and checks that the
// background checkpoint keeps its write-ahead log under half of their
// size, where the service's own connection never checkpoints.
func TestServiceLogCheckpointed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "service.db")
	db, err := openDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	done := make(chan struct{})
	go func() { checkpointLoop(ctx, path, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }()

	if _, err := db.ExecContext(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)`); err != nil {
		t.Fatal(err)
	}
	const commits = 2000
	for i := range commits {
		if _, err := db.ExecContext(ctx, `INSERT INTO filler (id, body) VALUES ($1, $2)`, i, strings.Repeat("y", 3000)); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if total := int64(commits) * 4096; info.Size() > total/2 {
		t.Errorf("write-ahead log is %d bytes after %d commits of %d bytes or more in all, want under half of that", info.Size(), commits, total)
	}
}
