package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

func TestAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		created := time.Date(2026, 3, 2, 9, 30, 0, 123000, time.UTC)
		want := &auth.Account{
			ID: "acc-1", Username: "amina.okafor", PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$a2V5",
			Role: policy.RoleServiceOfficer, Organisation: "hmrc", Services: []joinedup.ServiceID{"child-benefit"},
			Issuer: "https://id.example.test", Subject: "sub-1", CreatedAt: created,
		}
		if err := db.CreateAccount(ctx, want); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}

		lookups := map[string]func() (*auth.Account, error){
			"by id":       func() (*auth.Account, error) { return db.FindAccount(ctx, "acc-1") },
			"by username": func() (*auth.Account, error) { return db.FindAccountByUsername(ctx, "amina.okafor") },
			"by identity": func() (*auth.Account, error) {
				return db.FindAccountByIdentity(ctx, "https://id.example.test", "sub-1")
			},
		}
		for name, find := range lookups {
			got, err := find()
			if err != nil {
				t.Fatalf("find %s: %v", name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("find %s mismatch (-want +got):\n%s", name, diff)
			}
		}

		missing := map[string]func() (*auth.Account, error){
			"id":       func() (*auth.Account, error) { return db.FindAccount(ctx, "acc-2") },
			"username": func() (*auth.Account, error) { return db.FindAccountByUsername(ctx, "someone.else") },
			"identity": func() (*auth.Account, error) {
				return db.FindAccountByIdentity(ctx, "https://id.example.test", "sub-2")
			},
			"other issuer": func() (*auth.Account, error) {
				return db.FindAccountByIdentity(ctx, "https://other.example.test", "sub-1")
			},
			"empty identity": func() (*auth.Account, error) { return db.FindAccountByIdentity(ctx, "", "") },
		}
		for name, find := range missing {
			if a, err := find(); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("find missing %s = %v, %v; want ENOTFOUND", name, a, err)
			}
		}

		// An account without OIDC identity and without services.
		resident := &auth.Account{ID: "acc-3", Username: "res.one", PasswordHash: "x", Role: policy.RoleResident}
		if err := db.CreateAccount(ctx, resident); err != nil {
			t.Fatalf("CreateAccount resident: %v", err)
		}
		second := &auth.Account{ID: "acc-4", Username: "res.two", PasswordHash: "x", Role: policy.RoleResident}
		if err := db.CreateAccount(ctx, second); err != nil {
			t.Fatalf("CreateAccount second account without identity: %v", err)
		}
		got, err := db.FindAccount(ctx, "acc-3")
		if err != nil {
			t.Fatalf("FindAccount resident: %v", err)
		}
		if len(got.Services) != 0 || got.CreatedAt.IsZero() {
			t.Errorf("resident = %+v, want no services and a creation time", got)
		}

		conflicts := map[string]*auth.Account{
			"same username": {ID: "acc-5", Username: "amina.okafor", Role: policy.RoleResident},
			"same identity": {ID: "acc-6", Username: "other", Role: policy.RoleResident, Issuer: "https://id.example.test", Subject: "sub-1"},
			"same id":       {ID: "acc-1", Username: "third", Role: policy.RoleResident},
		}
		for name, a := range conflicts {
			if err := db.CreateAccount(ctx, a); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
				t.Errorf("CreateAccount with %s = %v, want ECONFLICT", name, err)
			}
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"acc-1", "acc-2"} {
			if err := db.CreateAccount(ctx, &auth.Account{ID: id, Username: id, Role: policy.RoleRegistrar, Organisation: "council"}); err != nil {
				t.Fatalf("CreateAccount %s: %v", id, err)
			}
		}
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		sessions := []*auth.Session{
			{IDHash: "h1", AccountID: "acc-1", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)},
			{IDHash: "h2", AccountID: "acc-1", CreatedAt: t0, LastSeenAt: t0.Add(time.Hour), ExpiresAt: t0.Add(12 * time.Hour)},
			{IDHash: "h3", AccountID: "acc-2", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(2 * time.Hour)},
		}
		for _, s := range sessions {
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatalf("CreateSession %s: %v", s.IDHash, err)
			}
		}
		if err := db.CreateSession(ctx, sessions[0]); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("CreateSession twice = %v, want ECONFLICT", err)
		}
		if err := db.CreateSession(ctx, &auth.Session{IDHash: "h9", AccountID: "nobody", ExpiresAt: t0}); err == nil {
			t.Error("CreateSession for an unknown account succeeded, want an error")
		}

		got, err := db.FindSession(ctx, "h2")
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		if diff := cmp.Diff(sessions[1], got); diff != "" {
			t.Errorf("FindSession mismatch (-want +got):\n%s", diff)
		}

		touched := t0.Add(90 * time.Minute)
		if err := db.TouchSession(ctx, "h2", touched); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		if got, _ := db.FindSession(ctx, "h2"); !got.LastSeenAt.Equal(touched) {
			t.Errorf("LastSeenAt after touch = %v, want %v", got.LastSeenAt, touched)
		}
		if err := db.TouchSession(ctx, "nope", touched); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("TouchSession unknown = %v, want ENOTFOUND", err)
		}

		// h1 was last used at t0 and h3 expires at t0+2h, so at t0+2h with
		// idle cut-off t0+30m both go and h2 stays.
		n, err := db.DeleteExpiredSessions(ctx, t0.Add(2*time.Hour), t0.Add(30*time.Minute))
		if err != nil {
			t.Fatalf("DeleteExpiredSessions: %v", err)
		}
		if n != 2 {
			t.Errorf("DeleteExpiredSessions removed %d, want 2", n)
		}
		for _, id := range []string{"h1", "h3"} {
			if _, err := db.FindSession(ctx, id); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("FindSession %s after clean-up = %v, want ENOTFOUND", id, err)
			}
		}

		if err := db.CreateSession(ctx, &auth.Session{IDHash: "h4", AccountID: "acc-1", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatalf("CreateSession h4: %v", err)
		}
		if err := db.CreateSession(ctx, &auth.Session{IDHash: "h5", AccountID: "acc-2", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatalf("CreateSession h5: %v", err)
		}
		n, err = db.DeleteAccountSessions(ctx, "acc-1")
		if err != nil {
			t.Fatalf("DeleteAccountSessions: %v", err)
		}
		if n != 2 {
			t.Errorf("DeleteAccountSessions removed %d, want 2 (h2 and h4)", n)
		}
		if _, err := db.FindSession(ctx, "h5"); err != nil {
			t.Errorf("session of the other account: %v, want it kept", err)
		}

		if err := db.DeleteSession(ctx, "h5"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if err := db.DeleteSession(ctx, "h5"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("DeleteSession twice = %v, want ENOTFOUND", err)
		}
	})
}

