package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

// TestDemoRejectsStoreOfOthers starts a hub with a service of its own and
// adds an operator's account, then starts the demo on the same store. The
// demo stops, saying why, and registers none of its services or accounts.
func TestDemoRejectsStoreOfOthers(t *testing.T) {
	backends := map[string]func(t *testing.T) (edit func(*Config), open func() *store.DB){
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
			url := storetest.PostgresURL(t)
			return func(c *Config) { c.DatabaseURL = url }, func() *store.DB {
				db, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		},
	}
	for name, backend := range backends {
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
