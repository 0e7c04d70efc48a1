package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
	"github.com/joinedup/joinedup/store"
)

// demoOrganisations are the fictional organisations of the demo council.
var demoOrganisations = []joinedup.Organisation{
	{ID: "council", Name: "Riverside Borough Council"},
	{ID: "hmrc", Name: "HM Revenue and Customs"},
	{ID: "riverside-surgery", Name: "Riverside Surgery"},
	{ID: "riverside-primary", Name: "Riverside Primary School"},
}

// startDemo loads the demo council into the hub: its organisations and the
// reference services, which run inside this process and are served under
// /reference/ on the hub's own address. It returns their handler.
func startDemo(ctx context.Context, cfg Config, h *Hub) (http.Handler, error) {
	set, err := reference.New(reference.Config{
		DataDir: filepath.Join(cfg.Data, "reference"),
		HubURL:  h.BaseURL,
		Seed:    cfg.Seed,
		Logger:  h.logger.With("component", "reference"),
	})
	if err != nil {
		return nil, fmt.Errorf("start reference services: %w", err)
	}
	h.closers = append(h.closers, set.Close)

	// The store records the load before the demo writes to it, so that no
	// failed start leaves the demo's accounts in a store without the record.
	if err := h.DB.MarkDemoLoaded(ctx, time.Now()); err != nil {
		return nil, err
	}
	for _, o := range demoOrganisations {
		if err := h.DB.UpsertOrganisation(ctx, o); err != nil {
			return nil, fmt.Errorf("register demo organisation %s: %w", o.ID, err)
		}
	}
	services := set.Services(h.BaseURL)
	for _, s := range services {
		if err := h.Directory.PutService(ctx, &s); err != nil {
			return nil, fmt.Errorf("register reference service %s: %w", s.ID, err)
		}
	}
	if err := createDemoAccounts(ctx, cfg, h, services); err != nil {
		return nil, err
	}
	// Each argon2id hash takes 64 MiB; hand that memory back to the system
	// now rather than keep it for the life of the process.
	debug.FreeOSMemory()
	return set.Handler(), nil
}

// Demo credentials. They are synthetic, fixed and printed in the README,
// so they only ever belong on a demo hub on a loopback address.
const (
	demoPassword = "joinedup-demo"
	demoAPIToken = "joinedup-demo-token"
)

// demoOrganisation is the organisation of the demo's council staff.
const demoOrganisation joinedup.OrgID = "council"

// demoResidentName returns the user name of the resident account of the
// informant of demo family i, the -family number of joinedup demo.
func demoResidentName(i int) string { return fmt.Sprintf("resident-%02d", i) }

