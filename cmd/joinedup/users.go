package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
)

const usersUsage = `Usage:
  joinedup users add --data DIR [--database-url URL] --username U --role R [--organisation O] [flags] < password

add creates a local account that signs in with a user name and password.
The password is the first line of standard input, so that it never
appears in the shell history or the process list; pipe it from a
password manager or a file. It must be at least 8 characters.

Staff need -organisation; a resident has none. A resident's -nino and
-date-of-birth link the account to the births that name a parent with
both, so that the resident can see and change them; without them the
account sees no life events.
`

// runUsersFrom runs "joinedup users SUBCOMMAND", reading the password
// from stdin. The only subcommand is add.
func runUsersFrom(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		switch {
		case len(args) == 0:
			fmt.Fprint(stderr, usersUsage)
			return errors.New("users: subcommand missing: use joinedup users add")
		case args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
			fmt.Fprint(stderr, usersUsage+"\nRun joinedup users add -h for its flags.\n")
			return flag.ErrHelp
		}
		return unknownCommand("joinedup users", "subcommand", args[0])
	}

	flags := flag.NewFlagSet("joinedup users add", flag.ContinueOnError)
	data := flags.String("data", DefaultConfig().Data, "data `directory` of the SQLite store, created if missing")
	databaseURL := flags.String("database-url", "", "PostgreSQL `URL` (postgres://…) of a cluster's store; empty uses the SQLite store in the data directory")
	username := flags.String("username", "", "user name to sign in with, stored in lower case")
	role := flags.String("role", "", "`role`, one of "+roleList())
	organisation := flags.String("organisation", "", "organisation `id` of a member of staff, such as council")
	services := flags.String("services", "", "comma-separated service `ids` a service officer works for")
	issuer := flags.String("oidc-issuer", "", "issuer `URL` of an OpenID Connect identity to link, with -oidc-subject")
	subject := flags.String("oidc-subject", "", "subject (sub claim) of the OpenID Connect identity to link")
	nino := flags.String("nino", "", "a resident's National Insurance `number`, with -date-of-birth: the resident sees the births that name a parent with both")
	dateOfBirth := flags.String("date-of-birth", "", "a resident's date of birth, as `YYYY-MM-DD`, with -nino")
	if err := parseFlags(flags, args[1:], usersUsage+"\nFlags:\n", stderr); err != nil {
		return err
	}
	if (*issuer == "") != (*subject == "") {
		return errors.New("users add: give both -oidc-issuer and -oidc-subject, or neither")
	}
	account := &auth.Account{
		Username:     *username,
		Role:         policy.Role(*role),
		Organisation: joinedup.OrgID(*organisation),
		Services:     splitServices(*services),
		Issuer:       *issuer,
		Subject:      *subject,
	}
	// Everything that needs no store is checked before the store is
	// opened, which creates the data directory and the database. The
	// account is checked with a stand-in password first, so that a
	// missing password does not hide a fault in the other values.
	if err := auth.CheckAccount(account, strings.Repeat("x", auth.MinPasswordLength)); err != nil {
		return fmt.Errorf("users add: %s", describe(err))
	}
	password, err := readPassword(stdin)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	if err := auth.CheckAccount(account, password); err != nil {
		return fmt.Errorf("users add: %s", describe(err))
	}
	identity, err := residentIdentity(account.Role, *nino, *dateOfBirth, joinedup.Today(time.Now()))
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}

	db, err := openUsersStore(ctx, *data, *databaseURL)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	defer db.Close()

	warnings, err := checkAccountIDs(ctx, db, account)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}

	if identity != nil {
		var others int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM resident_identities WHERE nino = $1 AND date_of_birth = $2`,
			identity.nino, identity.dateOfBirth.String()).Scan(&others); err != nil {
			return fmt.Errorf("users add: check the identity: %w", err)
		}
		if others > 0 {
			warnings = append(warnings, fmt.Sprintf("%d other resident account(s) have the same National Insurance number and date of birth, and see the same births", others))
		}
	} else if account.Role == policy.RoleResident {
		warnings = append(warnings, "the resident has no -nino and -date-of-birth, so the account sees no life events")
	}

	passwords, err := auth.NewPasswords(accountStore{DB: db, identity: identity}, slog.New(slog.NewTextHandler(stderr, nil)), auth.DefaultParams)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	if err := passwords.CreateAccount(ctx, account, password); err != nil {
		return fmt.Errorf("users add: %s", describe(err))
	}

	fmt.Fprintf(stdout, "created account %s for %s (%s", account.ID, account.Username, account.Role)
	if account.Organisation != "" {
		fmt.Fprintf(stdout, ", %s", account.Organisation)
	}
	fmt.Fprintln(stdout, ")")
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	return nil
}

// checkAccountIDs checks the account's organisation and services against
// the store. An id missing from a store with no organisations, or with no
// services, is only a warning, because accounts may be created before the
// hub first starts. Otherwise a missing id is an error, because a mistyped
// id leaves an account that can read none of the records it needs. A
// service of another organisation, or one that was removed, is a warning.
func checkAccountIDs(ctx context.Context, db *store.DB, account *auth.Account) (warnings []string, err error) {
	if account.Organisation != "" {
		orgs, err := db.ListOrganisations(ctx)
		if err != nil {
			return nil, fmt.Errorf("check the organisation: %w", err)
		}
		ids := make([]string, len(orgs))
		for i, o := range orgs {
			ids[i] = string(o.ID)
		}
		switch {
		case slices.Contains(ids, string(account.Organisation)):
		case len(ids) == 0:
			warnings = append(warnings, fmt.Sprintf("the hub has no organisation %q yet; check the id once the hub is set up", account.Organisation))
		default:
			return nil, fmt.Errorf("the hub has no organisation %q, so no account was created: use one of %s", account.Organisation, strings.Join(ids, ", "))
		}
	}
	if len(account.Services) == 0 {
		return warnings, nil
	}

	all, err := db.ListAllServices(ctx)
	if err != nil {
		return nil, fmt.Errorf("check the services: %w", err)
	}
	for _, id := range account.Services {
		i := slices.IndexFunc(all, func(s *joinedup.Service) bool { return s.ID == id })
		switch {
		case i < 0 && len(all) == 0:
			warnings = append(warnings, fmt.Sprintf("the hub has no service %q yet; check the id once the hub has registered its services", id))
		case i < 0:
			return nil, fmt.Errorf("the hub has no service %q, so no account was created: use ids of its services, which are %s", id, listIDs(all))
		case all[i].Organisation != account.Organisation:
			warnings = append(warnings, fmt.Sprintf("service %q belongs to organisation %q, not %q", id, all[i].Organisation, account.Organisation))
		case all[i].Retired():
			warnings = append(warnings, fmt.Sprintf("service %q was removed, so it receives no new deliveries; check the id", id))
		}
	}
	return warnings, nil
}

// listIDs returns the ids of services for a message, the first ten in
// full and the rest as a count.
func listIDs(services []*joinedup.Service) string {
	const maxListed = 10
	var ids []string
	for _, s := range services[:min(len(services), maxListed)] {
		ids = append(ids, string(s.ID))
	}
	list := strings.Join(ids, ", ")
	if len(services) > maxListed {
		list += fmt.Sprintf(" and %d more", len(services)-maxListed)
	}
	return list
}

// accountStore is the store through which users add creates an account.
// A resident's identity, and the links to the births registered before
// it, are stored in the transaction that stores the account, so that no
// account is left without the identity it was given.
type accountStore struct {
	*store.DB
	identity *identity
}

// CreateAccount implements auth.Store.
func (s accountStore) CreateAccount(ctx context.Context, a *auth.Account) error {
	return s.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.CreateAccountTx(ctx, tx, a); err != nil {
			return err
		}
		if s.identity == nil {
			return nil
		}
		if err := addResidentIdentityTx(ctx, tx, a.ID, s.identity.nino, s.identity.dateOfBirth); err != nil {
			return fmt.Errorf("store the National Insurance number and date of birth: %w", err)
		}
		return nil
	})
}

// identity is the National Insurance number and date of birth that link a
// resident account to the births that name a parent with both.
type identity struct {
	nino        string
	dateOfBirth joinedup.Date
}

// residentIdentity checks the -nino and -date-of-birth of an account with
// role, on the day today, and returns the identity they give, or nil when
// neither is given. Both are needed, and only a resident has them.
func residentIdentity(role policy.Role, nino, dateOfBirth string, today joinedup.Date) (*identity, error) {
	if nino == "" && dateOfBirth == "" {
		return nil, nil
	}
	if role != policy.RoleResident {
		return nil, fmt.Errorf("only a resident has -nino and -date-of-birth, not the role %s", role)
	}
	if nino == "" || dateOfBirth == "" {
		return nil, errors.New("give both -nino and -date-of-birth, or neither")
	}
	normal, ok := joinedup.NormalizeNINO(nino)
	if !ok {
		return nil, fmt.Errorf("invalid -nino %q: give a National Insurance number such as %s", nino, joinedup.ExampleNINO)
	}
	dob, err := joinedup.ParseDate(dateOfBirth)
	if err != nil {
		return nil, fmt.Errorf("invalid -date-of-birth %q: use the form YYYY-MM-DD with a real day", dateOfBirth)
	}
	if dob.After(today) {
		return nil, fmt.Errorf("invalid -date-of-birth %q: it is after today", dateOfBirth)
	}
	// A birth registration takes no parent born earlier, so such an
	// identity would match no birth.
	if dob.Before(joinedup.EarliestParentBirth) {
		return nil, fmt.Errorf("invalid -date-of-birth %q: it is before %s, the earliest a parent's date of birth may be", dateOfBirth, joinedup.EarliestParentBirth)
	}
	return &identity{nino: normal, dateOfBirth: dob}, nil
}

// readPassword returns the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("password missing: write it as the first line of standard input")
	}
	return line, nil
}

func splitServices(s string) []joinedup.ServiceID {
	var ids []joinedup.ServiceID
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			ids = append(ids, joinedup.ServiceID(part))
		}
	}
	return ids
}

func roleList() string {
	names := make([]string, len(policy.Roles))
	for i, r := range policy.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// describe returns an error's message for the terminal on one line, each
// invalid field named by its flag, such as -role, and the internal cause
// for any other error.
func describe(err error) string {
	var e *joinedup.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		name := strings.TrimPrefix(f.Field, "/")
		if name != "password" {
			name = "-" + name
		}
		parts[i] = name + ": " + f.Message
	}
	return strings.TrimSuffix(e.Message, ".") + ": " + strings.Join(parts, "; ")
}

// openUsersStore opens the PostgreSQL store at url, or the SQLite store in
// the data directory, creating the directory when it is missing so that
// the first account can be made before the hub first starts.
func openUsersStore(ctx context.Context, data, url string) (*store.DB, error) {
	if url != "" {
		return postgres.Open(ctx, url)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(data, "joinedup.db"))
}
