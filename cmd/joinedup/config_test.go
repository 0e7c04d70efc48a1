package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

func TestDeliveryConcurrencyConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    int
		wantErr string
	}{
		{name: "default", want: 16},
		{name: "flag", args: []string{"-delivery-concurrency", "64"}, want: 64},
		{name: "environment", env: map[string]string{"JOINEDUP_DELIVERY_CONCURRENCY": "32"}, want: 32},
		{name: "zero", args: []string{"-delivery-concurrency", "0"}, wantErr: "-delivery-concurrency must be from 1 to 1024, not 0"},
		{name: "too many", args: []string{"-delivery-concurrency", "1025"}, wantErr: "-delivery-concurrency must be from 1 to 1024, not 1025"},
		{name: "not a number", args: []string{"-delivery-concurrency", "many"}, wantErr: "delivery-concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := parseCase(t, tt.args, tt.env, tt.wantErr)
			if ok && cfg.Concurrency != tt.want {
				t.Errorf("Concurrency = %d, want %d", cfg.Concurrency, tt.want)
			}
		})
	}
}

func TestDeliveryLimitsConfig(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantErr     string
		maxAttempts int
	}{
		{name: "shortest backoff", args: []string{"-backoff", "1ms"}},
		{name: "longest backoff", args: []string{"-backoff", "10m"}},
		{name: "backoff too short", args: []string{"-backoff", "1ns"}, wantErr: "-backoff must be from 1ms to 10m, not 1ns"},
		{name: "backoff over the cap", args: []string{"-backoff", "1000h"}, wantErr: "-backoff must be from 1ms to 10m, not 1000h0m0s"},
		{name: "most attempts", args: []string{"-max-attempts", "1000"}, maxAttempts: 1000},
		{name: "no attempts", args: []string{"-max-attempts", "0"}, wantErr: "-max-attempts must be from 1 to 1000, not 0"},
		{name: "too many attempts", args: []string{"-max-attempts", "1000000000000"}, wantErr: "-max-attempts must be from 1 to 1000, not 1000000000000"},
		{name: "attempts too large to parse", args: []string{"-max-attempts", "99999999999999999999"}, wantErr: "must be a whole number from 1 to 1000"},
		{name: "attempts too far below zero to parse", args: []string{"-max-attempts", "-99999999999999999999"}, wantErr: "must be a whole number from 1 to 1000"},
		{name: "concurrency too large to parse", env: map[string]string{"JOINEDUP_DELIVERY_CONCURRENCY": "99999999999999999999"}, wantErr: `invalid JOINEDUP_DELIVERY_CONCURRENCY="99999999999999999999": must be a whole number from 1 to 1024`},
		{name: "attempts not a number", args: []string{"-max-attempts", "ten"}, wantErr: "must be a whole number from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := parseCase(t, tt.args, tt.env, tt.wantErr)
			if ok && tt.maxAttempts != 0 && cfg.MaxAttempts != tt.maxAttempts {
				t.Errorf("MaxAttempts = %d, want %d", cfg.MaxAttempts, tt.maxAttempts)
			}
		})
	}
}

// TestSeedConfig checks that serve, like reference-services and demo,
// takes a seed of 0 or more.
func TestSeedConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    uint64
		wantErr string
	}{
		{name: "default", want: 1},
		{name: "zero", args: []string{"-seed", "0"}, want: 0},
		{name: "largest", args: []string{"-seed", "18446744073709551615"}, want: 18446744073709551615},
		{name: "environment", env: map[string]string{"JOINEDUP_SEED": "7"}, want: 7},
		{name: "negative flag", args: []string{"-seed", "-1"}, wantErr: "must be a whole number of 0 or more"},
		{name: "negative environment", env: map[string]string{"JOINEDUP_SEED": "-3"}, wantErr: "must be a whole number of 0 or more"},
		{name: "too large", args: []string{"-seed", "18446744073709551616"}, wantErr: "the number is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := parseCase(t, tt.args, tt.env, tt.wantErr)
			if ok && cfg.Seed != tt.want {
				t.Errorf("Seed = %d, want %d", cfg.Seed, tt.want)
			}
		})
	}
	err := runReferenceServices(context.Background(), []string{"--hub", "http://127.0.0.1:1", "--data", t.TempDir(), "--seed", "-1"}, io.Discard, io.Discard)
	if err == nil {
		t.Error("reference-services -seed -1: accepted, want it rejected as serve rejects it")
	}
}

func TestTrustedProxiesConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "default", want: ""},
		{name: "address and range", args: []string{"-trusted-proxies", "10.0.0.7, 192.168.0.0/16"}, want: "10.0.0.7/32,192.168.0.0/16"},
		{name: "environment", env: map[string]string{"JOINEDUP_TRUSTED_PROXIES": "::1"}, want: "::1/128"},
		{name: "range with host bits", args: []string{"-trusted-proxies", "10.1.2.3/8"}, want: "10.0.0.0/8"},
		{name: "IPv4-mapped range", args: []string{"-trusted-proxies", "::ffff:127.0.0.0/104"}, want: "127.0.0.0/8"},
		{name: "host name", args: []string{"-trusted-proxies", "proxy.example"}, wantErr: `"proxy.example" is not an IP address or CIDR range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := parseCase(t, tt.args, tt.env, tt.wantErr)
			if got := prefixesValue(&cfg.TrustedProxies).String(); ok && got != tt.want {
				t.Errorf("TrustedProxies = %q, want %q", got, tt.want)
			}
		})
	}
}

// parseCase parses args and env as serve does. When wantErr is set, it
// checks that parsing fails with an error containing it and returns false.
func parseCase(t *testing.T, args []string, env map[string]string, wantErr string) (Config, bool) {
	t.Helper()
	cfg, err := parseConfig(args, func(k string) string { return env[k] }, io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want one containing %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatalf("parseConfig: %v", err)
	}
	return cfg, true
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"replicas without a cluster", []string{"-nats-replicas", "3"}, "-nats-replicas 3 needs a JetStream cluster: set -nats-url"},
		{"short API token", []string{"-api-token", "x"}, "-api-token must be at least 16 characters"},
		{"API token of spaces", []string{"-api-token", "                "}, "-api-token must be printable ASCII without spaces"},
		{"every address trusted", []string{"-trusted-proxies", "10.0.0.1,0.0.0.0/0"}, `"0.0.0.0/0" would trust every address`},
		{"every IPv6 address trusted", []string{"-trusted-proxies", "::/0"}, `"::/0" would trust every address`},
		{"every address trusted in halves", []string{"-trusted-proxies", "0.0.0.0/1,128.0.0.0/1"}, `"0.0.0.0/1" is wider than any network of proxies`},
		{"IPv4 range wider than /8", []string{"-trusted-proxies", "10.0.0.0/7"}, `ranges of /8 or narrower`},
		{"every IPv4-mapped address", []string{"-trusted-proxies", "::ffff:0.0.0.0/96"}, `would trust every address`},
		{"IPv4-mapped and other addresses", []string{"-trusted-proxies", "::ffff:0.0.0.0/95"}, `mixes IPv4-mapped and other IPv6 addresses`},
		{"IPv6 range wider than /32", []string{"-trusted-proxies", "2001:db8::/31"}, `ranges of /32 or narrower`},
		{"database URL of another scheme", []string{"-database-url", "mysql://joinedup:s3cret@127.0.0.1/joinedup"}, "-database-url must start with postgres:// or postgresql://"},
		{"database URL with a bad port", []string{"-database-url", "postgres://joinedup:s3cret@127.0.0.1:port/joinedup"}, "invalid -database-url: cannot parse"},
		{"NATS URL without a host", []string{"-nats-url", "nats://"}, "invalid -nats-url nats://: each URL must name a host"},
		{"NATS URL list with another scheme", []string{"-nats-url", "nats://127.0.0.1:4222, http://127.0.0.1:4223"}, "each URL must start with nats:// or tls://"},
		{"NATS URL with a bad port", []string{"-nats-url", "nats://joinedup:s3cret@127.0.0.1:99999"}, "invalid -nats-url nats://127.0.0.1:99999: port 99999 must be from 1 to 65535"},
		{"stream name with a dot", []string{"-stream", "DELIVERIES.TEST"}, `invalid -stream: stream name "DELIVERIES.TEST" contains a character that NATS does not allow`},
		{"stream name with a slash", []string{"-stream", "../DELIVERIES"}, "invalid -stream"},
		{"base URL not a URL", []string{"-base-url", "joinedup.example.gov.uk"}, `invalid -base-url "joinedup.example.gov.uk": want an absolute http or https URL`},
		{"base URL with a password", []string{"-base-url", "https://joinedup:s3cret@joinedup.example.gov.uk"}, `invalid -base-url "https://joinedup:xxxxx@joinedup.example.gov.uk": remove the user name and password`},
		{"base URL with a user name", []string{"-base-url", "https://joinedup@joinedup.example.gov.uk"}, "remove the user name and password"},
		{"base URL with a bad password", []string{"-base-url", "https://joinedup:s3cret%zz@joinedup.example.gov.uk"}, "invalid -base-url (not a valid URL)"},
		{"base URL with a query", []string{"-base-url", "https://joinedup.example.gov.uk/?hub=1"}, "remove the query"},
		{"base URL with an empty query", []string{"-base-url", "https://joinedup.example.gov.uk/?"}, "remove the query"},
		{"base URL with a fragment", []string{"-base-url", "https://joinedup.example.gov.uk/#top"}, "remove the fragment"},
		{"base URL with an empty fragment", []string{"-base-url", "https://joinedup.example.gov.uk/#"}, "remove the fragment"},
		{"OIDC client id without an issuer", []string{"-oidc-client-id", "joinedup"}, "-oidc-issuer is missing, but -oidc-client-id is set"},
		{"OIDC client secret without an issuer", []string{"-oidc-client-secret", "s3cret"}, "-oidc-issuer is missing, but -oidc-client-secret is set"},
		{"OIDC client without an issuer", []string{"-oidc-client-id", "joinedup", "-oidc-client-secret", "s3cret"}, "-oidc-issuer is missing, but -oidc-client-id and -oidc-client-secret are set"},
		{"OIDC issuer not a URL", []string{"-oidc-issuer", "login.example.gov.uk", "-oidc-client-id", "joinedup"}, `invalid -oidc-issuer "login.example.gov.uk"`},
		{"OIDC issuer with a password and no scheme", []string{"-oidc-issuer", "joinedup:s3cret@login.example.gov.uk", "-oidc-client-id", "joinedup"}, `invalid -oidc-issuer (not shown, because it may contain a password)`},
		{"base URL with a password and no scheme", []string{"-base-url", "joinedup:s3cret@joinedup.example.gov.uk"}, `invalid -base-url (not shown, because it may contain a password)`},
		{"OIDC issuer with a password", []string{"-oidc-issuer", "https://joinedup:s3cret@login.example.gov.uk", "-oidc-client-id", "joinedup"}, `invalid -oidc-issuer "https://joinedup:xxxxx@login.example.gov.uk": remove the user name and password`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	if _, ok := parseCase(t, []string{"-nats-replicas", "3", "-nats-url", "nats://127.0.0.1:4222"}, nil, ""); !ok {
		t.Error("replicas with a cluster: rejected")
	}
	for _, url := range []string{"postgres://joinedup@127.0.0.1/joinedup", "postgresql://joinedup@127.0.0.1/joinedup"} {
		if _, ok := parseCase(t, []string{"-database-url", url}, nil, ""); !ok {
			t.Errorf("-database-url %s: rejected", url)
		}
	}
}

// TestServeAddressInUse starts a hub on an address another program holds:
// it stops with a message saying so, and creates no data directory.
func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultConfig()
	cfg.Addr = ln.Addr().String()
	cfg.Data = filepath.Join(t.TempDir(), "data")
	_, err = OpenHub(context.Background(), cfg, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "another program, perhaps another hub, is using that address") {
		t.Fatalf("error = %v, want one saying the address is in use", err)
	}
	if _, err := os.Stat(cfg.Data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("data directory: stat error %v, want it not created", err)
	}
}

// TestServeBadFilesCreateNothing starts hubs whose -policies directory is
// missing, whose -services file does not parse or validate, or whose audit
// key cannot be used: each stops with a message naming the fault and
// creates no data directory.
func TestServeBadFilesCreateNothing(t *testing.T) {
	dir := t.TempDir()
	badServices := filepath.Join(dir, "services.json")
	if err := os.WriteFile(badServices, []byte(`{"services": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	invalidService := writeServicesFile(t, servicesFile{Services: []*joinedup.Service{{ID: "no-purpose", Organisation: "test-council"}}})
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"missing policies", func(c *Config) { c.PoliciesDir = filepath.Join(dir, "absent") }, "-policies: load policies: there is no directory"},
		{"services file cut short", func(c *Config) { c.ServicesFile = badServices }, "the file ends before its JSON is complete"},
		{"invalid service", func(c *Config) { c.ServicesFile = invalidService }, "/services/0/purpose"},
		{"audit key directory is a file", func(c *Config) { c.AuditKeyDir = badServices }, "is a file, not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Addr = "127.0.0.1:0"
			cfg.Data = filepath.Join(t.TempDir(), "data")
			tt.edit(&cfg)
			_, err := OpenHub(context.Background(), cfg, testLogger(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if _, err := os.Stat(cfg.Data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("data directory: stat error %v, want it not created", err)
			}
		})
	}
}