// createDemoAccounts creates the demo's accounts, all with demoPassword,
// unless they exist from an earlier start. The staff are a registrar, a
// social worker allocated to the informant of family 0, a service officer
// for each reference service, an operator and a data protection officer.
// Each demo family's informant gets a resident account.
func createDemoAccounts(ctx context.Context, cfg Config, h *Hub, services []joinedup.Service) error {
	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		return fmt.Errorf("create demo accounts: %w", err)
	}
	births := population.Births(cfg.Seed, population.DemoFamilies, joinedup.Today(time.Now()))
	accounts := demoAccounts(services, len(births))

	// Hashing the passwords takes most of a first start, so the accounts
	// that exist are found first, and the log says how many are created.
	var create []*auth.Account
	for _, a := range accounts {
		found, err := findDemoAccount(ctx, h.DB, a)
		if err != nil {
			return err
		}
		if !found {
			create = append(create, a)
		}
	}
	if len(create) > 0 {
		h.logger.Info("creating demo accounts, hashing each password with argon2id", "accounts", len(create))
		started := time.Now()
		// The accounts are created two at a time, one for each core; each
		// hash holds 64 MiB while it runs.
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(2)
		for _, a := range create {
			g.Go(func() error { return createDemoAccount(gctx, passwords, a) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
		h.logger.Info("demo accounts created", "accounts", len(create), "duration", time.Since(started).Round(time.Millisecond))
	}

	byName := map[string]*auth.Account{}
	for _, a := range accounts {
		byName[a.Username] = a
	}
	for i, b := range births {
		informant := b.Parents[*b.Informant.Parent]
		if informant.NationalInsuranceNumber == "" {
			continue
		}
		nino, _ := joinedup.NormalizeNINO(informant.NationalInsuranceNumber)
		if err := addResidentIdentity(ctx, h.DB, byName[demoResidentName(i)].ID, nino, informant.DateOfBirth); err != nil {
			return fmt.Errorf("record demo resident identity: %w", err)
		}
	}
	if err := allocateWorker(ctx, h.DB, byName["social-worker"].ID, byName[demoResidentName(0)].ID); err != nil {
		return fmt.Errorf("allocate demo social worker: %w", err)
	}
	return nil
}

// demoAccounts returns the accounts that the demo creates for the
// reference services and for families demo families, without ids.
func demoAccounts(services []joinedup.Service, families int) []*auth.Account {
	accounts := []*auth.Account{
		{Username: "registrar", Role: policy.RoleRegistrar, Organisation: demoOrganisation},
		{Username: "social-worker", Role: policy.RoleSocialWorker, Organisation: demoOrganisation},
		{Username: "operator", Role: policy.RoleOperator, Organisation: demoOrganisation},
		{Username: "data-protection-officer", Role: policy.RoleDataProtectionOfficer, Organisation: demoOrganisation},
	}
	for _, s := range services {
		accounts = append(accounts, &auth.Account{
			Username: "officer-" + string(s.ID), Role: policy.RoleServiceOfficer,
			Organisation: s.Organisation, Services: []joinedup.ServiceID{s.ID},
		})
	}
	for i := range families {
		accounts = append(accounts, &auth.Account{Username: demoResidentName(i), Role: policy.RoleResident})
	}
	return accounts
}

// checkDemoStore returns an error when the store holds an account or a
// service that the demo did not create, so that the demo, whose accounts
// have a published password, never runs on a store that others use. A
// store that records an earlier load of the demo is the demo's, and
// passes whatever was added to it since, such as a service registered
// through the API. The services in file, the hub's -services file or nil,
// pass too. The demo's accounts are matched by user name and role,
// because they have no other mark.
func checkDemoStore(ctx context.Context, cfg Config, db *store.DB, file *servicesFile) error {
	_, loaded, err := db.DemoLoaded(ctx)
	if err != nil {
		return fmt.Errorf("check the store for the demo: %w", err)
	}
	if loaded {
		return nil
	}

	var referenceServices []joinedup.Service
	allowed := map[joinedup.ServiceID]bool{}
	for _, id := range reference.ServiceIDs() {
		referenceServices = append(referenceServices, joinedup.Service{ID: id})
		allowed[id] = true
	}
	if file != nil {
		for _, s := range file.Services {
			allowed[s.ID] = true
		}
	}
	roles := map[string]policy.Role{}
	for _, a := range demoAccounts(referenceServices, population.DemoFamilies) {
		roles[a.Username] = a.Role
	}

	accounts, err := db.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("check the store for the demo: %w", err)
	}
	otherAccounts := 0
	for _, a := range accounts {
		if role, ok := roles[a.Username]; !ok || role != a.Role {
			otherAccounts++
		}
	}
	services, err := db.ListAllServices(ctx)
	if err != nil {
		return fmt.Errorf("check the store for the demo: %w", err)
	}
	var otherServices []string
	for _, s := range services {
		if !allowed[s.ID] {
			otherServices = append(otherServices, string(s.ID))
		}
	}
	if otherAccounts == 0 && len(otherServices) == 0 {
		return nil
	}

	// User names can be personal data, so the message gives only a count.
	var found []string
	if otherAccounts > 0 {
		found = append(found, countOf(otherAccounts, "account"))
	}
	if len(otherServices) > 0 {
		found = append(found, fmt.Sprintf("%s, such as %q,", countOf(len(otherServices), "service"), otherServices[0]))
	}
	return fmt.Errorf("%s: the store holds %s that the demo did not create. The demo's accounts have a published password, so the demo runs only on a store of its own: start it with a new -data directory and without -database-url, or with an empty database",
		cfg.setting("demo"), strings.Join(found, " and "))
}

// warnDemoStore logs a warning when the store records that a hub run
// with -demo loaded the demo into it, for a hub started without -demo.
// Such a store keeps the demo's accounts and their published password.
// The hub still starts, because the other nodes of a demo cluster run
// without -demo on the demo node's database.
func warnDemoStore(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	at, loaded, err := db.DemoLoaded(ctx)
	if err != nil {
		return fmt.Errorf("check the store for the demo: %w", err)
	}
	if loaded {
		logger.Warn("the store was loaded with the demo, so it holds the demo's accounts, such as operator, which were created with the password that the README publishes. "+
			"Use it only to try the hub on a loopback address, and give real work a new -data directory or a new database",
			"demo_loaded_at", at.Format(time.RFC3339))
	}
	return nil
}

// countOf returns n and noun, in the plural unless n is 1, such as
// "2 accounts".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// findDemoAccount reports whether an account with a's user name exists,
// and if so sets a's id to that account's.
func findDemoAccount(ctx context.Context, db *store.DB, a *auth.Account) (bool, error) {
	existing, err := db.FindAccountByUsername(ctx, auth.NormalizeUsername(a.Username))
	switch {
	case err == nil:
		a.ID = existing.ID
		return true, nil
	case joinedup.ErrorCode(err) == joinedup.ENOTFOUND:
		return false, nil
	}
	return false, fmt.Errorf("find demo account %s: %w", a.Username, err)
}

// createDemoAccount creates a with demoPassword.
func createDemoAccount(ctx context.Context, passwords *auth.Passwords, a *auth.Account) error {
	if err := passwords.CreateAccount(ctx, a, demoPassword); err != nil {
		return fmt.Errorf("create demo account %s: %w", a.Username, err)
	}
	return nil
}
