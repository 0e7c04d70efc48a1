package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

// extraOrganisation is the organisation that the services file of a
// start that must fail adds, so that the test can see whether it was
// applied.
var extraOrganisation = joinedup.Organisation{ID: "extra-council", Name: "Extra Borough Council"}

// TestWrongAuditKeyChangesNothing starts a hub, whose audit log then has
// an entry or none, then starts a hub on the same store with no audit key
// or with another one, and with a services file. The second start stops
// with an error that explains how to give the node the cluster's key. It
// applies no services, creates no key, and on the cluster's stream
// changes no setting.
func TestWrongAuditKeyChangesNothing(t *testing.T) {
	for _, entries := range []bool{true, false} {
		name := "log with an entry"
		if !entries {
			name = "empty log"
		}
		t.Run(name, func(t *testing.T) { testWrongAuditKey(t, entries) })
	}
}

func testWrongAuditKey(t *testing.T, entries bool) {
	keyCases := map[string]func(t *testing.T, dir string){
		"no key": func(t *testing.T, dir string) {},
		"other key": func(t *testing.T, dir string) {
			if _, err := audit.LoadOrCreateKey(dir, "other.example"); err != nil {
				t.Fatal(err)
			}
		},
	}
	for keyCase, prepareKeys := range keyCases {
		t.Run(keyCase, func(t *testing.T) {
			t.Run("sqlite", func(t *testing.T) {
				data := t.TempDir()
				first := startHub(t, func(c *Config) { c.Data, c.AuditKeyDir = data, t.TempDir() })
				if entries {
					appendAuditEntry(t, first)
				}
				first.Close()

				keys := t.TempDir()
				prepareKeys(t, keys)
				err := openHubError(t, func(c *Config) {
					c.Data, c.AuditKeyDir, c.ServicesFile = data, keys, servicesFileWithExtra(t)
				})
				checkCopyKeyAdvice(t, err, keys, "-audit-key-dir", keyCase)
				checkKeyNotCreated(t, keys, keyCase)

				db, err := sqlite.Open(context.Background(), filepath.Join(data, "joinedup.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				checkNoExtraOrganisation(t, db)
			})

			t.Run("postgres", func(t *testing.T) {
				ctx := context.Background()
				dbURL := storetest.PostgresURL(t)
				natsURL, stream := clusterStream(t)
				first := startHub(t, func(c *Config) {
					c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir = dbURL, natsURL, stream, t.TempDir()
				})
				if entries {
					appendAuditEntry(t, first)
				}
				// A start that updated the stream would set its duplicate
				// window back to the hub's.
				info, err := first.Bus.Stream.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				edited := info.Config
				edited.Duplicates = time.Minute
				if _, err := first.Bus.JS.UpdateStream(ctx, edited); err != nil {
					t.Fatal(err)
				}

				// Without -audit-key-dir, the key is in the data directory.
				data := t.TempDir()
				prepareKeys(t, data)
				err = openHubError(t, func(c *Config) {
					c.DatabaseURL, c.NATSURL, c.Stream, c.Data, c.ServicesFile = dbURL, natsURL, stream, data, servicesFileWithExtra(t)
				})
				checkCopyKeyAdvice(t, err, data, "-audit-key-dir", keyCase)
				checkKeyNotCreated(t, data, keyCase)
				checkNoExtraOrganisation(t, first.DB)

				info, err = first.Bus.Stream.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if info.Config.Duplicates != time.Minute {
					t.Errorf("stream duplicate window = %v after the failed start, want it left at 1m0s", info.Config.Duplicates)
				}
			})
		})
	}
}

// appendAuditEntry appends one entry to h's audit log, which signs a
// checkpoint with h's key.
func appendAuditEntry(t *testing.T, h *Hub) {
	t.Helper()
	if _, err := h.Engine.Audit.Append(context.Background(), audit.Entry{Actor: "test", Action: audit.ActionAccess}); err != nil {
		t.Fatalf("append audit entry: %v", err)
	}
}

// servicesFileWithExtra writes a services file with the test token's
// organisation and extraOrganisation.
func servicesFileWithExtra(t *testing.T) string {
	return writeServicesFile(t, servicesFile{Organisations: []joinedup.Organisation{
		{ID: "council", Name: "Test Registration Council"}, extraOrganisation,
	}})
}

func checkCopyKeyAdvice(t *testing.T, err error, keyDir, setting, keyCase string) {
	t.Helper()
	want := []string{"copy the cluster's audit.key into " + keyDir, "or point " + setting + " at the directory that holds it"}
	if keyCase == "no key" {
		want = append(want, keyDir+" has no audit.key")
	} else {
		want = append(want, "the key other.example in "+keyDir+" did not sign the store's audit log")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error = %q, want it to contain %q", err, w)
		}
	}
}

// checkKeyNotCreated checks that dir holds a key file only when the case
// put one there.
func checkKeyNotCreated(t *testing.T, dir, keyCase string) {
	t.Helper()
	_, err := os.Stat(filepath.Join(dir, audit.KeyFile))
	if keyCase == "no key" && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the failed start, %s in %s: %v, want it not to exist", audit.KeyFile, dir, err)
	}
}

func checkNoExtraOrganisation(t *testing.T, db *store.DB) {
	t.Helper()
	orgs, err := db.ListOrganisations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(orgs, func(o joinedup.Organisation) bool { return o.ID == extraOrganisation.ID }) {
		t.Errorf("the failed start stored organisation %s from its services file", extraOrganisation.ID)
	}
}
