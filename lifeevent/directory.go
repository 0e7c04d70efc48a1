package lifeevent

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/webhook"
)

// Directory implements joinedup.ServiceDirectory on the store, checking
// each registration before it is stored.
type Directory struct {
	db *store.DB
	// Created is called after a service is registered, so its deliveries
	// can start; it may be nil.
	Created func(ctx context.Context)
	// Retired is called after a service is retired, so its deliveries
	// stop; it may be nil.
	Retired func(ctx context.Context, id joinedup.ServiceID)
	// Logger receives the warning about a retired service that the
	// configuration file still lists. Nil discards it.
	Logger *slog.Logger
}

var _ joinedup.ServiceDirectory = (*Directory)(nil)

// NewDirectory returns a Directory.
func NewDirectory(db *store.DB) *Directory { return &Directory{db: db} }

var (
	serviceIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	subjectPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	// numericHost matches a host whose last label is a number. The WHATWG
	// URL standard parses such a host as IPv4, and so may a resolver.
	numericHost = regexp.MustCompile(`(?i)(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$`)
)

// EventTypes are the event types a service may take, with the fields it
// may declare for each. Withdrawal notices and due actions carry fixed data
// and go to any service they concern; naming them is allowed but changes
// nothing.
var EventTypes = map[string][]string{
	joinedup.EventBirthRegistered:  fieldPaths(reflect.TypeFor[joinedup.BirthRegistration](), ""),
	joinedup.EventConsentWithdrawn: nil,
	joinedup.EventActionDue:        nil,
}

// fieldPaths lists the dotted JSON paths into t, leaving out the consent,
// which is never sent.
func fieldPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[joinedup.Date]() {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || (prefix == "" && name == "consent") {
			continue
		}
		path := prefix + name
		out = append(out, path)
		out = append(out, fieldPaths(f.Type, path+".")...)
	}
	return out
}

