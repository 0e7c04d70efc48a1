package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/lifeevent"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
	"github.com/joinedup/joinedup/webhook"
)

func TestUsersAdd(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"add", "--data", dir, "--username", "Amina.Okafor", "--role", "service-officer",
		"--organisation", "hmrc", "--services", "child-benefit, tax-credits",
		"--oidc-issuer", "https://id.example.test", "--oidc-subject", "sub-7"}
	var stdout, stderr bytes.Buffer
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err != nil {
		t.Fatalf("users add: %v (stderr %q)", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "created account acc_") || !strings.Contains(stdout.String(), "amina.okafor (service-officer, hmrc)") {
		t.Errorf("output = %q, want created account … amina.okafor (service-officer, hmrc)", stdout.String())
	}
	for _, id := range []string{`organisation "hmrc"`, `service "child-benefit"`, `service "tax-credits"`} {
		if !strings.Contains(stderr.String(), "warning: the hub has no "+id) {
			t.Errorf("stderr = %q, want a warning that the new store has no %s", stderr.String(), id)
		}
	}

	db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	a, err := db.FindAccountByUsername(ctx, "amina.okafor")
	if err != nil {
		t.Fatalf("FindAccountByUsername: %v", err)
	}
	if a.Role != policy.RoleServiceOfficer || a.Organisation != "hmrc" || len(a.Services) != 2 || a.Services[1] != "tax-credits" {
		t.Errorf("account = %+v, want a service officer of hmrc for child-benefit and tax-credits", a)
	}
	if a.Issuer != "https://id.example.test" || a.Subject != "sub-7" {
		t.Errorf("identity = %q %q, want https://id.example.test sub-7", a.Issuer, a.Subject)
	}
	if !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash = %q, want argon2id with the default parameters", a.PasswordHash)
	}
	if ok, err := auth.VerifyPassword("violet-harbour-47", a.PasswordHash); err != nil || !ok {
		t.Errorf("VerifyPassword = %v, %v; want the password from standard input without its newline", ok, err)
	}
}

func TestUsersAddPostgres(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	args := []string{"add", "--database-url", url, "--username", "op1", "--role", "operator", "--organisation", "council"}
	var stdout, stderr bytes.Buffer
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47"), &stdout, &stderr); err != nil {
		t.Fatalf("users add: %v", err)
	}
	if !strings.Contains(stdout.String(), "op1 (operator, council)") {
		t.Errorf("output = %q, want op1 (operator, council)", stdout.String())
	}
}

func TestUsersAddErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := []string{"add", "--data", dir, "--role", "registrar", "--organisation", "council"}

	var out bytes.Buffer
	if err := runUsersFrom(ctx, append(base, "--username", "taken"), strings.NewReader("violet-harbour-47\n"), &out, &out); err != nil {
		t.Fatalf("first users add: %v", err)
	}

	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"no subcommand", nil, "", "subcommand missing"},
		{"unknown subcommand", []string{"remove"}, "", `unknown subcommand "remove"`},
		{"no password", append(base, "--username", "u1"), "", "password missing"},
		// A missing password does not hide a fault in the other values.
		{"invalid role and no password", []string{"add", "--data", dir, "--username", "u10", "--role", "king"}, "", "-role: Choose a role"},
		{"short password", append(base, "--username", "u2"), "short\n", "password: The password must be at least 8 characters"},
		{"unknown role", []string{"add", "--data", dir, "--username", "u3", "--role", "admin", "--organisation", "council"}, "violet-harbour-47\n", "role: Choose a role"},
		{"no organisation", []string{"add", "--data", dir, "--username", "u4", "--role", "operator"}, "violet-harbour-47\n", "organisation: Enter the organisation"},
		{"taken username", append(base, "--username", "TAKEN"), "violet-harbour-47\n", `"taken"`},
		{"half an identity", append(base, "--username", "u5", "--oidc-subject", "s"), "violet-harbour-47\n", "both -oidc-issuer and -oidc-subject"},
		{"stray argument", append(base, "--username", "u6", "extra"), "violet-harbour-47\n", `unexpected argument "extra"`},
		{"flag given twice", append(base, "--username", "u7", "--organisation", "hmrc"), "violet-harbour-47\n", `-organisation is given twice, as "council" and as "hmrc"`},
		{"services for a registrar", append(base, "--username", "u8", "--services", "gp"), "violet-harbour-47\n", "Only a service officer works for services"},
		{"service given twice", []string{"add", "--data", dir, "--username", "u9", "--role", "service-officer", "--organisation", "council", "--services", "gp,gp"},
			"violet-harbour-47\n", "The service gp is given more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runUsersFrom(ctx, tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if err == nil {
				t.Fatalf("users %v succeeded (%q), want an error containing %q", tt.args, stdout.String(), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

// TestUsersAddRejectsUnknownIDs adds accounts to a store that already has
// an organisation and a service. An account naming an organisation or a
// service that the store does not contain must be rejected, and no
// account created.
func TestUsersAddRejectsUnknownIDs(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	db, err := openUsersStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	service := &joinedup.Service{
		ID: "school-places", Organisation: "council", Name: "School places", Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/events"},
		Secret:   webhook.NewSecret(),
	}
	if err := lifeevent.NewDirectory(db).PutService(ctx, service); err != nil {
		t.Fatal(err)
	}
	db.Close()

	tests := []struct {
		name, username string
		flags          []string
		wantErr        string
	}{
		{"unknown organisation", "u1", []string{"--role", "registrar", "--organisation", "nope"},
			`the hub has no organisation "nope", so no account was created: use one of council`},
		{"unknown service", "u2", []string{"--role", "service-officer", "--organisation", "council", "--services", "school-places,nope"},
			`the hub has no service "nope", so no account was created: use ids of its services, which are school-places`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"add", "--data", dir, "--username", tt.username}, tt.flags...)
			var stdout, stderr bytes.Buffer

			err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr)

			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.FindAccountByUsername(ctx, tt.username); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("FindAccountByUsername(%s): error %v, want ENOTFOUND", tt.username, err)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	args := []string{"add", "--data", dir, "--username", "u3", "--role", "service-officer", "--organisation", "council", "--services", "school-places"}
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err != nil {
		t.Fatalf("account with known ids: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("account with known ids: stderr %q, want no warning", stderr.String())
	}
}

// TestUsersAddResidentIdentity adds a resident with a National Insurance
// number and date of birth, and checks that they are stored for the
// account, normalised. Flags that do not make an identity must be
// rejected before any account is created.
func TestUsersAddResidentIdentity(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	var stdout, stderr bytes.Buffer
	args := []string{"add", "--data", dir, "--username", "j.smith", "--role", "resident", "--nino", "ab 12 34 56 c", "--date-of-birth", "1990-04-01"}
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err != nil {
		t.Fatalf("users add: %v (stderr %q)", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "sees no life events") {
		t.Errorf("stderr = %q, want no warning for a resident with an identity", stderr.String())
	}

	db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	a, err := db.FindAccountByUsername(ctx, "j.smith")
	if err != nil {
		t.Fatalf("FindAccountByUsername: %v", err)
	}
	var nino, dob string
	if err := db.SQL().QueryRowContext(ctx, `SELECT nino, date_of_birth FROM resident_identities WHERE account_id = $1`, a.ID).Scan(&nino, &dob); err != nil {
		t.Fatalf("read the identity: %v", err)
	}
	if nino != "AB123456C" || dob != "1990-04-01" {
		t.Errorf("identity = %s %s, want AB123456C 1990-04-01", nino, dob)
	}
	db.Close()

	// A second resident with the same identity is created, with a warning.
	stdout.Reset()
	stderr.Reset()
	args = []string{"add", "--data", dir, "--username", "j.smith2", "--role", "resident", "--nino", "AB123456C", "--date-of-birth", "1990-04-01"}
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err != nil {
		t.Fatalf("users add with a taken identity: %v", err)
	}
	if !strings.Contains(stderr.String(), "warning: 1 other resident account(s) have the same National Insurance number and date of birth") {
		t.Errorf("stderr = %q, want a warning that another account has the identity", stderr.String())
	}

	// A resident without an identity is created, with a warning.
	stdout.Reset()
	stderr.Reset()
	if err := runUsersFrom(ctx, []string{"add", "--data", dir, "--username", "r.jones", "--role", "resident"}, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err != nil {
		t.Fatalf("users add without an identity: %v", err)
	}
	if !strings.Contains(stderr.String(), "warning: the resident has no -nino and -date-of-birth, so the account sees no life events") {
		t.Errorf("stderr = %q, want a warning that the resident sees no life events", stderr.String())
	}

	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"number without date", []string{"--role", "resident", "--nino", "AB123456C"}, "give both -nino and -date-of-birth"},
		{"date without number", []string{"--role", "resident", "--date-of-birth", "1990-04-01"}, "give both -nino and -date-of-birth"},
		{"invalid number", []string{"--role", "resident", "--nino", "QQ123456C", "--date-of-birth", "1990-04-01"}, `invalid -nino "QQ123456C"`},
		{"impossible date", []string{"--role", "resident", "--nino", "AB123456C", "--date-of-birth", "1990-02-30"}, `invalid -date-of-birth "1990-02-30"`},
		{"future date", []string{"--role", "resident", "--nino", "AB123456C", "--date-of-birth", "2999-01-01"}, "it is after today"},
		{"date before 1900", []string{"--role", "resident", "--nino", "AB123456C", "--date-of-birth", "1899-12-31"}, "it is before 1900-01-01"},
		{"identity for staff", []string{"--role", "registrar", "--organisation", "council", "--nino", "AB123456C", "--date-of-birth", "1990-04-01"}, "only a resident has -nino and -date-of-birth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"add", "--data", dir, "--username", "rejected"}, tt.args...)
			err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.FindAccountByUsername(ctx, "rejected"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				t.Errorf("find the rejected account: error %v, want not found", err)
			}
		})
	}
}

// TestUsersAddChecksBeforeStore gives users add invalid account values
// for a data directory that does not exist. It must report them all on
// one line and create neither the directory nor a database.
func TestUsersAddChecksBeforeStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	for _, tt := range []struct {
		name, want string
		args       []string
	}{
		{"role and username", "users add: The account has errors: -username: The user name may use only", []string{"--username", "\u043ex", "--role", "king"}},
		{"Kelvin sign", "-username: The user name may use only", []string{"--username", "\u212aelvin", "--role", "resident"}},
		{"resident with an organisation", "-organisation: A resident belongs to no organisation", []string{"--username", "x", "--role", "resident", "--organisation", "council"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runUsersFrom(ctx, append([]string{"add", "--data", dir}, tt.args...), strings.NewReader("violet-harbour-47\n"), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q has more than one line", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the data directory exists after the rejected account: %v", err)
			}
		})
	}
}

// TestUsersAddIdentityFailsWhole makes linking a resident to its births
// fail, with a stored birth whose payload cannot be read. No account may
// be left behind without the identity it was given.
func TestUsersAddIdentityFailsWhole(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO life_events (id, reference, type, registered_at, payload) VALUES ($1, $2, $3, $4, $5)`,
		"evt_unreadable", "JU-0000-0001", joinedup.EventBirthRegistered, 1, `{"parents": ["AB123456C"`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var stdout, stderr bytes.Buffer
	args := []string{"add", "--data", dir, "--username", "j.smith", "--role", "resident", "--nino", "AB123456C", "--date-of-birth", "1990-04-01"}
	if err := runUsersFrom(ctx, args, strings.NewReader("violet-harbour-47\n"), &stdout, &stderr); err == nil {
		t.Fatalf("users add succeeded (%q), want an error linking the births", stdout.String())
	}

	db, err = sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FindAccountByUsername(ctx, "j.smith"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		t.Errorf("find the account after the failed identity: error %v, want not found", err)
	}
}
