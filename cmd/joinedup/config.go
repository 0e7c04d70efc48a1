package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/joinedup/joinedup/delivery"
	"github.com/joinedup/joinedup/natsbus"
)

// Config is the configuration of joinedup serve. Every field has a flag
// and a JOINEDUP_* environment variable; a flag given on the command line
// wins over the variable.
type Config struct {
	Addr         string
	Data         string
	AuditKeyDir  string
	DatabaseURL  string
	NATSURL      string
	NATSReplicas int
	Stream       string
	// MoveEventBus lets the node record its event bus and stream as the
	// store's in place of others, and queue the waiting deliveries again.
	MoveEventBus bool
	BaseURL      string
	Demo         bool
	Seed         uint64
	ServicesFile string
	APIToken     string
	MaxAttempts  int
	// Concurrency is the number of deliveries in flight to each service.
	Concurrency int
	Backoff     time.Duration
	LogLevel    slog.Level
	LogFormat   string

	APITokenOrganisation string
	PoliciesDir          string
	OIDCIssuer           string
	OIDCClientID         string
	OIDCClientSecret     string
	CookieSecure         bool
	// TrustedProxies are the addresses of proxies whose
	// X-Forwarded-For header names the client.
	TrustedProxies []netip.Prefix

	// fromEnv maps the flag of each setting that parseConfig took from
	// its JOINEDUP_* variable to that variable, so that messages name it.
	fromEnv map[string]string

	// now replaces the clock that decides when deferred actions are due
	// and what "today" is; tests set it, and nil means time.Now.
	now func() time.Time
}

// flagSpec describes one configuration key.
type flagSpec struct {
	name, env, usage string
	value            flag.Value
}

