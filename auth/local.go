package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// Passwords signs in local accounts with a user name and a password.
type Passwords struct {
	store  Store
	log    *slog.Logger
	params Params

	// Accounts and Addresses slow repeated failures per user name and
	// per client address. An address allows more failures than an
	// account, because several people may share one address.
	Accounts  *Throttle
	Addresses *Throttle

	// Now returns the current time. Tests replace it to control the clock.
	Now func() time.Time

	// unknownHash is verified against when the user name is unknown, so
	// that an unknown name takes as long as a wrong password.
	unknownHash string
	// hashing bounds how many argon2id computations run at once, because
	// each takes params.Memory KiB.
	hashing chan struct{}
}

// NewPasswords returns a Passwords over store, hashing new passwords with
// params. log receives one line per failed sign-in.
func NewPasswords(store Store, log *slog.Logger, params Params) (*Passwords, error) {
	unknown, err := HashPassword(rand.Text(), params)
	if err != nil {
		return nil, fmt.Errorf("hash placeholder password: %w", err)
	}
	return &Passwords{
		store:       store,
		log:         log,
		params:      params,
		Accounts:    &Throttle{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100_000},
		Addresses:   &Throttle{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100_000},
		Now:         time.Now,
		unknownHash: unknown,
		hashing:     make(chan struct{}, 4),
	}, nil
}

// Messages shown to a person whose sign-in failed. They do not say
// whether the user name exists.
const (
	msgWrongPassword = "The user name or password is incorrect. Check them and try again."
	msgThrottled     = "There have been too many failed attempts to sign in. Wait %s, then try again."
)

// ThrottledError is the cause of a sign-in rejected because of earlier
// failures: the caller must wait before trying again.
type ThrottledError struct {
	Wait time.Duration
}

func (e *ThrottledError) Error() string {
	return "sign-in throttled for " + e.Wait.String()
}

// SignIn checks username and password and returns the account. address is
// the client's IP address, with or without a port. A wrong user name or
// password returns EUNAUTHORIZED. After repeated failures for the account
// or the address, SignIn returns EUNAUTHORIZED without checking the
// password until the wait is over. Each failure is logged at Warn with the
// first two characters of the user name, the address and the count, never
// the password.
func (p *Passwords) SignIn(ctx context.Context, username, password, address string) (*Account, error) {
	username = NormalizeUsername(username)
	now := p.Now()
	addrKey := AddressKey(address)

	wait := max(p.Accounts.Wait(username, now), p.Addresses.Wait(addrKey, now))
	if wait > 0 {
		p.log.WarnContext(ctx, "sign-in throttled",
			slog.String("user_prefix", usernamePrefix(username)),
			slog.String("address", addrKey),
			slog.Duration("wait", wait))
		return nil, &joinedup.Error{Code: joinedup.EUNAUTHORIZED, Message: fmt.Sprintf(msgThrottled, WaitText(wait)),
			Err: &ThrottledError{Wait: wait}}
	}

	account, err := p.store.FindAccountByUsername(ctx, username)
	hash := p.unknownHash
	switch {
	case err == nil && account.PasswordHash != "":
		hash = account.PasswordHash
	case err == nil:
		account = nil // OIDC-only accounts have no password
	case joinedup.ErrorCode(err) == joinedup.ENOTFOUND:
		account = nil
	default:
		return nil, fmt.Errorf("find account: %w", err)
	}

	ok, err := p.verify(ctx, password, hash)
	if err != nil {
		return nil, err
	}
	if ok && account != nil {
		p.Accounts.Reset(username)
		return account, nil
	}

	accountFailures := p.Accounts.Fail(username, now)
	addressFailures := p.Addresses.Fail(addrKey, now)
	p.log.WarnContext(ctx, "sign-in failed",
		slog.String("user_prefix", usernamePrefix(username)),
		slog.Bool("account_exists", account != nil),
		slog.String("address", addrKey),
		slog.Int("account_failures", accountFailures),
		slog.Int("address_failures", addressFailures))
	return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgWrongPassword)
}

func (p *Passwords) verify(ctx context.Context, password, hash string) (bool, error) {
	select {
	case p.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("wait to verify password: %w", ctx.Err())
	}
	defer func() { <-p.hashing }()

	ok, err := VerifyPassword(password, hash)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return ok, nil
}