// TestDatabaseWithoutNATSWarns starts a hub on PostgreSQL with the
// JetStream inside the process, and one on a database of its own with an
// external JetStream: only the first warns, once, that no other node may
// share its store.
func TestDatabaseWithoutNATSWarns(t *testing.T) {
	natsURL, stream := clusterStream(t)
	tests := []struct {
		name  string
		edit  func(*Config)
		warns int
	}{
		{"database only", func(c *Config) { c.DatabaseURL = storetest.PostgresURL(t) }, 1},
		{"database and nats", func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream = storetest.PostgresURL(t), natsURL, stream }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := DefaultConfig()
			cfg.Addr, cfg.Data, cfg.APIToken, cfg.ServicesFile = "127.0.0.1:0", t.TempDir(), testToken, servicesFileFor(t)
			tt.edit(&cfg)
			h, err := OpenHub(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			h.Close()
			if got := strings.Count(logs.String(), "no other node may share the store"); got != tt.warns {
				t.Errorf("warnings = %d, want %d; logs:\n%s", got, tt.warns, logs.String())
			}
			if tt.warns > 0 && !strings.Contains(logs.String(), "A cluster needs -nats-url on every node") {
				t.Errorf("warning does not say what a cluster needs; logs:\n%s", logs.String())
			}
		})
	}
}

