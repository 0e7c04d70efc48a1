package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/delivery"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/web"
)

// sessionCleanupInterval is how often expired sessions are deleted.
const sessionCleanupInterval = 10 * time.Minute

// loadPolicies loads the access policies from cfg.PoliciesDir, or the
// embedded default set when it is empty.
func loadPolicies(cfg Config) (*policy.Policies, error) {
	if cfg.PoliciesDir == "" {
		p, err := policy.Default()
		if err != nil {
			return nil, fmt.Errorf("load access policies: %w", err)
		}
		return p, nil
	}
	p, err := policy.LoadDir(cfg.PoliciesDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.setting("policies"), err)
	}
	return p, nil
}

// trustChecked holds the trust parts that checkTrust opens before the
// start writes anything shared, because opening them can fail.
type trustChecked struct {
	oidc *auth.OIDC // nil without -oidc-issuer
	// audit is the audit log, or nil when the key directory has no key
	// and the store's log is empty, so openTrust creates the key.
	audit *audit.Log
}

// checkTrust opens the trust parts that can fail to open, writing nothing
// that other nodes share: OpenID Connect sign-in, whose provider must
// respond to discovery, and the audit log, whose key must have signed the
// store's latest checkpoint.
func checkTrust(ctx context.Context, cfg Config, h *Hub) (trustChecked, error) {
	var checked trustChecked
	if cfg.OIDCIssuer != "" {
		var err error
		checked.oidc, err = auth.NewOIDC(ctx, h.DB, h.logger, auth.OIDCConfig{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret,
			RedirectURL: h.BaseURL + "/sign-in/oidc/callback", TLS: secureCookies(cfg, h),
		})
		if err != nil {
			return checked, fmt.Errorf("start OIDC sign-in: %w", err)
		}
	}
	var err error
	checked.audit, err = openAuditLog(ctx, cfg, h)
	return checked, err
}

// secureCookies reports whether the hub's cookies are sent over HTTPS
// only.
func secureCookies(cfg Config, h *Hub) bool {
	return cfg.CookieSecure || strings.HasPrefix(h.BaseURL, "https://")
}

// openAuditLog opens the audit log with the key in the key directory,
// which checks that the key is the one the store records, that it signed
// the store's latest checkpoint and that the stored entries match it. It
// creates and writes nothing. When the directory has no key, it returns
// nil if the store records no key and its log is empty, and an error if
// not, because a new key could not extend that log.
func openAuditLog(ctx context.Context, cfg Config, h *Hub) (*audit.Log, error) {
	dir := auditKeyDir(cfg)
	// The store records the key that signs its log from the first start,
	// before the log has entries whose checkpoints would show it.
	recorded, err := h.DB.AuditKey(ctx)
	if err != nil {
		return nil, err
	}
	key, err := audit.LoadKey(dir)
	if errors.Is(err, fs.ErrNotExist) && recorded != "" {
		return nil, fmt.Errorf("audit key: %s has no %s, and the store's audit log is signed by the cluster's key, which this node needs to extend it: %s",
			dir, audit.KeyFile, copyAuditKey(cfg))
	}
	if errors.Is(err, fs.ErrNotExist) {
		latest, err := h.DB.LatestAuditCheckpoint(ctx)
		if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("read the audit log's latest checkpoint: %w", err)
		}
		return nil, fmt.Errorf("audit key: %s has no %s, and the store's audit log has %d entries signed by the cluster's key, which this node needs to extend it: %s",
			dir, audit.KeyFile, latest.Size, copyAuditKey(cfg))
	} else if err != nil {
		return nil, fmt.Errorf("load audit key: %w", err)
	}
	if recorded != "" && recorded != key.PublicKey() {
		return nil, otherAuditKey(cfg, key)
	}

	if origin, err := auditOrigin(h.BaseURL); err == nil && key.Origin() != origin {
		// The origin names the log in every checkpoint signed so far, so
		// it stays when the hub moves to another host name.
		h.logger.Info("audit log keeps the origin of its key", "origin", key.Origin(), "base_url_host", origin)
	}
	log, err := audit.Open(ctx, audit.Config{Storage: h.DB, Key: key, Logger: h.logger})
	if errors.Is(err, audit.ErrOtherKey) {
		return nil, otherAuditKey(cfg, key)
	}
	return log, err
}

// otherAuditKey returns the error of a start whose audit key is not the
// one that signs the store's audit log.
func otherAuditKey(cfg Config, key *audit.Key) error {
	return fmt.Errorf("audit key: the key %s in %s did not sign the store's audit log, so this node cannot extend it: %s",
		key.Origin(), auditKeyDir(cfg), copyAuditKey(cfg))
}