// WaitText returns a wait rounded up to whole seconds, or to whole
// minutes from two minutes on, as words.
func WaitText(wait time.Duration) string {
	seconds := int(math.Ceil(wait.Seconds()))
	switch {
	case seconds == 1:
		return "1 second"
	case seconds < 120:
		return fmt.Sprintf("%d seconds", seconds)
	}
	return fmt.Sprintf("%d minutes", (seconds+59)/60)
}

// usernamePrefix returns the first two characters of a user name and an
// ellipsis, enough to tell attempts apart in the log without recording the
// name.
func usernamePrefix(username string) string {
	if utf8.RuneCountInString(username) <= 2 {
		return "…"
	}
	runes := []rune(username)
	return string(runes[:2]) + "…"
}

// CreateAccount validates a, hashes password into it and stores it. Invalid
// fields return EINVALID naming each one, and a user name that is taken
// returns ECONFLICT.
func (p *Passwords) CreateAccount(ctx context.Context, a *Account, password string) error {
	if err := CheckAccount(a, password); err != nil {
		return err
	}
	hash, err := HashPassword(password, p.params)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	a.PasswordHash = hash
	if a.ID == "" {
		a.ID = "acc_" + rand.Text()
	}
	if err := p.store.CreateAccount(ctx, a); err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// usernamePattern matches a user name that a new account may take, once
// normalised to lower case. Pages show the user name as who acted, so it
// is kept to ASCII: a name with a Cyrillic "о" or a fullwidth "ｏ" would
// read as another account's, such as "operator".
var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]*$`)

// CheckAccount normalises a's user name and checks a and password as
// CreateAccount does before it stores anything, so that a caller can
// report every invalid field before it opens the store. Invalid fields
// return EINVALID naming each one.
func CheckAccount(a *Account, password string) error {
	// The name is checked as typed too, because lower-casing turns some
	// letters into ASCII ones: the Kelvin sign "K" becomes "k".
	typed := strings.TrimSpace(a.Username)
	a.Username = NormalizeUsername(a.Username)
	return validateAccount(a, password, isASCII(typed))
}

// isASCII reports whether s holds only ASCII characters.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func validateAccount(a *Account, password string, typedASCII bool) error {
	var fields []joinedup.FieldError
	add := func(field, format string, args ...any) {
		fields = append(fields, joinedup.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch n := utf8.RuneCountInString(a.Username); {
	case n == 0:
		add("/username", "Enter a user name")
	case n > MaxUsernameLength:
		add("/username", "The user name must be %d characters or fewer", MaxUsernameLength)
	}
	if a.Username != "" && (!typedASCII || !usernamePattern.MatchString(a.Username)) {
		add("/username", "The user name may use only the letters a to z, the digits 0 to 9 and the characters . _ - @ +, and must start with a letter or digit")
	}

	if !policy.ValidRole(a.Role) {
		names := make([]string, len(policy.Roles))
		for i, r := range policy.Roles {
			names[i] = string(r)
		}
		add("/role", "Choose a role: %s", strings.Join(names, ", "))
	}
	if a.Role != policy.RoleResident && a.Organisation == "" {
		add("/organisation", "Enter the organisation of this member of staff")
	}
	// The policies give a resident no rights through an organisation, so
	// one given would be stored and never used.
	if a.Role == policy.RoleResident && a.Organisation != "" {
		add("/organisation", "A resident belongs to no organisation: leave out the organisation")
	}
	if a.Role == policy.RoleServiceOfficer && len(a.Services) == 0 {
		add("/services", "Enter at least one service that this service officer works for")
	}
	// Only a service officer works for services, so services given for
	// another role would be stored and never used.
	if a.Role != policy.RoleServiceOfficer && len(a.Services) > 0 {
		add("/services", "Only a service officer works for services: leave out the services for the role %s", a.Role)
	}
	for i, s := range a.Services {
		if slices.Contains(a.Services[:i], s) {
			add("/services", "The service %s is given more than once: give it once", s)
			break
		}
	}

	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		add("/password", "The password must be at least %d characters", MinPasswordLength)
	} else if len(password) > MaxPasswordLength {
		add("/password", "The password must be %d bytes or fewer", MaxPasswordLength)
	}

	if len(fields) > 0 {
		return joinedup.Invalid("The account has errors.", fields...)
	}
	return nil
}
