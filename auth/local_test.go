package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

const (
	testUsername = "amina.okafor"
	testPassword = "violet-harbour-47"
)

// newPasswords returns Passwords over a fresh SQLite store with one
// registrar account, a clock the test controls, and the log it writes.
func newPasswords(t *testing.T) (*auth.Passwords, *store.DB, *time.Time, *bytes.Buffer) {
	t.Helper()
	db := storetest.SQLite(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	p, err := auth.NewPasswords(db, log, fastParams)
	if err != nil {
		t.Fatalf("NewPasswords: %v", err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }

	a := &auth.Account{Username: " Amina.Okafor ", Role: policy.RoleRegistrar, Organisation: "council"}
	if err := p.CreateAccount(context.Background(), a, testPassword); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return p, db, &now, &logs
}

func TestSignIn(t *testing.T) {
	p, _, _, logs := newPasswords(t)
	ctx := context.Background()

	a, err := p.SignIn(ctx, "AMINA.okafor", testPassword, "192.0.2.7:50000")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if a.Username != testUsername || a.Role != policy.RoleRegistrar {
		t.Errorf("account = %s (%s), want %s (registrar)", a.Username, a.Role, testUsername)
	}
	if logs.Len() != 0 {
		t.Errorf("successful sign-in logged %q, want nothing", logs.String())
	}
}

func TestSignInWrongPassword(t *testing.T) {
	p, db, _, logs := newPasswords(t)
	ctx := context.Background()
	before, err := db.FindAccountByUsername(ctx, testUsername)
	if err != nil {
		t.Fatalf("FindAccountByUsername: %v", err)
	}

	tests := []struct {
		name     string
		username string
		password string
	}{
		{"wrong password", testUsername, "violet-harbour-48"},
		{"unknown user", "nobody.here", testPassword},
		{"empty password", testUsername, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			a, err := p.SignIn(ctx, tt.username, tt.password, "192.0.2.7")
			if a != nil {
				t.Errorf("SignIn returned account %s, want none", a.ID)
			}
			if got := joinedup.ErrorCode(err); got != joinedup.EUNAUTHORIZED {
				t.Fatalf("error code = %q (%v), want %q", got, err, joinedup.EUNAUTHORIZED)
			}
			if got, want := joinedup.ErrorMessage(err), "The user name or password is incorrect. Check them and try again."; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}

			line := logs.String()
			if !strings.Contains(line, `"msg":"sign-in failed"`) {
				t.Errorf("log = %q, want a sign-in failed line", line)
			}
			if tt.password != "" && strings.Contains(line, tt.password) {
				t.Errorf("log %q contains the password", line)
			}
			if strings.Contains(line, tt.username) {
				t.Errorf("log %q contains the full user name", line)
			}
			if !strings.Contains(line, `"address":"192.0.2.7"`) {
				t.Errorf("log %q lacks the address", line)
			}
		})
	}

	after, err := db.FindAccountByUsername(ctx, testUsername)
	if err != nil {
		t.Fatalf("FindAccountByUsername after: %v", err)
	}
	if after.PasswordHash != before.PasswordHash {
		t.Error("failed sign-ins changed the stored password hash")
	}
}

func TestSignInThrottledPerAccount(t *testing.T) {
	p, _, now, _ := newPasswords(t)
	ctx := context.Background()

	for i := range 5 {
		if _, err := p.SignIn(ctx, testUsername, "wrong", "192.0.2.7"); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v, want EUNAUTHORIZED", i+1, err)
		}
	}
	// The sixth failure starts a one-second wait.
	if _, err := p.SignIn(ctx, testUsername, "wrong", "198.51.100.1"); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
		t.Fatalf("sixth failure: %v, want EUNAUTHORIZED", err)
	}

	// During the wait even the right password is rejected, from any address.
	_, err := p.SignIn(ctx, testUsername, testPassword, "203.0.113.9")
	if got := joinedup.ErrorMessage(err); !strings.Contains(got, "too many failed attempts") || !strings.Contains(got, "Wait 1 second,") {
		t.Errorf("message during wait = %q, want it to say too many failed attempts and Wait 1 second", got)
	}

	*now = now.Add(time.Second)
	if _, err := p.SignIn(ctx, testUsername, testPassword, "203.0.113.9"); err != nil {
		t.Fatalf("SignIn after the wait: %v", err)
	}
	// Success clears the account's count.
	if _, err := p.SignIn(ctx, testUsername, "wrong", "203.0.113.9"); !strings.Contains(joinedup.ErrorMessage(err), "incorrect") {
		t.Errorf("failure after success = %v, want a plain wrong-password error", err)
	}
}

