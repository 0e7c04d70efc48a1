package reference

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/internal/sqlitecache"
	"github.com/joinedup/joinedup/linkage"
	"github.com/joinedup/joinedup/reference/population"
	"github.com/joinedup/joinedup/webhook"
)

// rules are the parts of a reference service that differ from the others:
// its tables, the loading of its seed records and its action on each
// event. Every method runs inside the transaction that also stores the
// outcome, and writes only through tx.
type rules interface {
	schema() []string
	seedFamilies(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error
	seedResidents(ctx context.Context, tx *sql.Tx, s *service, people []population.Person) error
	birth(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration, parent person) (joinedup.Outcome, error)
	withdraw(ctx context.Context, tx *sql.Tx, w connector.ConsentWithdrawn) (joinedup.Outcome, error)
}

// actionTaker is implemented by services that ask the hub for deferred
// actions and act when they fall due.
type actionTaker interface {
	actionDue(ctx context.Context, tx *sql.Tx, a connector.ActionDue, now time.Time) (joinedup.Outcome, error)
}

// service is one reference service: its registration, its own SQLite
// database, an index of the people in it and the connector that receives
// its events.
type service struct {
	info     joinedup.Service
	prefix   string // starts the service's own identifiers, such as "CHB"
	rules    rules
	db       *sql.DB
	index    *linkage.Index
	secret   string
	receiver *connector.Receiver

	// callbackWake wakes reportCallbacks after an event is processed.
	callbackWake chan struct{}
	client       *connector.Client // reports outcomes to the hub by callback
	logger       *slog.Logger
	now          func() time.Time
}

// commonSchema holds the tables every reference service has. people holds
// the service's records of people with its own ids, and source_id is the
// id of the record in the seed data it was loaded from. reviews holds events
// whose parents the service could not recognise with confidence, for a
// member of staff to look at.
var commonSchema = []string{
	`CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, next INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS people (
		id            TEXT PRIMARY KEY,
		source_id     TEXT NOT NULL DEFAULT '',
		household_id  TEXT NOT NULL DEFAULT '',
		role          TEXT NOT NULL DEFAULT '',
		given_name    TEXT NOT NULL DEFAULT '',
		family_name   TEXT NOT NULL DEFAULT '',
		date_of_birth TEXT NOT NULL DEFAULT '',
		sex           TEXT NOT NULL DEFAULT '',
		nino          TEXT NOT NULL DEFAULT '',
		address_lines TEXT NOT NULL DEFAULT '[]',
		town          TEXT NOT NULL DEFAULT '',
		postcode      TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS people_household ON people (household_id)`,
	`CREATE TABLE IF NOT EXISTS reviews (
		id             TEXT PRIMARY KEY,
		delivery_id    TEXT NOT NULL,
		event_type     TEXT NOT NULL,
		decision       TEXT NOT NULL,
		candidate_id   TEXT NOT NULL DEFAULT '',
		match_weight   REAL NOT NULL DEFAULT 0,
		data           TEXT NOT NULL,
		state          TEXT NOT NULL DEFAULT 'open',
		created_at     BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS reviews_delivery ON reviews (delivery_id)`,
}

// openDB opens the service's SQLite file with the settings the connector
// needs: immediate transactions and a busy timeout, so that concurrent
// deliveries wait for each other rather than fail. The connection keeps
// its prepared statements, so each event's queries skip the parser.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(30000)")
	// Savepoint journals stay in memory rather than in temporary files.
	q.Add("_pragma", "temp_store(memory)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open(sqlitecache.DriverName, "file:"+filepath.ToSlash(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// SQLite allows one writer at a time. With one connection, concurrent
	// deliveries queue in Go and start the moment the writer finishes,
	// instead of sleeping in SQLite's busy handler, whose back-off added
	// hundreds of milliseconds under load.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// start creates the service's tables, loads its seed records when the
// database is new, reads or creates its secret, indexes its people and
// starts its connector.
func (s *service) start(ctx context.Context, seed func(ctx context.Context, tx *sql.Tx) (string, error)) error {
	schema := append(append(commonSchema[:len(commonSchema):len(commonSchema)], callbackSchema...), s.rules.schema()...)
	for _, stmt := range schema {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
	}

	err := inTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, found, err := setting(ctx, tx, "seeded_from"); err != nil || found {
			return err
		}
		source, err := seed(ctx, tx)
		if err != nil {
			return fmt.Errorf("load seed records: %w", err)
		}
		if err := setSetting(ctx, tx, "seeded_from", source); err != nil {
			return err
		}
		s.logger.Info("seed records loaded", "service", s.info.ID, "source", source)
		return nil
	})
	if err != nil {
		return err
	}

	err = inTx(ctx, s.db, func(tx *sql.Tx) error {
		secret, found, err := setting(ctx, tx, "webhook_secret")
		if err != nil {
			return err
		}
		if !found {
			secret = webhook.NewSecret()
			if err := setSetting(ctx, tx, "webhook_secret", secret); err != nil {
				return err
			}
		}
		s.secret = secret
		return nil
	})
	if err != nil {
		return err
	}

	if err := s.indexPeople(ctx); err != nil {
		return err
	}

	s.receiver, err = connector.New(ctx, connector.Config{
		Service: s.info.ID,
		Secrets: []string{s.secret},
		DB:      s.db,
		Handler: connector.HandlerFunc(s.handle),
		Logger:  s.logger,
		Now:     s.now,
		// The database has one connection, so deliveries that arrive
		// together commit together rather than one sync at a time.
		GroupCommit: true,
	})
	if err != nil {
		return fmt.Errorf("start connector: %w", err)
	}
	return nil
}

