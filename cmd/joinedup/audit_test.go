package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

// auditFixture is a data directory with a key and a log of 20 entries,
// each appended in a call of its own, on SQLite or on PostgreSQL.
type auditFixture struct {
	dir         string
	databaseURL string
	db          *store.DB
	log         *audit.Log
}

func newAuditFixture(t *testing.T, backend string) *auditFixture {
	t.Helper()
	ctx := context.Background()
	f := &auditFixture{dir: t.TempDir()}
	var err error
	if backend == "postgres" {
		f.databaseURL = storetest.PostgresURL(t)
		f.db, err = postgres.Open(ctx, f.databaseURL)
	} else {
		f.db, err = sqlite.Open(ctx, filepath.Join(f.dir, "joinedup.db"))
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { f.db.Close() })

	key, err := audit.LoadOrCreateKey(f.dir, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if f.log, err = audit.Open(ctx, audit.Config{Storage: f.db, Key: key}); err != nil {
		t.Fatalf("open log: %v", err)
	}
	for i := 0; i < 20; i++ {
		e := audit.Entry{Actor: "staff-1", Action: audit.ActionAccess, Subject: fmt.Sprintf("person-%d", i), Purpose: "care"}
		if _, err := f.log.Append(ctx, e); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	return f
}

func (f *auditFixture) verify(extra ...string) (string, error) {
	args := []string{"verify", "--data", f.dir}
	if f.databaseURL != "" {
		args = append(args, "--database-url", f.databaseURL)
	}
	var stdout, stderr bytes.Buffer
	err := runAudit(context.Background(), append(args, extra...), &stdout, &stderr)
	return stdout.String(), err
}

func (f *auditFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.db.SQL().Exec(query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

func eachAuditBackend(t *testing.T, fn func(t *testing.T, f *auditFixture)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { fn(t, newAuditFixture(t, backend)) })
	}
}

func TestAuditVerifyCommandHonestLog(t *testing.T) {
	eachAuditBackend(t, func(t *testing.T, f *auditFixture) {
		out, err := f.verify()
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if !strings.Contains(out, "20 entries") {
			t.Errorf("output = %q, want it to report 20 entries", out)
		}
	})
}

func TestAuditVerifyCommandTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper []string
		want   string
	}{
		{"edited entry", []string{`UPDATE audit_entries SET subject = 'person-99' WHERE seq = 7`}, "entry 7 does not match"},
		{"deleted entries", []string{`DELETE FROM audit_entries WHERE seq BETWEEN 5 AND 6`}, "entry 5 is missing"},
		{"deleted and renumbered entries", renumber(5, 2, 20), "entry 5 does not match"},
		{"cut tail", []string{`DELETE FROM audit_entries WHERE seq >= 15`}, "shrunk to 15 entries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachAuditBackend(t, func(t *testing.T, f *auditFixture) {
				for _, q := range tc.tamper {
					f.exec(t, q)
				}
				_, err := f.verify()
				if err == nil {
					t.Fatalf("verify after tampering = nil, want an error containing %q", tc.want)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("verify error = %q, want it to contain %q", err, tc.want)
				}
			})
		})
	}
}

// renumber returns the statements that delete n entries from first on and
// move the entries after them down to close the gap.
func renumber(first, n, size int) []string {
	qs := []string{fmt.Sprintf(`DELETE FROM audit_entries WHERE seq >= %d AND seq < %d`, first, first+n)}
	for seq := first + n; seq < size; seq++ {
		qs = append(qs, fmt.Sprintf(`UPDATE audit_entries SET seq = %d WHERE seq = %d`, seq-n, seq))
	}
	return qs
}

