package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup/store/sqlite"
)

// TestWriteAheadLogCheckpointed commits 2,000 small transactions with
// pauses between them, and checks that the write-ahead log stays under
// half of their size, because the background checkpoint copies it back
// into the database and the writer then starts it again.
func TestWriteAheadLogCheckpointed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)`); err != nil {
		t.Fatal(err)
	}
	const commits = 2000
	body := strings.Repeat("x", 3000)
	for i := range commits {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO filler (id, body) VALUES ($1, $2)`, i, body); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			time.Sleep(300 * time.Millisecond) // a checkpoint is due
		}
	}
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// Each commit adds at least one 4 KiB page to the log.
	t.Logf("write-ahead log: %d bytes", info.Size())
	if total := int64(commits) * 4096; info.Size() > total/2 {
		t.Errorf("write-ahead log is %d bytes after %d commits of %d bytes or more in all, want under half of that", info.Size(), commits, total)
	}
}
