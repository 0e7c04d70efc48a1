package main

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
	"github.com/joinedup/joinedup/webhook"
)

// demoStoreBackends returns, for SQLite and PostgreSQL, a function that
// makes a new store: it returns an edit of a hub's Config that puts the
// hub on that store, and a function that opens the store directly.
func demoStoreBackends() map[string]func(t *testing.T) (edit func(*Config), open func() *store.DB) {
	return map[string]func(t *testing.T) (edit func(*Config), open func() *store.DB){
		"sqlite": func(t *testing.T) (func(*Config), func() *store.DB) {
			data := t.TempDir()
			return func(c *Config) { c.Data = data }, func() *store.DB {
				db, err := sqlite.Open(context.Background(), filepath.Join(data, "joinedup.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		},
		"postgres": func(t *testing.T) (func(*Config), func() *store.DB) {
			// Every start has a data directory of its own, so the nodes
			// share an external stream, as a cluster's nodes do.
			url := storetest.PostgresURL(t)
			natsURL, stream := clusterStream(t)
			return func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream = url, natsURL, stream }, func() *store.DB {
				db, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		},
	}
}

// TestDemoRejectsStoreOfOthers starts a hub with a service of its own and
// adds an operator's account, then starts the demo on the same store. The
// demo stops, saying why, and registers none of its services or accounts.
func TestDemoRejectsStoreOfOthers(t *testing.T) {
	for name, backend := range demoStoreBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			onStore, open := backend(t)
			keys := t.TempDir()
			own := serveRecorder(t, "housing-register", []string{"child"}, &recorder{})
			cluster := startHub(t, func(c *Config) { onStore(c); c.AuditKeyDir, c.ServicesFile = keys, servicesFileFor(t, own) })
			operator := &auth.Account{ID: "acc-operator", Username: "amina.okafor", Role: policy.RoleOperator, Organisation: "council"}
			if err := cluster.DB.CreateAccount(ctx, operator); err != nil {
				t.Fatal(err)
			}
			cluster.Close()

			err := openHubError(t, func(c *Config) { onStore(c); c.Demo, c.AuditKeyDir = true, keys })
			for _, want := range []string{
				`-demo: the store holds 1 account and 1 service, such as "housing-register", that the demo did not create`,
				"the demo's accounts have a published password",
				"store of its own",
			} {
				if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
					t.Errorf("error = %q, want it to contain %q", err, want)
				}
			}

			db := open()
			services, err := db.ListAllServices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(services) != 1 || services[0].ID != own.ID {
				t.Fatalf("services after the rejected demo = %v, want only %s", serviceIDs(services), own.ID)
			}
			if services[0].Secret != own.Secret {
				t.Errorf("the rejected demo changed the secret of service %s", own.ID)
			}
			accounts, err := db.ListAccounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(accounts) != 1 {
				t.Errorf("the store has %d accounts after the rejected demo, want only the operator", len(accounts))
			}
			if _, loaded, err := db.DemoLoaded(ctx); err != nil || loaded {
				t.Errorf("DemoLoaded after the rejected demo = %v, %v; want false and no error", loaded, err)
			}
		})
	}
}

// TestDemoRunsOnItsOwnStore starts the demo with a services file of its
// own and starts it again on the same store, and on PostgreSQL starts a
// second demo node beside the first. Every start finds only what the demo
// and its own services file created, so each one starts.
func TestDemoRunsOnItsOwnStore(t *testing.T) {
	own := serveRecorder(t, "council-housing", []string{"child"}, &recorder{})
	own.Organisation = "council"
	file := writeServicesFile(t, servicesFile{Services: []*joinedup.Service{own}})

	t.Run("sqlite", func(t *testing.T) {
		data := t.TempDir()
		first := startHub(t, func(c *Config) { c.Demo, c.Data, c.ServicesFile = true, data, file })
		first.Close()
		startHub(t, func(c *Config) { c.Demo, c.Data, c.ServicesFile = true, data, file })
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		natsURL, stream := clusterStream(t)
		keys := t.TempDir()
		node := func(c *Config) {
			c.Demo, c.DatabaseURL, c.NATSURL, c.Stream, c.AuditKeyDir, c.ServicesFile = true, url, natsURL, stream, keys, file
		}
		startHub(t, node)
		startHub(t, node)
	})
}