func (c *Config) specs() []flagSpec {
	return []flagSpec{
		{"addr", "JOINEDUP_ADDR", "address to serve the API and pages on, as host:port with a port from 1 to 65535, or port 0 for any free port, as in 127.0.0.1:0", stringValue(&c.Addr)},
		{"data", "JOINEDUP_DATA", "directory for the SQLite store, the embedded JetStream and keys", stringValue(&c.Data)},
		{"audit-key-dir", "JOINEDUP_AUDIT_KEY_DIR", "directory of the audit log's signing key (audit.key); every node of a cluster needs the same key; default the data directory", stringValue(&c.AuditKeyDir)},
		{"database-url", "JOINEDUP_DATABASE_URL", "PostgreSQL URL (postgres://…) for cluster mode; empty uses SQLite in the data directory", stringValue(&c.DatabaseURL)},
		{"nats-url", "JOINEDUP_NATS_URL", "NATS URL (nats://…) of an external JetStream for cluster mode; empty runs JetStream inside the process with no network port", stringValue(&c.NATSURL)},
		{"nats-replicas", "JOINEDUP_NATS_REPLICAS", "replicas of the deliveries stream on an external JetStream cluster, from 1 to 5; more than 1 needs -nats-url", intRangeValue(&c.NATSReplicas, 1, 5)},
		{"stream", "JOINEDUP_STREAM", "name of the JetStream stream, for several hubs on one NATS server; empty uses DELIVERIES", stringValue(&c.Stream)},
		{"move-event-bus", "JOINEDUP_MOVE_EVENT_BUS", "move the store's deliveries to this node's NATS server and stream when the store records others, or a stream of the same name that is missing or was created again, and queue the deliveries waiting to be sent again in this node's stream; give it once, with every other node stopped", boolValue(&c.MoveEventBus)},
		{"base-url", "JOINEDUP_BASE_URL", "external URL of the hub, used in links and as the source of events; default http://ADDR", stringValue(&c.BaseURL)},
		{"demo", "JOINEDUP_DEMO", "load the demo council and run the reference services inside the hub", boolValue(&c.Demo)},
		{"seed", "JOINEDUP_SEED", "seed of the demo's synthetic population, a whole number of 0 or more", uint64Value(&c.Seed)},
		{"services", "JOINEDUP_SERVICES", "JSON file of organisations and connected services to register at start", stringValue(&c.ServicesFile)},
		{"api-token", "JOINEDUP_API_TOKEN", "bearer token that machines send to the staff API in place of a session; it acts as a registrar of -api-token-organisation and can also register, change and remove connected services. Empty accepts no token, except that -demo then accepts the fixed demo token joinedup-demo-token", stringValue(&c.APIToken)},
		{"api-token-organisation", "JOINEDUP_API_TOKEN_ORGANISATION", "organisation id that the -api-token registers births for", stringValue(&c.APITokenOrganisation)},
		{"policies", "JOINEDUP_POLICIES", "directory of .cedar access policy files that replaces the embedded default set", stringValue(&c.PoliciesDir)},
		{"oidc-issuer", "JOINEDUP_OIDC_ISSUER", "issuer URL of an OpenID Connect provider for staff sign-in; empty offers only local passwords", stringValue(&c.OIDCIssuer)},
		{"oidc-client-id", "JOINEDUP_OIDC_CLIENT_ID", "client id of the hub at the OpenID Connect provider; required with -oidc-issuer, and only with it", stringValue(&c.OIDCClientID)},
		{"oidc-client-secret", "JOINEDUP_OIDC_CLIENT_SECRET", "client secret of the hub at the OpenID Connect provider, if it has one; only with -oidc-issuer", stringValue(&c.OIDCClientSecret)},
		{"cookie-secure", "JOINEDUP_COOKIE_SECURE", "send session cookies only over HTTPS, with the __Host- prefix; on by itself when -base-url is https", boolValue(&c.CookieSecure)},
		{"trusted-proxies", "JOINEDUP_TRUSTED_PROXIES", "comma-separated addresses or CIDR ranges, /8 or narrower for IPv4 and /32 or narrower for IPv6, of proxies in front of the hub, whose X-Forwarded-For header names the client that sign-in and tracking limits count; empty trusts no header", prefixesValue(&c.TrustedProxies)},
		{"max-attempts", "JOINEDUP_MAX_ATTEMPTS", "attempts at a delivery before it is dead-lettered, from 1 to 1000", intRangeValue(&c.MaxAttempts, 1, maxAttempts)},
		{"delivery-concurrency", "JOINEDUP_DELIVERY_CONCURRENCY", "deliveries in flight to each service at once, from 1 to 1024", intRangeValue(&c.Concurrency, 1, 1024)},
		{"backoff", "JOINEDUP_BACKOFF", "longest delay after the first failed attempt, from 1ms to 10m; it doubles with each failure, up to 10 minutes, and each retry waits between half of it and all of it, at random", durationValue(&c.Backoff)},
		{"log-level", "JOINEDUP_LOG_LEVEL", "log level: debug, info, warn or error", levelValue(&c.LogLevel)},
		{"log-format", "JOINEDUP_LOG_FORMAT", "log format: text or json", stringValue(&c.LogFormat)},
	}
}

// DefaultConfig returns the configuration of the embedded default.
func DefaultConfig() Config {
	return Config{
		Addr:         "127.0.0.1:8080",
		Data:         "./joinedup-data",
		NATSReplicas: 1,
		Seed:         1,
		MaxAttempts:  10,
		Concurrency:  16,
		Backoff:      time.Second,
		LogLevel:     slog.LevelInfo,
		LogFormat:    "text",

		APITokenOrganisation: "council",
	}
}

const serveUsage = `Usage: joinedup serve [flags]

Runs the joinedup hub. Flags, with their environment variables:

`

// parseConfig fills a Config from the command-line flags, then, for each
// setting without its flag, from its JOINEDUP_* variable read through
// getenv, then from the defaults.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("joinedup serve", flag.ContinueOnError)
	specs := c.specs()
	for _, s := range specs {
		fs.Var(s.value, s.name, s.usage+" ($"+s.env+")")
	}
	if err := parseFlags(fs, args, serveUsage, stderr); err != nil {
		return c, err
	}

	// A flag given on the command line wins, so its variable is not read.
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	c.fromEnv = map[string]string{}
	for _, s := range specs {
		v := getenv(s.env)
		if onCommandLine[s.name] || v == "" {
			continue
		}
		if err := s.value.Set(v); err != nil {
			return c, fmt.Errorf("invalid %s=%q: %w", s.env, v, err)
		}
		c.fromEnv[s.name] = s.env
	}
	return c, c.Validate()
}