// TestServicesFileErrorStoresNothing starts a hub on an existing store
// with a services file whose organisation and first service are valid and
// whose second service is not. The start fails and the store has neither
// the organisation nor the first service.
func TestServicesFileErrorStoresNothing(t *testing.T) {
	valid := &joinedup.Service{
		ID: "school-planning", Organisation: "file-council", Name: "Pupil planning", Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/events"},
		Secret:   "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
	tests := []struct {
		name   string
		second func(s *joinedup.Service)
		want   string
	}{
		{"invalid second service", func(s *joinedup.Service) { s.Purpose = "" }, "/services/1/purpose"},
		{"unknown organisation", func(s *joinedup.Service) { s.Organisation = "no-such-council" }, "/services/1/organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			first := startHub(t, func(c *Config) { c.Data = data })
			before, err := first.DB.ListOrganisations(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			first.Close()

			second := *valid
			second.ID, second.Name = "bin-collections", "Bin collections"
			tt.second(&second)
			path := writeServicesFile(t, servicesFile{
				Organisations: []joinedup.Organisation{{ID: "file-council", Name: "File Council"}},
				Services:      []*joinedup.Service{valid, &second},
			})
			cfg := DefaultConfig()
			cfg.Addr, cfg.Data, cfg.ServicesFile = "127.0.0.1:0", data, path
			if h, err := OpenHub(context.Background(), cfg, testLogger(t)); err == nil || !strings.Contains(err.Error(), tt.want) {
				if err == nil {
					h.Close()
				}
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}

			db, err := sqlite.Open(context.Background(), filepath.Join(data, "joinedup.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			orgs, err := db.ListOrganisations(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(orgs, before) {
				t.Errorf("organisations after the failed start = %v, want those before it, %v", orgs, before)
			}
			if _, err := db.FindService(context.Background(), valid.ID); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("find the file's first service: error %v, want not found", err)
			}
		})
	}
}

// TestUnreachableNATSChangesNothing starts a node whose -nats-url names a
// closed port. The start fails with an error that names the URL without
// its password, before the node has migrated its PostgreSQL database.
func TestUnreachableNATSChangesNothing(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.APIToken = "127.0.0.1:0", t.TempDir(), testToken
	cfg.DatabaseURL, cfg.NATSURL = dbURL, "nats://joinedup:s3cret@"+closed
	h, err := OpenHub(context.Background(), cfg, testLogger(t))
	if err == nil {
		h.Close()
		t.Fatal("the hub started without its NATS server")
	}
	if want := "connect to nats at nats://" + closed + ":"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the password", err)
	}

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("the database has %d tables after the failed start, want none", tables)
	}
}