// TestListAccounts creates two accounts and lists them by user name,
// without their password hashes.
func TestListAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		accounts, err := db.ListAccounts(ctx)
		if err != nil {
			t.Fatalf("ListAccounts of an empty store: %v", err)
		}
		if len(accounts) != 0 {
			t.Errorf("ListAccounts of an empty store returned %d accounts, want 0", len(accounts))
		}

		created := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
		for _, a := range []*auth.Account{
			{ID: "acc-2", Username: "zoe.adeyemi", PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$a2V5", Role: policy.RoleOperator, Organisation: "council", CreatedAt: created},
			{ID: "acc-1", Username: "amina.okafor", PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$a2V5", Role: policy.RoleServiceOfficer,
				Organisation: "hmrc", Services: []joinedup.ServiceID{"child-benefit"}, CreatedAt: created},
		} {
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatalf("CreateAccount %s: %v", a.Username, err)
			}
		}

		accounts, err = db.ListAccounts(ctx)
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		want := []*auth.Account{
			{ID: "acc-1", Username: "amina.okafor", Role: policy.RoleServiceOfficer, Organisation: "hmrc", Services: []joinedup.ServiceID{"child-benefit"}, CreatedAt: created},
			{ID: "acc-2", Username: "zoe.adeyemi", Role: policy.RoleOperator, Organisation: "council", Services: []joinedup.ServiceID{}, CreatedAt: created},
		}
		if diff := cmp.Diff(want, accounts); diff != "" {
			t.Errorf("ListAccounts mismatch (-want +got):\n%s", diff)
		}
	})
}