// minAPITokenLength is the shortest -api-token accepted. The token acts as
// a registrar and can change connected services, so it must not be
// guessable.
const minAPITokenLength = 16

// Limits of -max-attempts and -backoff. 1000 attempts, most of them up to
// 10 minutes apart, last up to about a week. A -backoff below 1ms is most
// likely a mistaken unit, and the engine caps any delay at 10 minutes.
const (
	maxAttempts = 1000
	minBackoff  = time.Millisecond
)

// Validate checks the configuration. Each message names the setting as
// the operator set it: the JOINEDUP_* variable when the value came from
// there, otherwise the flag.
func (c *Config) Validate() error {
	errs := c.validateCluster()
	errs = append(errs, c.validateAccess()...)
	if c.MaxAttempts < 1 || c.MaxAttempts > maxAttempts {
		errs = append(errs, fmt.Errorf("%s must be from 1 to %d, not %d", c.setting("max-attempts"), maxAttempts, c.MaxAttempts))
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("%s must be from 1 to 1024, not %d", c.setting("delivery-concurrency"), c.Concurrency))
	}
	if c.Backoff < minBackoff || c.Backoff > delivery.DefaultMaxBackoff {
		errs = append(errs, fmt.Errorf("%s must be from 1ms to 10m, not %s", c.setting("backoff"), c.Backoff))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("%s must be text or json, not %q", c.setting("log-format"), c.LogFormat))
	}
	return errors.Join(errs...)
}

// validateCluster checks the address, the data directory, the store and
// the bus.
func (c *Config) validateCluster() []error {
	var errs []error
	if err := validateAddr(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("invalid %s %q: %v", c.setting("addr"), c.Addr, err))
	}
	if c.Data == "" {
		errs = append(errs, fmt.Errorf("%s must name a directory", c.setting("data")))
	}
	if c.DatabaseURL != "" {
		if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
			errs = append(errs, fmt.Errorf("%s must start with postgres:// or postgresql://", c.setting("database-url")))
		} else if _, err := pgconn.ParseConfig(c.DatabaseURL); err != nil {
			// pgconn replaces the password in the URL it quotes.
			errs = append(errs, fmt.Errorf("invalid %s: %v", c.setting("database-url"), err))
		}
	}
	if c.NATSURL != "" {
		if err := validateNATSURLs(c.NATSURL); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s %s: %v", c.setting("nats-url"), natsbus.RedactURLs(c.NATSURL), err))
		}
	}
	if err := natsbus.ValidateStreamName(c.Stream); err != nil {
		errs = append(errs, fmt.Errorf("invalid %s: %v", c.setting("stream"), err))
	}
	if c.NATSReplicas < 1 || c.NATSReplicas > 5 {
		errs = append(errs, fmt.Errorf("%s must be 1 to 5, not %d", c.setting("nats-replicas"), c.NATSReplicas))
	} else if c.NATSReplicas > 1 && c.NATSURL == "" {
		errs = append(errs, fmt.Errorf("%s %d needs a JetStream cluster: set -nats-url, or leave it at 1 for the JetStream inside the process",
			c.setting("nats-replicas"), c.NATSReplicas))
	}
	if c.BaseURL != "" {
		if err := validateBaseURL(c.BaseURL); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s %s: %v", c.setting("base-url"), redactURL(c.BaseURL), err))
		}
	}
	return errs
}

