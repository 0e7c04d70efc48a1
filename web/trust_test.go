package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/sqlite"
)

// testPassword is the password of every account the web tests create.
const testPassword = "correct horse battery"

// testParams hash test passwords cheaply; the strength of the hash is
// package auth's concern.
var testParams = auth.Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// testTrust wires sign-in, the default policies, a real audit log and
// fakeRecords into s, on a SQLite store in a temporary directory.
func testTrust(t testing.TB, s *Server) (*store.DB, *fakeRecords) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	if s.Policies, err = policy.Default(); err != nil {
		t.Fatal(err)
	}
	if s.Passwords, err = auth.NewPasswords(db, s.Logger, testParams); err != nil {
		t.Fatal(err)
	}
	s.Sessions = auth.NewSessions(db, s.Logger, auth.DefaultSessionConfig)
	key, err := audit.GenerateKey(rand.Reader, "hub.test")
	if err != nil {
		t.Fatal(err)
	}
	// The log reads the server's clock, as the hub's does, so that entries
	// and grants share one time.
	if s.Audit, err = audit.Open(ctx, audit.Config{Storage: db, Key: key, Logger: s.Logger, Now: func() time.Time { return s.Now() }}); err != nil {
		t.Fatal(err)
	}
	s.AuditAPI = audit.NewHandler(s.Audit)
	records := &fakeRecords{db: db, children: map[string][]joinedup.EventID{}, allocations: map[string][]string{}}
	s.Records = records
	s.TokenOrganisation = "council"
	return db, records
}

// createAccount creates an account with testPassword.
func (e *testEnv) createAccount(t testing.TB, username string, role policy.Role, services ...joinedup.ServiceID) *auth.Account {
	t.Helper()
	a := &auth.Account{Username: username, Role: role, Services: services}
	if role != policy.RoleResident {
		a.Organisation = "council"
	}
	if err := e.server.Passwords.CreateAccount(context.Background(), a, testPassword); err != nil {
		t.Fatalf("create account %s: %v", username, err)
	}
	return a
}

// sessionCookie starts a session for the account and returns its cookie.
func (e *testEnv) sessionCookie(t testing.TB, a *auth.Account) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if _, err := e.server.Sessions.Start(context.Background(), rec, httptest.NewRequest(http.MethodGet, "/", nil), a.ID); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()[0]
}

// signInAs makes later requests of e carry a session of the account.
func (e *testEnv) signInAs(t testing.TB, a *auth.Account) {
	t.Helper()
	e.session = e.sessionCookie(t, a)
}

// fakeRecords keeps relationships and grants in memory, and reads
// accounts and audit entries from the real store.
type fakeRecords struct {
	db  *store.DB
	hub *fakeHub

	mu          sync.Mutex
	children    map[string][]joinedup.EventID // by parent account
	allocations map[string][]string           // residents by worker
	identities  map[string]fakeIdentity       // by account
	grants      []*Grant
}

// fakeIdentity is what links a resident account to the births in
// which a parent has the same National Insurance number and date of birth.
type fakeIdentity struct {
	nino        string
	dateOfBirth joinedup.Date
}

func (f *fakeRecords) FindAccount(ctx context.Context, id string) (*auth.Account, error) {
	return f.db.FindAccount(ctx, id)
}

func (f *fakeRecords) FindOrganisation(ctx context.Context, id joinedup.OrgID) (*joinedup.Organisation, error) {
	return f.db.FindOrganisation(ctx, id)
}

func (f *fakeRecords) Relationship(ctx context.Context, p policy.Principal, subject string) (policy.Relationship, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch p.Role {
	case policy.RoleResident:
		if subject == p.ID {
			return policy.RelationshipSelf, nil
		}
		if slices.Contains(f.children[p.ID], joinedup.EventID(subject)) {
			return policy.RelationshipParent, nil
		}
	case policy.RoleSocialWorker:
		for _, r := range f.allocations[p.ID] {
			if r == subject || slices.Contains(f.children[r], joinedup.EventID(subject)) {
				return policy.RelationshipAllocatedWorker, nil
			}
		}
	}
	return policy.RelationshipNone, nil
}

