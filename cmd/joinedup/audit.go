package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
)

const auditUsage = `Usage:
  joinedup audit verify --data DIR [--database-url URL] [--checkpoint FILE] [--key FILE.pub]

verify recomputes the audit log's Merkle tree from the stored entries and
checks it against every stored checkpoint and against the checkpoint given,
or the latest stored one. It names the first entry that does not match, or
the size the log shrank to, and exits with status 1 when the log fails.
`

// runAudit runs "joinedup audit SUBCOMMAND". The only subcommand is verify.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		switch {
		case len(args) == 0:
			fmt.Fprint(stderr, auditUsage)
			return errors.New("audit: subcommand missing: use joinedup audit verify")
		case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
			fmt.Fprint(stderr, auditUsage+"\nRun joinedup audit verify -h for its flags.\n")
			return flag.ErrHelp
		}
		return unknownCommand("joinedup audit", "subcommand", args[0])
	}

	flags := flag.NewFlagSet("joinedup audit verify", flag.ContinueOnError)
	data := flags.String("data", DefaultConfig().Data, "data `directory` that holds joinedup.db and "+audit.PublicKeyFile)
	databaseURL := flags.String("database-url", "", "PostgreSQL `URL` (postgres://…) of a cluster's store; empty reads the SQLite store in the data directory")
	checkpointPath := flags.String("checkpoint", "", "`file` with a checkpoint to verify against, as a signed note or as the JSON of GET "+audit.PathCheckpoint+"; empty uses the latest stored checkpoint")
	keyPath := flags.String("key", "", "`file` with the log's public key in signed-note format (default DIR/"+audit.PublicKeyFile+")")
	if err := parseFlags(flags, args[1:], auditUsage+"\nFlags:\n", stderr); err != nil {
		return err
	}
	if err := checkAuditData(*data, *databaseURL, *keyPath == ""); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if *keyPath == "" {
		*keyPath = filepath.Join(*data, audit.PublicKeyFile)
	}

	key, err := audit.LoadPublicKey(*keyPath)
	if err != nil {
		return fmt.Errorf("audit verify: %w: pass the log's public key with --key", err)
	}
	var against *audit.Checkpoint
	if *checkpointPath != "" {
		if against, err = readCheckpoint(*checkpointPath, key); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
	}

	db, err := openAuditStore(ctx, *data, *databaseURL)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer db.Close()

	if err := audit.Verify(ctx, db, key, against); err != nil {
		return fmt.Errorf("audit verify: the audit log does not verify: %w", err)
	}

	latest, err := db.LatestAuditCheckpoint(ctx)
	var size uint64
	if err == nil {
		size = latest.Size
	}
	if against != nil {
		fmt.Fprintf(stdout, "audit log verified: %d entries, consistent with the checkpoint of tree size %d\n", size, against.Size)
	} else {
		fmt.Fprintf(stdout, "audit log verified: %d entries, matching the latest stored checkpoint\n", size)
	}
	return nil
}

// readCheckpoint reads a signed checkpoint note, or the JSON body that the
// checkpoint endpoint serves, and checks its signature.
func readCheckpoint(path string, key *audit.Key) (*audit.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		var resp audit.CheckpointResponse
		if err := json.Unmarshal(trimmed, &resp); err != nil {
			return nil, fmt.Errorf("read checkpoint %s: invalid JSON: %w", path, err)
		}
		b = []byte(resp.Note)
	} else {
		// A note saved by a tool such as jq -r may end in another line
		// break, or have CRLF line breaks, which its signature does not
		// cover. A note ends in exactly one line break.
		// A byte order mark at its start, as some editors save, is not
		// part of it either.
		b = bytes.TrimPrefix(b, []byte("\ufeff"))
		b = append(bytes.TrimRight(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), "\n\t "), '\n')
	}
	cp, err := audit.ParseCheckpoint(b, key)
	var e *joinedup.Error
	if errors.As(err, &e) {
		// The message is a sentence for a person; the cause, if any,
		// follows it in brackets.
		msg := strings.TrimSuffix(e.Message, ".")
		if e.Err != nil {
			msg += " (" + e.Err.Error() + ")"
		}
		return nil, fmt.Errorf("read checkpoint %s: %s. Give the note that GET /api/v1/audit/checkpoint serves, or the JSON body it is in", path, msg)
	} else if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// checkAuditData returns an error when the data directory or the SQLite
// store in it does not exist, because sqlite.Open would create the store.
// The directory is needed for the store unless databaseURL is set, and
// for the public key when defaultKey is set.
func checkAuditData(data, databaseURL string, defaultKey bool) error {
	if databaseURL != "" && !defaultKey {
		return nil
	}
	fix := "pass the hub's data directory with --data"
	if databaseURL != "" {
		fix += ", or the log's public key with --key"
	}
	info, err := os.Stat(data)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data directory %s does not exist: %s", data, fix)
	case err != nil:
		return fmt.Errorf("read data directory: %w", err)
	case !info.IsDir():
		return fmt.Errorf("data directory %s is a file, not a directory: %s", data, fix)
	case databaseURL != "":
		return nil
	}

	path := filepath.Join(data, "joinedup.db")
	_, err = os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database %s does not exist: pass the hub's data directory with --data, or a cluster's store with --database-url", path)
	case err != nil:
		return fmt.Errorf("read database: %w", err)
	}
	return nil
}

// openAuditStore opens the PostgreSQL store at url, or the SQLite store in
// the data directory, which checkAuditData has found.
func openAuditStore(ctx context.Context, data, url string) (*store.DB, error) {
	if url != "" {
		return postgres.Open(ctx, url)
	}
	return sqlite.Open(ctx, filepath.Join(data, "joinedup.db"))
}