// validateAccess checks the API token and the OpenID Connect settings.
func (c *Config) validateAccess() []error {
	var errs []error
	switch {
	case c.APIToken == "":
	case len(c.APIToken) < minAPITokenLength:
		errs = append(errs, fmt.Errorf("%s must be at least %d characters, so that it cannot be guessed: generate one with openssl rand -hex 32",
			c.setting("api-token"), minAPITokenLength))
	case strings.IndexFunc(c.APIToken, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		// A client sends the token in an Authorization header, which
		// cannot carry spaces at its ends or characters outside ASCII.
		errs = append(errs, fmt.Errorf("%s must be printable ASCII without spaces: generate one with openssl rand -hex 32", c.setting("api-token")))
	}

	issuer := c.setting("oidc-issuer")
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("invalid %s %s: want the provider's issuer URL, such as https://login.example.gov.uk", issuer, redactURL(c.OIDCIssuer)))
		} else if u.User != nil {
			errs = append(errs, fmt.Errorf("invalid %s %s: remove the user name and password, because an issuer URL carries none", issuer, redactURL(c.OIDCIssuer)))
		}
		if c.OIDCClientID == "" {
			errs = append(errs, fmt.Errorf("-oidc-client-id is required with %s", issuer))
		}
		return errs
	}
	var without []string
	if c.OIDCClientID != "" {
		without = append(without, c.setting("oidc-client-id"))
	}
	if c.OIDCClientSecret != "" {
		without = append(without, c.setting("oidc-client-secret"))
	}
	switch len(without) {
	case 1:
		errs = append(errs, fmt.Errorf("-oidc-issuer is missing, but %s is set: set -oidc-issuer to the provider's issuer URL, or remove %[1]s", without[0]))
	case 2:
		errs = append(errs, fmt.Errorf("-oidc-issuer is missing, but %s and %s are set: set -oidc-issuer to the provider's issuer URL, or remove both", without[0], without[1]))
	}
	return errs
}

// validateAddr checks the address to serve on: host:port, with a port
// number from 1 to 65535, or 0 for any free port.
func validateAddr(addr string) error {
	const want = "want host:port, with a port from 1 to 65535, or port 0 for any free port, such as 127.0.0.1:8080"
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New(want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New(want)
	}
	return nil
}

// setting returns the name of the setting whose flag is name, as the
// operator set it: its JOINEDUP_* variable when parseConfig took the
// value from there, otherwise the flag.
func (c *Config) setting(name string) string {
	if env, ok := c.fromEnv[name]; ok {
		return env
	}
	return "-" + name
}

// validateBaseURL checks the hub's external URL. Pages link to it and
// every event names it as its CloudEvents source, so it carries no
// credentials, query or fragment.
func validateBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("want an absolute http or https URL, such as https://joinedup.example.gov.uk")
	case u.User != nil:
		return errors.New("remove the user name and password: the hub sends this URL to every service as the source of its events")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("remove the query, from ? on: links to the hub's pages are built on this URL")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("remove the fragment, from # on: links to the hub's pages are built on this URL")
	}
	return nil
}

// redactURL returns s, a URL, quoted for messages with its password
// replaced by xxxxx. A URL that does not parse is left out whole, because
// its password cannot be found reliably.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a valid URL)"
	}
	if u.User != nil {
		return strconv.Quote(u.Redacted())
	}
	// Without a scheme, "user:password@host" parses as the scheme "user",
	// so a value with an @ that names no user is not shown.
	if strings.Contains(s, "@") {
		return "(not shown, because it may contain a password)"
	}
	return strconv.Quote(s)
}

// validateNATSURLs checks a comma-separated list of NATS server URLs, as
// the NATS client takes them.
func validateNATSURLs(urls string) error {
	for part := range strings.SplitSeq(urls, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		switch {
		case err != nil:
			return errors.New("each URL must be a valid URL, such as nats://127.0.0.1:4222")
		case u.Scheme != "nats" && u.Scheme != "tls":
			return errors.New("each URL must start with nats:// or tls://")
		case u.Hostname() == "":
			return errors.New("each URL must name a host, such as nats://127.0.0.1:4222")
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("port %s must be from 1 to 65535", port)
			}
		}
	}
	return nil
}

// prefixesFlag reads a comma-separated list of IP addresses and CIDR
// ranges. An address alone is the range of that one address.
type prefixesFlag struct{ p *[]netip.Prefix }

func prefixesValue(p *[]netip.Prefix) flag.Value { return prefixesFlag{p} }

// widestProxyRange returns the shortest prefix length that
// -trusted-proxies takes for an address of addr's family: /8 for IPv4,
// the size of 10.0.0.0/8, and /32 for IPv6, the size of an
// organisation's allocation.
func widestProxyRange(addr netip.Addr) int {
	if addr.Is4() {
		return 8
	}
	return 32
}