func TestSignInThrottledPerAddress(t *testing.T) {
	p, _, now, logs := newPasswords(t)
	ctx := context.Background()

	// 21 failures from one IPv6 /64, each on a different user name, so no
	// account reaches its own limit.
	for i := range 21 {
		address := "[2001:db8:5:6::" + string(rune('a'+i%6)) + "]:4000"
		p.SignIn(ctx, "guess"+string(rune('a'+i)), "wrong", address)
	}
	_, err := p.SignIn(ctx, testUsername, testPassword, "2001:db8:5:6::99")
	if got := joinedup.ErrorMessage(err); !strings.Contains(got, "too many failed attempts") {
		t.Errorf("sign-in from the same /64 = %v, want a throttled error", err)
	}
	if !strings.Contains(logs.String(), `"msg":"sign-in throttled"`) {
		t.Errorf("log = %q, want a sign-in throttled line", logs.String())
	}

	if _, err := p.SignIn(ctx, testUsername, testPassword, "2001:db8:5:7::1"); err != nil {
		t.Errorf("sign-in from another /64: %v, want success", err)
	}
	*now = now.Add(time.Second)
	if _, err := p.SignIn(ctx, testUsername, testPassword, "2001:db8:5:6::99"); err != nil {
		t.Errorf("sign-in after the wait: %v, want success", err)
	}
}

func TestCreateAccountInvalid(t *testing.T) {
	p, _, _, _ := newPasswords(t)
	ctx := context.Background()

	tests := []struct {
		name      string
		account   auth.Account
		password  string
		wantField string
	}{
		{"empty username", auth.Account{Role: policy.RoleRegistrar, Organisation: "council"}, testPassword, "/username"},
		{"space in username", auth.Account{Username: "amina okafor", Role: policy.RoleRegistrar, Organisation: "council"}, testPassword, "/username"},
		{"long username", auth.Account{Username: strings.Repeat("a", auth.MaxUsernameLength+1), Role: policy.RoleRegistrar, Organisation: "council"}, testPassword, "/username"},
		{"Cyrillic letter in username", auth.Account{Username: "\u043eperator", Role: policy.RoleRegistrar, Organisation: "council"}, testPassword, "/username"},
		{"fullwidth letter in username", auth.Account{Username: "\uff4fperator", Role: policy.RoleRegistrar, Organisation: "council"}, testPassword, "/username"},
		{"accented letter in username", auth.Account{Username: "si\u00e2n", Role: policy.RoleResident}, testPassword, "/username"},
		{"username starting with a dot", auth.Account{Username: ".amina", Role: policy.RoleResident}, testPassword, "/username"},
		// Lower-casing turns the Kelvin sign into an ASCII "k".
		{"Kelvin sign in username", auth.Account{Username: "\u212aelvin", Role: policy.RoleResident}, testPassword, "/username"},
		{"resident with an organisation", auth.Account{Username: "x6", Role: policy.RoleResident, Organisation: "council"}, testPassword, "/organisation"},
		{"unknown role", auth.Account{Username: "x1", Role: "admin", Organisation: "council"}, testPassword, "/role"},
		{"staff without organisation", auth.Account{Username: "x2", Role: policy.RoleOperator}, testPassword, "/organisation"},
		{"officer without services", auth.Account{Username: "x3", Role: policy.RoleServiceOfficer, Organisation: "hmrc"}, testPassword, "/services"},
		{"short password", auth.Account{Username: "x4", Role: policy.RoleResident}, "seven77", "/password"},
		{"long password", auth.Account{Username: "x5", Role: policy.RoleResident}, strings.Repeat("a", auth.MaxPasswordLength+1), "/password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.CreateAccount(ctx, &tt.account, tt.password)
			if got := joinedup.ErrorCode(err); got != joinedup.EINVALID {
				t.Fatalf("error code = %q (%v), want %q", got, err, joinedup.EINVALID)
			}
			var fields []string
			for _, f := range joinedup.ErrorFields(err) {
				fields = append(fields, f.Field)
			}
			if len(fields) != 1 || fields[0] != tt.wantField {
				t.Errorf("invalid fields = %v, want [%s]", fields, tt.wantField)
			}
		})
	}

	// Letters in upper case are stored in lower case, and the other
	// characters allowed are kept.
	ok := &auth.Account{Username: "J.Smith+Council_2@Example-1", Role: policy.RoleResident}
	if err := p.CreateAccount(ctx, ok, testPassword); err != nil {
		t.Errorf("CreateAccount with every character allowed: %v", err)
	}

	dup := &auth.Account{Username: "AMINA.OKAFOR", Role: policy.RoleResident}
	if err := p.CreateAccount(ctx, dup, testPassword); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
		t.Errorf("CreateAccount with a taken user name = %v, want ECONFLICT", err)
	}
}