// allocatedChild reports whether event is the birth of a child of a
// resident that worker is allocated to, as the store's list of a social
// worker's life events reads it.
func (f *fakeRecords) allocatedChild(worker string, event joinedup.EventID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.allocations[worker] {
		if slices.Contains(f.children[r], event) {
			return true
		}
	}
	return false
}

// linkBirth links the accounts whose identity matches a parent of r to
// the child of event.
func (f *fakeRecords) linkBirth(event joinedup.EventID, r joinedup.BirthRegistration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for account, id := range f.identities {
		if r.ParentWith(id.nino, id.dateOfBirth) >= 0 {
			f.children[account] = append(f.children[account], event)
		}
	}
}

func (f *fakeRecords) Identity(ctx context.Context, resident string) (string, joinedup.Date, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.identities[resident]
	if !ok {
		return "", joinedup.Date{}, joinedup.Errorf(joinedup.ENOTFOUND, "No identity is recorded for resident %s.", resident)
	}
	return id.nino, id.dateOfBirth, nil
}

func (f *fakeRecords) ChildEvents(ctx context.Context, resident string) ([]joinedup.EventID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.children[resident]), nil
}

func (f *fakeRecords) SearchResidents(ctx context.Context, query string, limit int) ([]*auth.Account, error) {
	a, err := f.db.FindAccountByUsername(ctx, query)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND || (err == nil && a.Role != policy.RoleResident) {
		return nil, nil
	}
	return []*auth.Account{a}, err
}

func (f *fakeRecords) History(ctx context.Context, resident string, before uint64, limit int) ([]audit.Entry, error) {
	records, err := f.db.AuditRecords(ctx, 0, audit.MaxEntries)
	if err != nil {
		return nil, err
	}
	children, err := f.ChildEvents(ctx, resident)
	if err != nil {
		return nil, err
	}
	subjects := []string{resident}
	for _, id := range children {
		subjects = append(subjects, string(id))
	}
	var out []audit.Entry
	for i := len(records) - 1; i >= 0 && len(out) < limit; i-- {
		if before > 0 && records[i].Seq >= before {
			continue
		}
		own := records[i].Actor == resident && records[i].Action == audit.ActionAccess
		if slices.Contains(subjects, records[i].Subject) && !own {
			out = append(out, records[i].Entry)
		}
	}
	return out, nil
}

func (f *fakeRecords) ServiceDeliveries(ctx context.Context, filter joinedup.DeliveryFilter) (joinedup.DeliveryPage, error) {
	return f.hub.ListDeliveries(ctx, filter)
}

func (f *fakeRecords) SaveGrant(ctx context.Context, g *Grant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants = append(f.grants, g)
	return nil
}

func (f *fakeRecords) ActiveGrant(ctx context.Context, worker, resident string, now time.Time) (*Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.grants) - 1; i >= 0; i-- {
		g := f.grants[i]
		if g.Worker == worker && g.Resident == resident && now.Before(g.ExpiresAt) {
			return g, nil
		}
	}
	return nil, joinedup.Errorf(joinedup.ENOTFOUND, "no grant")
}

func (f *fakeRecords) FindGrant(ctx context.Context, id string) (*Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.grants {
		if g.ID == id {
			return g, nil
		}
	}
	return nil, joinedup.Errorf(joinedup.ENOTFOUND, "no grant")
}

func (f *fakeRecords) ListGrants(ctx context.Context, limit int) ([]*Grant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.grants)
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.After(out[j].IssuedAt) })
	return out, nil
}

func (f *fakeRecords) HiddenGrants(ctx context.Context, resident string) ([]*Grant, error) {
	all, _ := f.ListGrants(ctx, 0)
	return slices.DeleteFunc(all, func(g *Grant) bool { return g.Resident != resident || g.HiddenUntil.IsZero() }), nil
}

func (f *fakeRecords) ReviewGrant(ctx context.Context, id, reviewer, note string, at time.Time) error {
	g, err := f.FindGrant(ctx, id)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if g.ReviewedBy != "" {
		return joinedup.Errorf(joinedup.ECONFLICT, "already reviewed")
	}
	g.ReviewedBy, g.ReviewedAt, g.ReviewNote = reviewer, at, note
	return nil
}