// TestErrorsNameSettingAsSet gives each setting an invalid value through
// its JOINEDUP_* variable, and again through its flag: the message names
// the variable or the flag, as the value came.
func TestErrorsNameSettingAsSet(t *testing.T) {
	tests := []struct{ flag, env, value string }{
		{"addr", "JOINEDUP_ADDR", "no-port"},
		{"database-url", "JOINEDUP_DATABASE_URL", "mysql://db.example"},
		{"nats-url", "JOINEDUP_NATS_URL", "http://127.0.0.1:4222"},
		{"nats-replicas", "JOINEDUP_NATS_REPLICAS", "-2"},
		{"stream", "JOINEDUP_STREAM", "DELIVERIES.TEST"},
		{"base-url", "JOINEDUP_BASE_URL", "ftp://joinedup.example.gov.uk"},
		{"demo", "JOINEDUP_DEMO", "maybe"},
		{"seed", "JOINEDUP_SEED", "-3"},
		{"api-token", "JOINEDUP_API_TOKEN", "short"},
		{"oidc-issuer", "JOINEDUP_OIDC_ISSUER", "login.example.gov.uk"},
		{"oidc-client-id", "JOINEDUP_OIDC_CLIENT_ID", "joinedup"},
		{"oidc-client-secret", "JOINEDUP_OIDC_CLIENT_SECRET", "s3cret"},
		{"cookie-secure", "JOINEDUP_COOKIE_SECURE", "sometimes"},
		{"trusted-proxies", "JOINEDUP_TRUSTED_PROXIES", "0.0.0.0/0"},
		{"max-attempts", "JOINEDUP_MAX_ATTEMPTS", "0"},
		{"delivery-concurrency", "JOINEDUP_DELIVERY_CONCURRENCY", "0"},
		{"backoff", "JOINEDUP_BACKOFF", "1ns"},
		{"log-level", "JOINEDUP_LOG_LEVEL", "loud"},
		{"log-format", "JOINEDUP_LOG_FORMAT", "xml"},
	}
	for _, tt := range tests {
		flagName := regexp.MustCompile(`(^|[\s(])-` + regexp.QuoteMeta(tt.flag) + `($|[\s:])`)
		t.Run(tt.env, func(t *testing.T) {
			_, err := parseConfig(nil, func(k string) string { return map[string]string{tt.env: tt.value}[k] }, io.Discard)
			if err == nil {
				t.Fatalf("%s=%s accepted, want an error", tt.env, tt.value)
			}
			if !strings.Contains(err.Error(), tt.env) {
				t.Errorf("error = %q, want it to name %s", err, tt.env)
			}
			if flagName.MatchString(err.Error()) {
				t.Errorf("error = %q names -%s, but the value came from %s", err, tt.flag, tt.env)
			}
		})
		t.Run("-"+tt.flag, func(t *testing.T) {
			_, err := parseConfig([]string{"-" + tt.flag + "=" + tt.value}, func(string) string { return "" }, io.Discard)
			if err == nil {
				t.Fatalf("-%s=%s accepted, want an error", tt.flag, tt.value)
			}
			if !flagName.MatchString(err.Error()) {
				t.Errorf("error = %q, want it to name -%s", err, tt.flag)
			}
			if strings.Contains(err.Error(), tt.env) {
				t.Errorf("error = %q names %s, but the value came from -%s", err, tt.env, tt.flag)
			}
		})
	}
}