// copyAuditKey returns what to do when the node's audit key directory
// lacks the key of the cluster's audit log.
func copyAuditKey(cfg Config) string {
	return fmt.Sprintf("copy the cluster's %s into %s, or point %s at the directory that holds it",
		audit.KeyFile, auditKeyDir(cfg), cfg.setting("audit-key-dir"))
}

// openTrust builds the hub's trust parts and hands them to site: the
// access policies, password sign-in, OpenID Connect sign-in when it is
// configured, the sessions and the audit log, which it creates with a
// new key when checked has none. The delivery engine and the life event
// service write to the same audit log, so openTrust must run before the
// engine starts.
func openTrust(ctx context.Context, cfg Config, h *Hub, site *web.Server, policies *policy.Policies, checked trustChecked) error {
	site.Policies = policies
	var err error
	site.Passwords, err = auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		return fmt.Errorf("start password sign-in: %w", err)
	}
	site.Sessions = auth.NewSessions(h.DB, h.logger, auth.SessionConfig{
		IdleTimeout: auth.DefaultSessionConfig.IdleTimeout, AbsoluteTimeout: auth.DefaultSessionConfig.AbsoluteTimeout, TLS: secureCookies(cfg, h),
	})
	site.OIDC = checked.oidc

	// LoadOrCreateKey also writes the public key file again if it was
	// deleted, which joinedup audit verify reads.
	origin, err := auditOrigin(h.BaseURL)
	if err != nil {
		return err
	}
	key, err := audit.LoadOrCreateKey(auditKeyDir(cfg), origin)
	if err != nil {
		return fmt.Errorf("load audit key: %w", err)
	}
	// Nodes that start on a new store at the same moment may each create
	// a key: the first to record its key signs the log, and the others
	// stop here.
	if recorded, err := h.DB.ClaimAuditKey(ctx, key.PublicKey()); err != nil {
		return err
	} else if recorded != key.PublicKey() {
		return otherAuditKey(cfg, key)
	}
	log := checked.audit
	if log == nil {
		if log, err = audit.Open(ctx, audit.Config{Storage: h.DB, Key: key, Logger: h.logger}); err != nil {
			return err
		}
	}
	// Entries that a registration or withdrawal queued before a crash,
	// and that no append took since, are appended before the hub serves.
	if err := log.AppendQueued(ctx); err != nil {
		return fmt.Errorf("append queued audit entries: %w", err)
	}
	h.Engine.Audit = log
	h.LifeEvents.Audit = log
	h.LifeEvents.Link = linkBirth
	site.Audit = log
	site.AuditAPI = audit.NewHandler(log)

	site.Records = &trustRecords{db: h.DB}
	site.Consents = consentWithdrawer{h.Engine}
	site.TokenOrganisation = joinedup.OrgID(cfg.APITokenOrganisation)
	if cfg.Demo && site.APIToken == "" {
		site.APIToken = demoAPIToken
	}

	cleanupCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	go deleteExpiredSessions(cleanupCtx, site.Sessions, h)
	h.closers = append(h.closers, func() error { stop(); return nil })
	return nil
}

// auditKeyDir returns the directory of the audit log's signing key.
func auditKeyDir(cfg Config) string {
	if cfg.AuditKeyDir == "" {
		return cfg.Data
	}
	return cfg.AuditKeyDir
}

// checkAuditKey checks, without creating anything, that openTrust can load
// or create the audit log's signing key for a hub at baseURL.
func checkAuditKey(cfg Config, baseURL string) error {
	origin, err := auditOrigin(baseURL)
	if err != nil {
		return err
	}
	if err := audit.CheckKey(auditKeyDir(cfg), origin); err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	return nil
}

// auditOrigin returns the name of a new audit log key: the host name of
// the hub's base URL, without the port. An existing key keeps its own.
func auditOrigin(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("audit log origin: invalid base URL %q", baseURL)
	}
	return u.Hostname(), nil
}

func deleteExpiredSessions(ctx context.Context, sessions *auth.Sessions, h *Hub) {
	tick := time.NewTicker(sessionCleanupInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, err := sessions.DeleteExpired(ctx)
			if err != nil {
				h.logger.Error("delete expired sessions", "error", err)
				continue
			}
			h.logger.Debug("expired sessions deleted", "sessions", n)
		}
	}
}

// consentWithdrawer adapts the delivery engine to web.ConsentWithdrawer.
type consentWithdrawer struct{ engine *delivery.Engine }

func (c consentWithdrawer) WithdrawConsent(ctx context.Context, event joinedup.EventID, service joinedup.ServiceID, actor string) error {
	_, err := c.engine.WithdrawConsent(ctx, event, service, actor)
	return err
}