// indexPeople adds every adult the service holds to its linkage index.
// Children are left out because only parents are looked up.
func (s *service) indexPeople(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, given_name, family_name, date_of_birth, sex, nino,
		address_lines, town, postcode FROM people WHERE role <> 'child' ORDER BY id`)
	if err != nil {
		return fmt.Errorf("index people: %w", err)
	}
	defer rows.Close()

	s.index = linkage.NewIndex(nil)
	for rows.Next() {
		var r linkage.Record
		var lines string
		if err := rows.Scan(&r.ID, &r.GivenName, &r.FamilyName, &r.DateOfBirth, &r.Sex, &r.NINO,
			&lines, &r.Town, &r.Postcode); err != nil {
			return fmt.Errorf("index people: %w", err)
		}
		if err := json.Unmarshal([]byte(lines), &r.AddressLines); err != nil {
			return fmt.Errorf("index people: address of %s: %w", r.ID, err)
		}
		if err := s.index.Add(r); err != nil {
			// A seed record with nothing to match on cannot be found, which
			// is what would happen to it in a real service too.
			s.logger.Warn("person not indexed", "service", s.info.ID, "person_id", r.ID, "error", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("index people: %w", err)
	}
	return nil
}

// handle dispatches one verified event to the service's rules.
func (s *service) handle(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
	switch e.Type {
	case connector.TypeBirthRegistered:
		b, err := e.Birth()
		if err != nil {
			return joinedup.Outcome{}, err
		}
		b = normalizeNames(b)
		parent, outcome, err := s.recognise(ctx, tx, e, b)
		if err != nil || parent.id == "" {
			return outcome, err
		}
		// A birth sent again after a failed outcome, once the records were
		// put right, no longer needs the review that failure opened.
		if _, err := tx.ExecContext(ctx, `UPDATE reviews SET state = 'resolved' WHERE delivery_id = $1 AND state = 'open'`,
			string(e.Delivery)); err != nil {
			return joinedup.Outcome{}, fmt.Errorf("close reviews: %w", err)
		}
		return s.rules.birth(ctx, tx, e, b, parent)

	case connector.TypeConsentWithdrawn:
		w, err := e.ConsentWithdrawn()
		if err != nil {
			return joinedup.Outcome{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reviews SET state = 'withdrawn' WHERE delivery_id = $1`, w.DeliveryID); err != nil {
			return joinedup.Outcome{}, fmt.Errorf("close reviews: %w", err)
		}
		if err := cancelCallback(ctx, tx, w.DeliveryID); err != nil {
			return joinedup.Outcome{}, err
		}
		return s.rules.withdraw(ctx, tx, w)

	case connector.TypeActionDue:
		taker, ok := s.rules.(actionTaker)
		if !ok {
			break
		}
		a, err := e.ActionDue()
		if err != nil {
			return joinedup.Outcome{}, err
		}
		return taker.actionDue(ctx, tx, a, s.now())
	}
	return joinedup.Outcome{
		Status:  joinedup.OutcomeFailed,
		Summary: fmt.Sprintf("%s does not take %s events.", s.info.Name, e.ShortType()),
	}, nil
}