func serviceIDs(services []*joinedup.Service) []joinedup.ServiceID {
	var ids []joinedup.ServiceID
	for _, s := range services {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestDemoRestartsWithAddedServices loads the demo, registers a service
// through the API and restarts the demo, then removes the service and
// restarts it again. A hub without -demo then adds a service from its
// -services file, warning that the store is the demo's, and the demo
// restarts once more. The store records the demo's load, so every demo
// start runs on it.
func TestDemoRestartsWithAddedServices(t *testing.T) {
	for name, backend := range demoStoreBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			onStore, open := backend(t)
			keys := t.TempDir()
			demo := func(c *Config) { onStore(c); c.Demo, c.APIToken, c.AuditKeyDir = true, testToken, keys }

			h := startHub(t, demo)
			if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
				t.Fatal(err)
			}
			if status, body := postService(t, h, http.DefaultClient, true, "broken-svc", "http://127.0.0.1:9/events"); status != http.StatusCreated {
				t.Fatalf("register broken-svc: status %d, want 201; body %s", status, body)
			}
			h.Close()

			h = startHub(t, demo)
			if status, body := sendAPI(t, http.DefaultClient, true, http.MethodDelete, h.BaseURL+"/api/v1/services/broken-svc", nil); status != http.StatusOK {
				t.Fatalf("remove broken-svc: status %d, want 200; body %s", status, body)
			}
			h.Close()
			startHub(t, demo).Close()

			// A node without -demo, such as the second node of a demo
			// cluster, adds a service of the demo council from its file.
			other := &joinedup.Service{
				ID: "housing-register", Organisation: demoOrganisation, Name: "Housing register", Purpose: "To update the household on the housing register.",
				EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
				Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/housing-register"},
				Secret:   webhook.NewSecret(),
			}
			logs := startLog(t, func(c *Config) {
				onStore(c)
				c.AuditKeyDir, c.ServicesFile = keys, writeServicesFile(t, servicesFile{Services: []*joinedup.Service{other}})
			})
			for _, want := range []string{
				`level=WARN msg="the store was loaded with the demo`,
				"which were created with the password that the README publishes",
				"give real work a new -data directory or a new database",
				"demo_loaded_at=",
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("log of a start without -demo on the demo's store lacks %q:\n%s", want, logs)
				}
			}

			startHub(t, demo).Close()
			services, err := open().ListAllServices(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ids := serviceIDs(services); !slices.Contains(ids, "broken-svc") || !slices.Contains(ids, other.ID) {
				t.Errorf("services after the last start = %v, want broken-svc and %s among them", ids, other.ID)
			}
		})
	}
}

// TestDemoMarksStoreOfOlderVersion starts the demo on a store that holds
// only what the demo created but no record of its load, as a store loaded
// by an older version of the hub does. The demo starts and records the
// load, so that services added later do not stop it.
func TestDemoMarksStoreOfOlderVersion(t *testing.T) {
	for name, backend := range demoStoreBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			onStore, open := backend(t)
			keys := t.TempDir()
			demo := func(c *Config) { onStore(c); c.Demo, c.AuditKeyDir = true, keys }

			startHub(t, demo).Close()
			db := open()
			if _, loaded, err := db.DemoLoaded(ctx); err != nil || !loaded {
				t.Fatalf("DemoLoaded after the first demo start = %v, %v; want true and no error", loaded, err)
			}
			err := db.Tx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE name = 'demo_loaded'`)
				return err
			})
			if err != nil {
				t.Fatalf("delete the record of the demo's load: %v", err)
			}

			startHub(t, demo).Close()
			if _, loaded, err := db.DemoLoaded(ctx); err != nil || !loaded {
				t.Errorf("DemoLoaded after a demo start on an older store = %v, %v; want true and no error", loaded, err)
			}
		})
	}
}

// TestStartWithoutDemoOnOwnStoreNoWarning checks that a hub without -demo
// on a store that the demo never loaded logs no warning about the demo.
func TestStartWithoutDemoOnOwnStoreNoWarning(t *testing.T) {
	if logs := startLog(t, nil); strings.Contains(logs, "loaded with the demo") {
		t.Errorf("log of a start on a new store warns about the demo:\n%s", logs)
	}
}
