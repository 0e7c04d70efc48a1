package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/reference/population"
	"github.com/joinedup/joinedup/web"
)

// startLog opens a hub on a loopback port with cfg changed by edit, closes
// it and returns what it logged at info level and above.
func startLog(t *testing.T, edit func(*Config)) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr, cfg.Data, cfg.APIToken = "127.0.0.1:0", t.TempDir(), testToken
	org := joinedup.Organisation{ID: joinedup.OrgID(cfg.APITokenOrganisation), Name: "Test Registration Council"}
	cfg.ServicesFile = writeServicesFile(t, servicesFile{Organisations: []joinedup.Organisation{org}})
	if edit != nil {
		edit(&cfg)
	}
	var logs lockedBuffer
	h, err := OpenHub(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("open hub: %v", err)
	}
	h.Close()
	return logs.String()
}

// TestStartWarnsWhenFrontendMissing checks that a hub warns once, naming
// make assets, when the files its pages load lack GOV.UK Frontend, and
// not when they have it.
func TestStartWarnsWhenFrontendMissing(t *testing.T) {
	var logs lockedBuffer
	warnMissingFrontend(slog.New(slog.NewTextHandler(&logs, nil)), os.DirFS(t.TempDir()))
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "run make assets") {
		t.Errorf("without GOV.UK Frontend the log has %d warnings, want 1 that says to run make assets:\n%s", n, logs.String())
	}
	for _, name := range []string{"vendor/govuk-frontend/govuk-frontend.min.css", "vendor/govuk-frontend/govuk-frontend.min.js"} {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("the warning does not name the missing %s", name)
		}
	}

	static := t.TempDir()
	if err := os.MkdirAll(filepath.Join(static, "vendor", "govuk-frontend"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"govuk-frontend.min.css", "govuk-frontend.min.js"} {
		if err := os.WriteFile(filepath.Join(static, "vendor", "govuk-frontend", name), []byte("/* GOV.UK Frontend */"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var withFrontend lockedBuffer
	warnMissingFrontend(slog.New(slog.NewTextHandler(&withFrontend, nil)), os.DirFS(static))
	if withFrontend.String() != "" {
		t.Errorf("with GOV.UK Frontend the log is not empty:\n%s", withFrontend.String())
	}

	// A hub logs the warning exactly when its own build lacks the files.
	missing := len(web.MissingFrontend(web.StaticFiles())) > 0
	if warned := strings.Contains(startLog(t, nil), "run make assets"); warned != missing {
		t.Errorf("hub start warned %v, but this build lacks GOV.UK Frontend: %v", warned, missing)
	}
}

// TestDemoStartSaysItCreatesAccounts starts a demo hub twice on one data
// directory. The first start hashes the demo accounts' passwords, which
// takes most of the start, so it logs that it is creating them and how
// many, without their user names. The second creates none and logs
// nothing about them.
func TestDemoStartSaysItCreatesAccounts(t *testing.T) {
	data := t.TempDir()
	demo := func(c *Config) { c.Demo, c.Data = true, data }

	first := startLog(t, demo)

	accounts := 8 + population.DemoFamilies // 4 staff, 4 service officers and a resident for each family
	for _, want := range []string{
		fmt.Sprintf(`msg="creating demo accounts, hashing each password with argon2id" accounts=%d`, accounts),
		fmt.Sprintf(`msg="demo accounts created" accounts=%d duration=`, accounts),
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first start's log lacks %s:\n%s", want, first)
		}
	}
	if strings.Contains(first, demoResidentName(0)) || strings.Contains(first, "officer-") {
		t.Errorf("first start's log names demo accounts:\n%s", first)
	}
	if second := startLog(t, demo); strings.Contains(second, "demo accounts") {
		t.Errorf("second start's log mentions demo accounts, which exist:\n%s", second)
	}
}