// trustRecords implements web.Records on the hub's store, with the tables
// of migration 00210.
type trustRecords struct{ db *store.DB }

func (t *trustRecords) FindAccount(ctx context.Context, id string) (*auth.Account, error) {
	return t.db.FindAccount(ctx, id)
}

func (t *trustRecords) FindOrganisation(ctx context.Context, id joinedup.OrgID) (*joinedup.Organisation, error) {
	return t.db.FindOrganisation(ctx, id)
}

func (t *trustRecords) Relationship(ctx context.Context, p policy.Principal, subject string) (policy.Relationship, error) {
	var rel policy.Relationship
	// Only residents and social workers have relationships, so the
	// decisions of other roles, made for every row of a list, read nothing.
	if p.Role != policy.RoleResident && p.Role != policy.RoleSocialWorker {
		return rel, nil
	}
	err := t.db.View(ctx, func(tx *store.Tx) error {
		var found bool
		var err error
		switch p.Role {
		case policy.RoleResident:
			if subject == p.ID {
				rel = policy.RelationshipSelf
				return nil
			}
			found, err = exists(ctx, tx, `SELECT 1 FROM resident_children WHERE account_id = $1 AND event_id = $2`, p.ID, subject)
			if found {
				rel = policy.RelationshipParent
			}
		case policy.RoleSocialWorker:
			found, err = exists(ctx, tx, `
				SELECT 1 FROM worker_allocations a
				WHERE a.worker_id = $1 AND (a.resident_id = $2 OR EXISTS (
					SELECT 1 FROM resident_children c WHERE c.account_id = a.resident_id AND c.event_id = $2))`, p.ID, subject)
			if found {
				rel = policy.RelationshipAllocatedWorker
			}
		}
		return err
	})
	return rel, err
}