// Validate checks a service registration and returns an EINVALID error
// naming each bad field.
func Validate(s *joinedup.Service) error {
	var fields []joinedup.FieldError
	add := func(field, format string, args ...any) {
		fields = append(fields, joinedup.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !serviceIDPattern.MatchString(string(s.ID)) {
		add("/id", "Enter an id of 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if s.Organisation == "" {
		add("/organisation", "Enter the organisation that runs the service")
	}
	switch {
	case strings.TrimSpace(s.Name) == "":
		add("/name", "Enter the service’s name")
	case utf8.RuneCountInString(s.Name) > MaxServiceNameLength:
		add("/name", "The service’s name must be %d characters or fewer", MaxServiceNameLength)
	case !plainText(s.Name):
		add("/name", "The service’s name must not contain control, invisible or text-direction characters, or symbols such as emoji")
	case joinedup.MixesAlphabets(s.Name):
		add("/name", "Each word of the service’s name must be in one alphabet, without a letter of another, such as a Cyrillic or Greek letter among Latin ones")
	}
	switch {
	case strings.TrimSpace(s.Purpose) == "":
		add("/purpose", "Enter why the service needs the fields it declares")
	case utf8.RuneCountInString(s.Purpose) > MaxPurposeLength:
		add("/purpose", "The purpose must be %d characters or fewer, because the registrar reads it to the informant", MaxPurposeLength)
	case !plainText(s.Purpose):
		add("/purpose", "The purpose must not contain control, invisible or text-direction characters, or symbols such as emoji")
	}
	// The registrar reads the lawful basis to the informant, as the purpose.
	switch {
	case s.LawfulBasis != strings.TrimSpace(s.LawfulBasis) || utf8.RuneCountInString(s.LawfulBasis) > 300:
		add("/lawfulBasis", "Name the law in 300 characters or fewer, without leading or trailing spaces")
	case !plainText(s.LawfulBasis):
		add("/lawfulBasis", "The lawful basis must not contain control, invisible or text-direction characters, or symbols such as emoji")
	}
	if len(s.EventTypes) == 0 {
		add("/eventTypes", "Enter at least one event type")
	}
	var allowed []string
	for i, t := range s.EventTypes {
		paths, ok := EventTypes[t]
		if !ok {
			add(fmt.Sprintf("/eventTypes/%d", i), "Unknown event type %q", t)
			continue
		}
		if slices.Index(s.EventTypes, t) < i {
			add(fmt.Sprintf("/eventTypes/%d", i), "Event type %q is listed more than once; list each event type once", t)
			continue
		}
		allowed = append(allowed, paths...)
	}
	// A service that takes only notices, whose data is fixed, declares no
	// fields. One that takes a life event with no fields would receive
	// events with no data.
	if len(s.Fields) == 0 && len(allowed) > 0 {
		add("/fields", "Enter at least one field that the service needs, such as child.dateOfBirth, because a service without fields receives no data")
	}
	for i, f := range s.Fields {
		switch {
		case !slices.Contains(allowed, f):
			add(fmt.Sprintf("/fields/%d", i), "Field %q is not a field of the event types taken", f)
		case slices.Index(s.Fields, f) < i:
			add(fmt.Sprintf("/fields/%d", i), "Field %q is listed more than once; list each field once", f)
		}
	}
	switch s.Endpoint.Kind {
	case joinedup.EndpointWebhook:
		if msg := checkWebhookURL(s.Endpoint.URL); msg != "" {
			add("/endpoint/url", "%s", msg)
		}
	case joinedup.EndpointNATS:
		if msg := checkSubject(s.Endpoint.Subject); msg != "" {
			add("/endpoint/subject", "%s", msg)
		}
	default:
		add("/endpoint/kind", `Endpoint kind must be "webhook" or "nats"`)
	}
	if s.Secret != "" {
		if _, err := webhook.NewSigner(s.Secret); err != nil {
			key, decodeErr := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Secret, webhook.SecretPrefix))
			if decodeErr != nil {
				add("/secret", "The secret must be whsec_ followed by base64")
			} else {
				add("/secret", "The secret's key is %d bytes; it must be %d to %d bytes before base64, as whsec_ followed by %d to %d characters",
					len(key), webhook.MinSecretBytes, webhook.MaxSecretBytes,
					base64.StdEncoding.EncodedLen(webhook.MinSecretBytes), base64.StdEncoding.EncodedLen(webhook.MaxSecretBytes))
			}
		}
	}
	if len(fields) > 0 {
		return joinedup.Invalid("The service registration has errors.", fields...)
	}
	return nil
}

// checkWebhookURL returns why raw cannot be a webhook endpoint, or "".
// The URL must be absolute http or https without user information, and a
// host given as an IP address must pass joinedup.CheckEndpointAddress.
// A host name is not resolved here, because it may resolve to another
// address when the hub connects.
// Bounds on a service's endpoint, in characters.
const (
	maxURL     = 2048
	maxSubject = 255
)

// checkSubject returns what is wrong with a service's NATS subject, or ""
// when nothing is. Subjects under joinedup. carry the hub's own delivery
// messages, and subjects under _INBOX. carry replies to requests, so a
// service on either would take messages meant for the hub.
func checkSubject(subject string) string {
	first, _, _ := strings.Cut(subject, ".")
	// The pattern takes only ASCII, so the subject's bytes are its
	// characters once it matches.
	switch {
	case !subjectPattern.MatchString(subject):
		return "Enter a NATS subject of dot-separated tokens of letters, digits, hyphens and underscores, without wildcards"
	case len(subject) > maxSubject:
		return fmt.Sprintf("The subject must be %d characters or fewer", maxSubject)
	case strings.EqualFold(first, "joinedup"), strings.EqualFold(first, "_INBOX"):
		return fmt.Sprintf("Choose a subject that does not start with %s., because the hub uses those subjects itself", first)
	}
	return ""
}

func checkWebhookURL(raw string) string {
	if utf8.RuneCountInString(raw) > maxURL {
		return fmt.Sprintf("The URL must be %d characters or fewer", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "Enter an absolute http or https URL"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Sprintf("Use an http or https URL, not %s", u.Scheme)
	}
	if u.Host == "" {
		return "Enter an absolute http or https URL"
	}
	if u.User != nil {
		return "Remove the user name and password from the URL, because the hub signs each delivery with the service's secret instead"
	}
	host := u.Hostname()
	if host == "" {
		return "Enter an absolute http or https URL"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "Use a port number from 1 to 65535"
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := joinedup.CheckEndpointAddress(addr); err != nil {
			return "Use another address: " + err.Error()
		}
		return ""
	}
	if numericHost.MatchString(host) {
		// A resolver may read such a host as an IPv4 address in a short,
		// octal or hexadecimal form, which the check above cannot see.
		return "Write an IPv4 address as four decimal numbers, such as 192.0.2.10"
	}
	return ""
}

// CreateService implements joinedup.ServiceDirectory.
func (d *Directory) CreateService(ctx context.Context, s *joinedup.Service) error {
	if err := Validate(s); err != nil {
		return err
	}
	if s.Secret == "" {
		s.Secret = webhook.NewSecret()
	}
	if err := d.db.CreateService(ctx, s); err != nil {
		return err
	}
	if d.Created != nil {
		d.Created(ctx)
	}
	return nil
}

// UpdateService implements joinedup.ServiceDirectory.
func (d *Directory) UpdateService(ctx context.Context, s *joinedup.Service) error {
	if err := Validate(s); err != nil {
		return err
	}
	stored, err := d.db.FindService(ctx, s.ID)
	if err != nil {
		return err
	}
	if stored.Retired() {
		return joinedup.ServiceRemoved(stored)
	}
	if s.Secret == "" {
		s.Secret = stored.Secret
	}
	s.CreatedAt = stored.CreatedAt
	// The service's workers keep running: each attempt reads the
	// registration afresh.
	return d.db.UpdateService(ctx, s)
}

// RetireService implements joinedup.ServiceDirectory.
func (d *Directory) RetireService(ctx context.Context, id joinedup.ServiceID) (*joinedup.RetiredService, error) {
	retired, err := d.db.RetireService(ctx, id)
	if err != nil {
		return nil, err
	}
	d.logger().Info("service retired", "service_id", id,
		"dead_lettered", retired.DeadLettered, "actions_cancelled", retired.ActionsCancelled)
	if d.Retired != nil {
		d.Retired(ctx, id)
	}
	return retired, nil
}

// PutService validates s and creates or replaces it; the configuration
// file read at start uses it. A service that an operator has retired
// stays retired and unchanged: PutService logs a warning and returns nil,
// so that a file not yet edited after the removal still starts the hub.
func (d *Directory) PutService(ctx context.Context, s *joinedup.Service) error {
	if err := ValidateFileService(s); err != nil {
		return err
	}
	stored, err := d.db.FindService(ctx, s.ID)
	if err == nil && stored.Retired() {
		d.logger().Warn("service in the services file was removed, so it stays removed and the file's entry is ignored",
			"service_id", s.ID, "retired_at", stored.RetiredAt)
		return nil
	} else if err != nil && joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		return err
	}
	return d.db.PutService(ctx, s)
}

// PutServicesFile stores the organisations and services of the
// configuration file in one transaction, as PutService does for each, so
// that a file rejected part of the way stores nothing. When a service is
// rejected, failed is its index; otherwise failed is -1.
func (d *Directory) PutServicesFile(ctx context.Context, orgs []joinedup.Organisation, services []*joinedup.Service) (failed int, err error) {
	for i, s := range services {
		if err := ValidateFileService(s); err != nil {
			return i, err
		}
	}
	retired, failed, err := d.db.PutServicesFile(ctx, orgs, services)
	for _, id := range retired {
		d.logger().Warn("service in the services file was removed, so it stays removed and the file's entry is ignored", "service_id", id)
	}
	return failed, err
}

// ValidateFileService checks a service from the configuration file as
// PutService does: Validate, and a secret, which the file must give
// because no response would show a generated one.
func ValidateFileService(s *joinedup.Service) error {
	if err := Validate(s); err != nil {
		return err
	}
	if s.Secret == "" {
		return joinedup.Invalid("The service registration has errors.",
			joinedup.FieldError{Field: "/secret", Message: "A service in the configuration file needs its secret"})
	}
	return nil
}

// ValidateOrganisation checks an organisation from the configuration file
// and returns an EINVALID error naming each bad field. Its name appears
// beside its services' names, so it follows the same rules as theirs.
func ValidateOrganisation(o joinedup.Organisation) error {
	var fields []joinedup.FieldError
	if strings.TrimSpace(string(o.ID)) == "" {
		fields = append(fields, joinedup.FieldError{Field: "/id", Message: "Enter the organisation’s id"})
	}
	switch {
	case strings.TrimSpace(o.Name) == "":
		fields = append(fields, joinedup.FieldError{Field: "/name", Message: "Enter the organisation’s name"})
	case utf8.RuneCountInString(o.Name) > MaxServiceNameLength:
		fields = append(fields, joinedup.FieldError{Field: "/name",
			Message: fmt.Sprintf("The organisation’s name must be %d characters or fewer", MaxServiceNameLength)})
	case !plainText(o.Name):
		fields = append(fields, joinedup.FieldError{Field: "/name",
			Message: "The organisation’s name must not contain control, invisible or text-direction characters, or symbols such as emoji"})
	case joinedup.MixesAlphabets(o.Name):
		fields = append(fields, joinedup.FieldError{Field: "/name",
			Message: "Each word of the organisation’s name must be in one alphabet, without a letter of another, such as a Cyrillic or Greek letter among Latin ones"})
	}
	if len(fields) > 0 {
		return joinedup.Invalid("The organisation has errors.", fields...)
	}
	return nil
}

// FindService implements joinedup.ServiceDirectory.
func (d *Directory) FindService(ctx context.Context, id joinedup.ServiceID) (*joinedup.Service, error) {
	return d.db.FindService(ctx, id)
}

// ListServices implements joinedup.ServiceDirectory.
func (d *Directory) ListServices(ctx context.Context) ([]*joinedup.Service, error) {
	return d.db.ListServices(ctx)
}

// ListAllServices implements joinedup.ServiceDirectory.
func (d *Directory) ListAllServices(ctx context.Context) ([]*joinedup.Service, error) {
	return d.db.ListAllServices(ctx)
}

func (d *Directory) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Limits on a service's text, in characters. The registrar reads the
// purpose to the informant, so it must stay short enough to read aloud.
const (
	MaxServiceNameLength = 100
	MaxPurposeLength     = 500
)

// plainText reports whether s has no control or invisible characters and
// no symbols of the kind that emoji are.
func plainText(s string) bool {
	for _, r := range s {
		// Enclosing marks (Me) make keycap emoji, such as 1 and U+20E3.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.So, r) || unicode.Is(unicode.Me, r) {
			return false
		}
		// The emoji skin-tone modifiers are modifier symbols (Sk), a
		// category that also holds accents such as ´, so they are named.
		if r >= 0x1F3FB && r <= 0x1F3FF {
			return false
		}
		// Characters that show nothing, or nothing of their own, such as
		// private-use and unassigned code points, line separators,
		// variation selectors and Hangul fillers, as in names of people.
		if !unicode.IsGraphic(r) || unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return false
		}
	}
	return true
}