// TestStartErrorsNameVariable sets through JOINEDUP_* variables the
// settings that the hub checks as it starts: each error names the
// variable.
func TestStartErrorsNameVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"missing policies", map[string]string{"JOINEDUP_POLICIES": filepath.Join(t.TempDir(), "absent")}, "JOINEDUP_POLICIES: load policies"},
		{"unknown token organisation", map[string]string{"JOINEDUP_API_TOKEN": testToken, "JOINEDUP_API_TOKEN_ORGANISATION": "no-such-council"},
			`JOINEDUP_API_TOKEN_ORGANISATION "no-such-council" names no organisation`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"JOINEDUP_ADDR": "127.0.0.1:0", "JOINEDUP_DATA": t.TempDir()}
			maps.Copy(env, tt.env)
			cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			h, err := OpenHub(context.Background(), cfg, testLogger(t))
			if err == nil {
				h.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestFlagWinsWithoutReadingVariable gives settings both a flag and an
// invalid variable: the flag's value is used and the variable is not
// parsed.
func TestFlagWinsWithoutReadingVariable(t *testing.T) {
	env := map[string]string{"JOINEDUP_SEED": "abc", "JOINEDUP_NATS_REPLICAS": "-2", "JOINEDUP_BACKOFF": "soon"}
	cfg, ok := parseCase(t, []string{"-seed", "2", "-nats-replicas", "1", "-backoff", "2s"}, env, "")
	if !ok {
		return
	}
	if cfg.Seed != 2 {
		t.Errorf("Seed = %d, want 2 from the flag", cfg.Seed)
	}
	if cfg.NATSReplicas != 1 {
		t.Errorf("NATSReplicas = %d, want 1 from the flag", cfg.NATSReplicas)
	}
	if cfg.Backoff != 2*time.Second {
		t.Errorf("Backoff = %s, want 2s from the flag", cfg.Backoff)
	}
}

// TestFlagErrorsOneLine gives flags invalid values, and one flag twice.
// Each error must name the flag, the value and what is accepted, with
// nothing written before it: the usage is only for -h and -help.
func TestFlagErrorsOneLine(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"number in exponent form", []string{"-max-attempts", "1e3"}, `invalid -max-attempts "1e3": must be a whole number from 1 to 1000`},
		{"concurrency not a number", []string{"-delivery-concurrency", "many"}, `invalid -delivery-concurrency "many": must be a whole number from 1 to 1024`},
		{"replicas not a number", []string{"-nats-replicas", "x"}, `invalid -nats-replicas "x": must be a whole number from 1 to 5`},
		{"unknown log level", []string{"-log-level", "loud"}, `invalid -log-level "loud": must be debug, info, warn or error`},
		{"proxy not an address", []string{"-trusted-proxies", "foo"}, `invalid -trusted-proxies "foo": "foo" is not an IP address or CIDR range`},
		{"duration without a unit", []string{"-backoff", "5"}, `invalid -backoff "5": must be a duration such as 500ms or 2s`},
		{"boolean not true or false", []string{"-demo=maybe"}, `invalid -demo "maybe": want true or false`},
		{"negative seed", []string{"-seed", "-1"}, `invalid -seed "-1": must be a whole number of 0 or more`},
		{"address given twice", []string{"-addr", "127.0.0.1:18091", "-addr", "127.0.0.1:18092"},
			`-addr is given twice, as "127.0.0.1:18091" and as "127.0.0.1:18092": give it once`},
		{"boolean given twice", []string{"-demo", "-demo=false"}, `-demo is given twice, as "true" and as "false"`},
		{"port above 65535", []string{"-addr", "127.0.0.1:99999"}, `invalid -addr "127.0.0.1:99999": want host:port, with a port from 1 to 65535, or port 0 for any free port`},
		{"negative port", []string{"-addr", "127.0.0.1:-1"}, `invalid -addr "127.0.0.1:-1": want host:port`},
		{"port name", []string{"-addr", "127.0.0.1:http"}, `invalid -addr "127.0.0.1:http": want host:port`},
		{"no port", []string{"-addr", "127.0.0.1"}, `invalid -addr "127.0.0.1": want host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer

			_, err := parseConfig(tt.args, func(string) string { return "" }, &stderr)

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line", err)
			}
			if stderr.Len() > 0 {
				t.Errorf("wrote %q before the error, want nothing", stderr.String())
			}
		})
	}
}

// TestUsageForHelp checks that -h and -help print the usage, and that
// port 0, for any free port, is accepted. TestFlagErrorsEveryCommand
// checks that an unknown flag prints none.
func TestUsageForHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-help"}} {
		var stderr bytes.Buffer
		_, err := parseConfig(args, func(string) string { return "" }, &stderr)
		if err == nil {
			t.Errorf("%v: accepted, want an error", args)
		}
		if !strings.Contains(stderr.String(), "Usage: joinedup serve") {
			t.Errorf("%v: wrote %q, want the usage", args, stderr.String())
		}
		if !strings.Contains(stderr.String(), "-cookie-secure\n") || strings.Contains(stderr.String(), "(default false)") {
			t.Errorf("%v: usage %q, want -cookie-secure without a default shown", args, stderr.String())
		}
	}
	if _, ok := parseCase(t, []string{"-addr", "127.0.0.1:0"}, nil, ""); !ok {
		t.Error("-addr 127.0.0.1:0: rejected, want any free port")
	}
}

// TestHubKeepsAuditOriginOnNewHost restarts a hub on its data directory
// under another host name. It starts, and its audit log keeps the origin
// it was created with and still verifies.
func TestHubKeepsAuditOriginOnNewHost(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	open := func(baseURL string) *Hub {
		t.Helper()
		cfg := DefaultConfig()
		cfg.Addr = "127.0.0.1:0"
		cfg.Data = data
		cfg.BaseURL = baseURL
		h, err := OpenHub(ctx, cfg, testLogger(t))
		if err != nil {
			t.Fatalf("open hub at %s: %v", baseURL, err)
		}
		return h
	}

	first := open("http://127.0.0.1:8080")
	if _, err := first.Engine.Audit.Append(ctx, audit.Entry{Actor: "system", Action: "test.first"}); err != nil {
		t.Fatalf("append: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	second := open("https://hub.council.example")
	defer second.Close()
	log := second.Engine.Audit
	if _, err := log.Append(ctx, audit.Entry{Actor: "system", Action: "test.second"}); err != nil {
		t.Fatalf("append after the host changed: %v", err)
	}
	cp, err := log.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if cp.Origin != "127.0.0.1" {
		t.Errorf("checkpoint origin = %q, want 127.0.0.1, the origin the key was created with", cp.Origin)
	}
	if err := log.Verify(ctx, nil); err != nil {
		t.Errorf("verify: %v", err)
	}
}