func exists(ctx context.Context, tx *store.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// linkBirth records, inside the registration's transaction tx, each
// resident account whose identity matches a parent of r as a parent of
// the child of ev, so that the parents' records show the birth as soon as
// it is registered.
func linkBirth(ctx context.Context, tx *store.Tx, ev *joinedup.LifeEvent, r joinedup.BirthRegistration) error {
	for _, p := range r.Parents {
		if p.NationalInsuranceNumber == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO resident_children (account_id, event_id, created_at)
			SELECT account_id, $1, $2 FROM resident_identities WHERE nino = $3 AND date_of_birth = $4
			ON CONFLICT DO NOTHING`,
			ev.ID, store.Micros(tx.Now()), p.NationalInsuranceNumber, p.DateOfBirth.String()); err != nil {
			return fmt.Errorf("link parent: %w", err)
		}
	}
	return nil
}

func (t *trustRecords) ChildEvents(ctx context.Context, resident string) ([]joinedup.EventID, error) {
	var ids []joinedup.EventID
	err := t.db.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT event_id FROM resident_children WHERE account_id = $1 ORDER BY created_at DESC`, resident)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id joinedup.EventID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

func (t *trustRecords) Identity(ctx context.Context, resident string) (string, joinedup.Date, error) {
	var nino, dateOfBirth string
	err := t.db.View(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT nino, date_of_birth FROM resident_identities WHERE account_id = $1`, resident).Scan(&nino, &dateOfBirth)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "No identity is recorded for resident %s.", resident)
		}
		return err
	})
	if err != nil {
		return "", joinedup.Date{}, err
	}
	d, err := joinedup.ParseDate(dateOfBirth)
	if err != nil {
		return "", joinedup.Date{}, fmt.Errorf("read identity of resident %s: %w", resident, err)
	}
	return nino, d, nil
}

func (t *trustRecords) SearchResidents(ctx context.Context, query string, limit int) ([]*auth.Account, error) {
	nino, _ := joinedup.NormalizeNINO(query)
	var ids []string
	err := t.db.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT a.id FROM accounts a LEFT JOIN resident_identities i ON i.account_id = a.id
			WHERE a.role = $1 AND (a.username LIKE $2 ESCAPE '!' OR (i.nino = $3 AND $3 <> ''))
			ORDER BY a.username LIMIT $4`,
			string(policy.RoleResident), "%"+likeEscape(auth.NormalizeUsername(query))+"%", nino, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("search residents: %w", err)
	}
	out := make([]*auth.Account, 0, len(ids))
	for _, id := range ids {
		a, err := t.db.FindAccount(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// likeEscape escapes the LIKE wildcards % and _ in s with "!", the
// escape character that the query names, so that each matches only
// itself.
func likeEscape(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// History reads the entries about the resident and about the birth events
// of their children in one query, leaving out the resident's own accesses.
// It joins resident_children rather than binding one parameter for each
// event, because SQLite accepts at most 32,766 parameters by default and a
// parent may have more events.
func (t *trustRecords) History(ctx context.Context, resident string, before uint64, limit int) ([]audit.Entry, error) {
	bound := int64(math.MaxInt64)
	if before > 0 && before <= math.MaxInt64 {
		bound = int64(before)
	}
	var out []audit.Entry
	err := t.db.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT seq, recorded_at, actor, action, subject, purpose, reasons, detail FROM audit_entries
			WHERE subject = $1 AND seq < $2 AND NOT (actor = $1 AND action = $4)
			UNION ALL
			SELECT a.seq, a.recorded_at, a.actor, a.action, a.subject, a.purpose, a.reasons, a.detail
			FROM resident_children c JOIN audit_entries a ON a.subject = c.event_id
			WHERE c.account_id = $1 AND a.seq < $2 AND NOT (a.actor = $1 AND a.action = $4)
			ORDER BY seq DESC LIMIT $3`, resident, bound, limit, audit.ActionAccess)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e audit.Entry
			var at int64
			var reasons, detail string
			if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &e.Purpose, &reasons, &detail); err != nil {
				return err
			}
			e.Time = store.FromMicros(at)
			if err := json.Unmarshal([]byte(reasons), &e.Reasons); err != nil {
				return fmt.Errorf("decode reasons of audit entry %d: %w", e.Seq, err)
			}
			e.Detail = json.RawMessage(detail)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read audit history of resident %s: %w", resident, err)
	}
	return out, nil
}

func (t *trustRecords) ServiceDeliveries(ctx context.Context, f joinedup.DeliveryFilter) (joinedup.DeliveryPage, error) {
	page, err := t.db.ListDeliveries(ctx, f)
	if err != nil {
		return page, fmt.Errorf("list deliveries of service %s: %w", f.Service, err)
	}
	return page, nil
}

func (t *trustRecords) SaveGrant(ctx context.Context, g *web.Grant) error {
	hidden := ""
	if !g.HiddenUntil.IsZero() {
		hidden = g.HiddenUntil.String()
	}
	return t.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO break_glass_grants (id, worker_id, resident_id, reason, issued_at, expires_at, hidden_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			g.ID, g.Worker, g.Resident, g.Reason, store.Micros(g.IssuedAt), store.Micros(g.ExpiresAt), hidden)
		if err != nil {
			return fmt.Errorf("store break-glass grant: %w", err)
		}
		return nil
	})
}

const grantColumns = `id, worker_id, resident_id, reason, issued_at, expires_at, hidden_until, reviewed_by, reviewed_at, review_note`

func scanGrant(row interface{ Scan(...any) error }) (*web.Grant, error) {
	var g web.Grant
	var issued, expires, reviewed int64
	var hidden string
	if err := row.Scan(&g.ID, &g.Worker, &g.Resident, &g.Reason, &issued, &expires, &hidden, &g.ReviewedBy, &reviewed, &g.ReviewNote); err != nil {
		return nil, err
	}
	g.IssuedAt, g.ExpiresAt = store.FromMicros(issued), store.FromMicros(expires)
	if reviewed != 0 {
		g.ReviewedAt = store.FromMicros(reviewed)
	}
	if hidden != "" {
		d, err := joinedup.ParseDate(hidden)
		if err != nil {
			return nil, fmt.Errorf("grant %s: invalid hidden_until %q: %w", g.ID, hidden, err)
		}
		g.HiddenUntil = d
	}
	return &g, nil
}

func (t *trustRecords) findGrant(ctx context.Context, where string, args ...any) (*web.Grant, error) {
	var g *web.Grant
	err := t.db.View(ctx, func(tx *store.Tx) error {
		var err error
		g, err = scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM break_glass_grants `+where, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no such break-glass grant.")
		}
		return err
	})
	return g, err
}

func (t *trustRecords) ActiveGrant(ctx context.Context, worker, resident string, now time.Time) (*web.Grant, error) {
	return t.findGrant(ctx, `WHERE worker_id = $1 AND resident_id = $2 AND expires_at > $3 ORDER BY expires_at DESC LIMIT 1`,
		worker, resident, store.Micros(now))
}

func (t *trustRecords) FindGrant(ctx context.Context, id string) (*web.Grant, error) {
	return t.findGrant(ctx, `WHERE id = $1`, id)
}

func (t *trustRecords) ListGrants(ctx context.Context, limit int) ([]*web.Grant, error) {
	out, err := t.listGrants(ctx, `ORDER BY issued_at DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list break-glass grants: %w", err)
	}
	return out, nil
}

func (t *trustRecords) HiddenGrants(ctx context.Context, resident string) ([]*web.Grant, error) {
	out, err := t.listGrants(ctx, `WHERE resident_id = $1 AND hidden_until <> '' ORDER BY issued_at DESC`, resident)
	if err != nil {
		return nil, fmt.Errorf("list hidden break-glass grants: %w", err)
	}
	return out, nil
}

// listGrants returns the grants that the query's tail, such as a WHERE
// and an ORDER BY clause, selects with args.
func (t *trustRecords) listGrants(ctx context.Context, tail string, args ...any) ([]*web.Grant, error) {
	var out []*web.Grant
	err := t.db.View(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+grantColumns+` FROM break_glass_grants `+tail, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGrant(rows)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

func (t *trustRecords) ReviewGrant(ctx context.Context, id, reviewer, note string, at time.Time) error {
	return t.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE break_glass_grants SET reviewed_by = $1, reviewed_at = $2, review_note = $3
			WHERE id = $4 AND reviewed_by = ''`, reviewer, store.Micros(at), note, id)
		if err != nil {
			return fmt.Errorf("review break-glass grant: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return joinedup.Errorf(joinedup.ECONFLICT, "This use of break glass has already been reviewed.")
		}
		return nil
	})
}

// addResidentIdentity records the National Insurance number and date of
// birth of a resident account, which link it to the births it is a parent
// in. It links the births already registered that name a parent with
// both, in the same transaction. linkBirth links each later birth as it
// is registered. nino is in the form that joinedup.NormalizeNINO returns,
// because registrations store it in that form.
func addResidentIdentity(ctx context.Context, db *store.DB, accountID, nino string, dob joinedup.Date) error {
	return db.Tx(ctx, func(tx *store.Tx) error { return addResidentIdentityTx(ctx, tx, accountID, nino, dob) })
}

// addResidentIdentityTx is addResidentIdentity in the transaction tx. An
// identity stored before with the same values has its births linked
// already, so the demo's start, which records its residents' identities
// again, reads no payloads.
func addResidentIdentityTx(ctx context.Context, tx *store.Tx, accountID, nino string, dob joinedup.Date) error {
	var storedNINO, storedDOB string
	err := tx.QueryRowContext(ctx, `SELECT nino, date_of_birth FROM resident_identities WHERE account_id = $1`, accountID).Scan(&storedNINO, &storedDOB)
	switch {
	case err == nil && storedNINO == nino && storedDOB == dob.String():
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read the stored identity: %w", err)
	}

	_, err = tx.ExecContext(ctx, `
		INSERT INTO resident_identities (account_id, nino, date_of_birth) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET nino = excluded.nino, date_of_birth = excluded.date_of_birth`,
		accountID, nino, dob.String())
	if err != nil {
		return err
	}
	return linkRegisteredBirths(ctx, tx, accountID, nino, dob)
}

// linkRegisteredBirths records the resident account as a parent of the
// child of each birth already registered that names a parent with nino
// and dob. Only the payloads that contain nino are decoded. nino has only
// letters and digits, so it needs no escaping in the LIKE pattern.
func linkRegisteredBirths(ctx context.Context, tx *store.Tx, accountID, nino string, dob joinedup.Date) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, payload FROM life_events WHERE type = $1 AND payload LIKE $2`,
		joinedup.EventBirthRegistered, `%"`+nino+`"%`)
	if err != nil {
		return fmt.Errorf("find births naming the resident: %w", err)
	}
	var events []joinedup.EventID
	for rows.Next() {
		var id joinedup.EventID
		var payload string
		if err := rows.Scan(&id, &payload); err != nil {
			rows.Close()
			return err
		}
		var birth joinedup.BirthRegistration
		if err := json.Unmarshal([]byte(payload), &birth); err != nil {
			rows.Close()
			return fmt.Errorf("decode birth %s: %w", id, err)
		}
		for _, p := range birth.Parents {
			if p.NationalInsuranceNumber == nino && p.DateOfBirth == dob {
				events = append(events, id)
				break
			}
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range events {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO resident_children (account_id, event_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, accountID, id, store.Micros(tx.Now())); err != nil {
			return fmt.Errorf("link birth %s: %w", id, err)
		}
	}
	return nil
}

// allocateWorker allocates a social worker to a resident.
func allocateWorker(ctx context.Context, db *store.DB, worker, resident string) error {
	return db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO worker_allocations (worker_id, resident_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, worker, resident, store.Micros(tx.Now()))
		return err
	})
}