func (f prefixesFlag) String() string {
	if f.p == nil {
		return ""
	}
	parts := make([]string, len(*f.p))
	for i, p := range *f.p {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (f prefixesFlag) Set(s string) error {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if addr, err := netip.ParseAddr(part); err == nil {
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
			continue
		}
		prefix, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not an IP address or CIDR range such as 10.0.0.0/8", part)
		}
		// Client addresses are compared unmapped, so an IPv4-mapped IPv6
		// range is too: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
		if prefix.Addr().Is4In6() {
			if prefix.Bits() < 96 {
				return fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses: give the IPv4 range, such as 10.0.0.0/8", part)
			}
			prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
		}
		if prefix.Bits() == 0 {
			return fmt.Errorf("%q would trust every address, so any client could name itself in X-Forwarded-For: list only the proxies' addresses", part)
		}
		// Two halves of the address space would trust every address as
		// /0 does, and no network of proxies is wider than these.
		if widest := widestProxyRange(prefix.Addr()); prefix.Bits() < widest {
			return fmt.Errorf("%q is wider than any network of proxies, so clients could name themselves in X-Forwarded-For: list the proxies' addresses, or ranges of /%d or narrower",
				part, widest)
		}
		out = append(out, prefix.Masked())
	}
	*f.p = out
	return nil
}

type stringFlag struct{ p *string }

func stringValue(p *string) flag.Value  { return stringFlag{p} }
func (f stringFlag) String() string     { return deref(f.p) }
func (f stringFlag) Set(s string) error { *f.p = s; return nil }

type boolFlag struct{ p *bool }

func boolValue(p *bool) flag.Value  { return boolFlag{p} }
func (f boolFlag) IsBoolFlag() bool { return true }
func (f boolFlag) String() string {
	if f.p == nil {
		return "false"
	}
	return strconv.FormatBool(*f.p)
}
func (f boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*f.p = v
	return nil
}

// intFlag reads a whole number. When max is above min, a value that is not
// a whole number gets a message naming that range, which Validate checks.
type intFlag struct {
	p        *int
	min, max int
}

func intValue(p *int) flag.Value { return intFlag{p: p} }

// intRangeValue returns the value of a flag that takes a whole number from
// min to max.
func intRangeValue(p *int, min, max int) flag.Value { return intFlag{p: p, min: min, max: max} }

func (f intFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}
func (f intFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil && f.max > f.min {
		return fmt.Errorf("must be a whole number from %d to %d", f.min, f.max)
	} else if err != nil {
		return numberError(s, err)
	}
	*f.p = v
	return nil
}

type uint64Flag struct{ p *uint64 }

func uint64Value(p *uint64) flag.Value { return uint64Flag{p} }
func (f uint64Flag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatUint(*f.p, 10)
}
func (f uint64Flag) Set(s string) error {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil && strings.HasPrefix(s, "-") {
		return errors.New("must be a whole number of 0 or more, such as 5")
	} else if err != nil {
		return numberError(s, err)
	}
	*f.p = v
	return nil
}

// numberError returns the message for s, which strconv could not parse
// as a whole number with err.
func numberError(s string, err error) error {
	switch {
	case !errors.Is(err, strconv.ErrRange):
		return errors.New("must be a whole number, such as 5")
	case strings.HasPrefix(s, "-"):
		return errors.New("the number is too far below zero")
	}
	return errors.New("the number is too large")
}

type durationFlag struct{ p *time.Duration }

func durationValue(p *time.Duration) flag.Value { return durationFlag{p} }
func (f durationFlag) String() string {
	if f.p == nil {
		return "0s"
	}
	return f.p.String()
}
func (f durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("must be a duration such as 500ms or 2s")
	}
	*f.p = v
	return nil
}

type levelFlag struct{ p *slog.Level }

func levelValue(p *slog.Level) flag.Value { return levelFlag{p} }
func (f levelFlag) String() string {
	if f.p == nil {
		// The flag package compares this with the default to decide
		// whether to print the default.
		return ""
	}
	return strings.ToLower(f.p.String())
}
func (f levelFlag) Set(s string) error {
	if err := f.p.UnmarshalText([]byte(s)); err != nil {
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