// normalizeNames puts every name in NFC without surrounding spaces, which
// is the form the hub sends. It changes nothing else, so apostrophes,
// hyphens and accents reach the records as sent.
func normalizeNames(b joinedup.BirthRegistration) joinedup.BirthRegistration {
	b.Child.Name = b.Child.Name.Normalize()
	for i := range b.Parents {
		b.Parents[i].Name = b.Parents[i].Name.Normalize()
	}
	return b
}

// person is a person the service holds.
type person struct {
	id        string
	household string
	given     string
	family    string
}

// recognise looks the parents of b up in the service's records. It
// returns the first parent recognised with a "match" decision. When no
// parent is, it records the event for manual review and returns a zero
// person with a failed outcome that gives the reason. The service never
// acts on a "possible" match, so it never guesses.
func (s *service) recognise(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration) (person, joinedup.Outcome, error) {
	best := linkage.Result{Decision: linkage.None}
	for _, p := range b.Parents {
		result := s.index.Match(parentRecord(p))
		switch {
		case result.Decision == linkage.Match:
			found, err := findPerson(ctx, tx, result.CandidateID)
			return found, joinedup.Outcome{}, err
		case result.Decision == linkage.Possible && (best.Decision != linkage.Possible || result.Weight > best.Weight):
			best = result
		}
	}

	if err := s.recordReview(ctx, tx, e, best); err != nil {
		return person{}, joinedup.Outcome{}, err
	}
	o := joinedup.Outcome{Status: joinedup.OutcomeFailed}
	if best.Decision == linkage.Possible {
		o.Summary = "Recorded for manual review: a parent may be in our records but we could not be sure."
	} else {
		o.Summary = "Recorded for manual review: we have no record of the parents."
	}
	return person{}, o, nil
}

func parentRecord(p joinedup.Parent) linkage.Record {
	return linkage.Record{
		GivenName:    p.Name.Given,
		FamilyName:   p.Name.Family,
		DateOfBirth:  p.DateOfBirth.String(),
		NINO:         p.NationalInsuranceNumber,
		AddressLines: p.Address.Lines,
		Town:         p.Address.Town,
		Postcode:     p.Address.Postcode,
	}
}

func (s *service) recordReview(ctx context.Context, tx *sql.Tx, e *connector.Event, r linkage.Result) error {
	// A delivery sent again after a failed outcome keeps its one open review.
	res, err := tx.ExecContext(ctx, `UPDATE reviews SET decision = $1, candidate_id = $2, match_weight = $3, data = $4
		WHERE delivery_id = $5 AND state = 'open'`, string(r.Decision), r.CandidateID, r.Weight, string(e.Data), string(e.Delivery))
	if err != nil {
		return fmt.Errorf("update review: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update review: %w", err)
	} else if n > 0 {
		return nil
	}

	id, err := s.nextID(ctx, tx, "review", "REV")
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO reviews (id, delivery_id, event_type, decision, candidate_id, match_weight, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, string(e.Delivery), e.Type, string(r.Decision), r.CandidateID, r.Weight, string(e.Data), s.now().UnixMicro())
	if err != nil {
		return fmt.Errorf("record review: %w", err)
	}
	// The line is written inside the event's transaction: a crash before
	// its commit leaves no review, and the id is then given to another.
	s.logger.Info("manual review opened, to stand when the event's transaction commits", "service", s.info.ID, "delivery_id", e.Delivery,
		"review_id", id, "decision", r.Decision)
	return nil
}

func findPerson(ctx context.Context, tx *sql.Tx, id string) (person, error) {
	p := person{id: id}
	err := tx.QueryRowContext(ctx, `SELECT household_id, given_name, family_name FROM people WHERE id = $1`, id).
		Scan(&p.household, &p.given, &p.family)
	if err != nil {
		return person{}, fmt.Errorf("find person %s: %w", id, err)
	}
	return p, nil
}