func TestAuditVerifyCommandCheckpointFile(t *testing.T) {
	eachAuditBackend(t, func(t *testing.T, f *auditFixture) {
		ctx := context.Background()
		cp, err := f.log.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		notePath := filepath.Join(t.TempDir(), "checkpoint.txt")
		if err := os.WriteFile(notePath, cp.Note, 0o644); err != nil {
			t.Fatalf("write checkpoint: %v", err)
		}
		jsonPath := filepath.Join(t.TempDir(), "checkpoint.json")
		body, err := json.Marshal(audit.CheckpointResponse{Origin: cp.Origin, Size: cp.Size, RootHash: cp.Hash, Note: string(cp.Note)})
		if err != nil {
			t.Fatalf("encode checkpoint: %v", err)
		}
		if err := os.WriteFile(jsonPath, body, 0o644); err != nil {
			t.Fatalf("write checkpoint: %v", err)
		}

		// Honest appends after the published checkpoint.
		if _, err := f.log.Append(ctx, audit.Entry{Actor: "staff-2", Action: audit.ActionDisclosure, Subject: "person-1"}); err != nil {
			t.Fatalf("append: %v", err)
		}
		if _, err := f.verify("--checkpoint", notePath); err != nil {
			t.Errorf("verify against an older signed note: %v", err)
		}
		if _, err := f.verify("--checkpoint", jsonPath); err != nil {
			t.Errorf("verify against an older checkpoint as JSON: %v", err)
		}
		// A note saved with another line break at its end, as jq -r saves
		// it, or with CRLF line breaks, is the same note.
		for name, note := range map[string][]byte{
			"another line break at its end": append(bytes.Clone(cp.Note), '\n'),
			"CRLF line breaks":              bytes.ReplaceAll(cp.Note, []byte("\n"), []byte("\r\n")),
			"a byte order mark":             append([]byte("\ufeff"), cp.Note...),
		} {
			path := filepath.Join(t.TempDir(), "checkpoint.txt")
			if err := os.WriteFile(path, note, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := f.verify("--checkpoint", path); err != nil {
				t.Errorf("verify against a note with %s: %v", name, err)
			}
		}

		// Cutting the tail with its checkpoints passes on the database
		// alone, but not against the published checkpoint.
		f.exec(t, `DELETE FROM audit_entries WHERE seq >= 12`)
		f.exec(t, `DELETE FROM audit_checkpoints WHERE size > 12`)
		if _, err := f.verify(); err != nil {
			t.Errorf("verify against stored checkpoints after cutting them too = %v, want nil", err)
		}
		_, err = f.verify("--checkpoint", notePath)
		if err == nil || !strings.Contains(err.Error(), "shrunk to 12 entries") {
			t.Errorf("verify against the published checkpoint = %v, want the log shrunk to 12 entries", err)
		}
	})
}

func TestAuditVerifyCommandForeignCheckpoint(t *testing.T) {
	f := newAuditFixture(t, "sqlite")
	other, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	otherLog, err := audit.Open(context.Background(), audit.Config{Storage: storetest.SQLite(t), Key: other})
	if err != nil {
		t.Fatalf("open other log: %v", err)
	}
	if _, err := otherLog.Append(context.Background(), audit.Entry{Actor: "x", Action: audit.ActionAccess}); err != nil {
		t.Fatalf("append: %v", err)
	}
	cp, err := otherLog.Checkpoint(context.Background())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	path := filepath.Join(t.TempDir(), "foreign.txt")
	if err := os.WriteFile(path, cp.Note, 0o644); err != nil {
		t.Fatalf("write checkpoint: %v", err)
	}

	_, err = f.verify("--checkpoint", path)
	if err == nil || !strings.Contains(err.Error(), "not signed by the audit key") {
		t.Errorf("verify against a checkpoint signed by another key = %v, want an error that says so", err)
	}

	// A file that is no note at all gets a sentence, not an error code.
	garbage := filepath.Join(t.TempDir(), "garbage.txt")
	if err := os.WriteFile(garbage, []byte("not a checkpoint\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.verify("--checkpoint", garbage)
	if err == nil || !strings.Contains(err.Error(), "The checkpoint is not a valid signed note (") ||
		!strings.Contains(err.Error(), "Give the note that GET /api/v1/audit/checkpoint serves") || strings.Contains(err.Error(), "invalid: ") {
		t.Errorf("verify against a file that is no checkpoint = %v, want a sentence that says what to give", err)
	}
}

func TestAuditVerifyCommandUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		// store is whether DIR holds a SQLite store.
		store bool
		want  string
	}{
		{"no subcommand", nil, false, "subcommand missing"},
		{"unknown subcommand", []string{"check"}, false, `unknown subcommand "check"`},
		{"missing store", []string{"verify", "--data", "DIR", "--key", "KEY"}, false, "joinedup.db does not exist"},
		{"missing key", []string{"verify", "--data", "DIR"}, true, "pass the log's public key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.store {
				db, err := sqlite.Open(context.Background(), filepath.Join(dir, "joinedup.db"))
				if err != nil {
					t.Fatalf("open store: %v", err)
				}
				db.Close()
			}
			keyPath := filepath.Join(dir, "other.pub")
			writePublicKey(t, keyPath)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.NewReplacer("DIR", dir, "KEY", keyPath).Replace(a)
			}
			var stdout, stderr bytes.Buffer
			err := runAudit(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("runAudit(%q) = %v, want an error containing %q", args, err, tc.want)
			}
		})
	}
}

// TestAuditVerifyMissingData checks that verify names a data directory
// or a database that does not exist, and creates neither.
func TestAuditVerifyMissingData(t *testing.T) {
	parent := t.TempDir()
	missing := filepath.Join(parent, "missing")
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(parent, "log.pub")
	writePublicKey(t, keyPath)
	// Verify must stop at the missing directory before it connects to
	// this store, where nothing listens.
	const databaseURL = "postgres://joinedup@127.0.0.1:1/joinedup"

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"--data", missing},
			"audit verify: data directory " + missing + " does not exist: pass the hub's data directory with --data"},
		{"missing directory with key", []string{"--data", missing, "--key", keyPath},
			"audit verify: data directory " + missing + " does not exist: pass the hub's data directory with --data"},
		{"missing directory with database URL", []string{"--data", missing, "--database-url", databaseURL},
			"audit verify: data directory " + missing + " does not exist: pass the hub's data directory with --data, or the log's public key with --key"},
		{"file for directory", []string{"--data", file},
			"audit verify: data directory " + file + " is a file, not a directory: pass the hub's data directory with --data"},
		{"missing database", []string{"--data", empty},
			"audit verify: database " + filepath.Join(empty, "joinedup.db") + " does not exist: pass the hub's data directory with --data, or a cluster's store with --database-url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runAudit(context.Background(), append([]string{"verify"}, tc.args...), &stdout, &stderr)
			if err == nil {
				t.Fatalf("verify %q succeeded, want the error %q", tc.args, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Errorf("stat %s = %v, want it still missing", missing, err)
			}
			entries, err := os.ReadDir(empty)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("created %s in %s, want nothing created", e.Name(), empty)
			}
		})
	}
}

// writePublicKey writes the public key of a new audit log key to path.
func writePublicKey(t *testing.T, path string) {
	t.Helper()
	key, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	if err := os.WriteFile(path, []byte(key.PublicKey()), 0o644); err != nil {
		t.Fatalf("write key: %v", err)
	}
}