// insertPerson stores p under the service's own id and returns that id.
func (s *service) insertPerson(ctx context.Context, tx *sql.Tx, p population.Person, household, role string) (string, error) {
	id, err := s.nextID(ctx, tx, "person", s.prefix)
	if err != nil {
		return "", err
	}
	lines, err := json.Marshal(nonNil(p.Address.Lines))
	if err != nil {
		return "", fmt.Errorf("encode address: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO people (id, source_id, household_id, role, given_name, family_name,
		date_of_birth, sex, nino, address_lines, town, postcode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, p.ID, household, role, p.Given, p.Family, p.DateOfBirth, p.Sex, p.NINO, string(lines), p.Address.Town, p.Address.Postcode)
	if err != nil {
		return "", fmt.Errorf("insert person: %w", err)
	}
	return id, nil
}

// childPerson returns the child of a birth registration as a person to
// store, with the address of the recognised parent's household.
func childPerson(b joinedup.BirthRegistration) population.Person {
	p := population.Person{
		Given:       b.Child.Name.Given,
		Family:      b.Child.Name.Family,
		DateOfBirth: b.Child.DateOfBirth.String(),
		Sex:         b.Child.Sex,
	}
	if len(b.Parents) > 0 {
		p.Address = b.Parents[0].Address
	}
	return p
}

func nonNil(lines []string) []string {
	if lines == nil {
		return []string{}
	}
	return lines
}

// nextID returns the next identifier in the named sequence, such as
// "CHB000123" for prefix "CHB".
func (s *service) nextID(ctx context.Context, tx *sql.Tx, sequence, prefix string) (string, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `INSERT INTO sequences (name, next) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET next = sequences.next + 1 RETURNING next`, sequence).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("next %s id: %w", sequence, err)
	}
	return fmt.Sprintf("%s%06d", prefix, n), nil
}

func setting(ctx context.Context, tx *sql.Tx, name string) (string, bool, error) {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, true, nil
}

func setSetting(ctx context.Context, tx *sql.Tx, name, value string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("write setting %s: %w", name, err)
	}
	return nil
}

func inTx(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// pounds formats an amount in pence as "£26.05".
func pounds(pence int64) string {
	sign := ""
	if pence < 0 {
		sign, pence = "-", -pence
	}
	return fmt.Sprintf("%s£%d.%02d", sign, pence/100, pence%100)
}

// detail encodes v as an outcome's Detail.
func detail(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("reference: encode outcome detail: " + err.Error()) // only maps of strings and numbers are passed
	}
	return b
}

// seedFamily stores the members of f in household and returns the
// service's ids for the parents and for the children.
func (s *service) seedFamily(ctx context.Context, tx *sql.Tx, f population.Family, household string) (parents, children []string, err error) {
	for _, p := range f.Parents {
		id, err := s.insertPerson(ctx, tx, p, household, p.Role)
		if err != nil {
			return nil, nil, err
		}
		parents = append(parents, id)
	}
	for _, c := range f.Children {
		id, err := s.insertPerson(ctx, tx, c, household, "child")
		if err != nil {
			return nil, nil, err
		}
		children = append(children, id)
	}
	return parents, children, nil
}

// seedFamiliesAsHouseholds stores the members of each family as one
// household, for services that keep no figures about households.
func seedFamiliesAsHouseholds(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error {
	for _, f := range families {
		household, err := s.nextID(ctx, tx, "household", "FAM")
		if err != nil {
			return err
		}
		if _, _, err := s.seedFamily(ctx, tx, f, household); err != nil {
			return err
		}
	}
	return nil
}

// seedHouseholdsOfOne stores each resident of a Febrl data set as a
// household of one, and calls then, when given, with the household id and
// the resident's new id.
func seedHouseholdsOfOne(ctx context.Context, tx *sql.Tx, s *service, people []population.Person, then func(household, id string, p population.Person) error) error {
	for _, p := range people {
		household, err := s.nextID(ctx, tx, "household", "FAM")
		if err != nil {
			return err
		}
		id, err := s.insertPerson(ctx, tx, p, household, "resident")
		if err != nil {
			return err
		}
		if then != nil {
			if err := then(household, id, p); err != nil {
				return err
			}
		}
	}
	return nil
}
