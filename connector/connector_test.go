package connector_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/store/storetest"
	"github.com/joinedup/joinedup/webhook"
)

// clock is a settable time source shared by a test and its Receiver.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Receiver over a fresh SQLite file whose handler records
// one row in the effects table per event it acts on.
type fixture struct {
	t        *testing.T
	driver   string
	dsn      string
	db       *sql.DB
	secret   string
	signer   *webhook.Signer
	clock    *clock
	receiver *connector.Receiver
	handler  connector.HandlerFunc
	grouped  bool // Config.GroupCommit
}

func sqliteDSN(path string) string {
	return "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	return openDB(t, "sqlite", sqliteDSN(path))
}

// forEachBackend runs test on SQLite, on SQLite with group commit and on
// PostgreSQL.
func forEachBackend(t *testing.T, test func(t *testing.T, backend string)) {
	for _, backend := range []string{"sqlite", "sqlite-grouped", "postgres"} {
		t.Run(backend, func(t *testing.T) { test(t, backend) })
	}
}

// actOnce is a handler that records one effect and reports it acted.
func actOnce(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id) VALUES ($1)`, e.ID); err != nil {
		return joinedup.Outcome{}, err
	}
	return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added to the patient list", Reference: "P-" + e.ID}, nil
}

func newFixture(t *testing.T, handler connector.HandlerFunc) *fixture {
	t.Helper()
	return newFixtureOn(t, "sqlite", handler)
}

// newFixtureOn returns a fixture on a fresh database of the backend,
// "sqlite", "sqlite-grouped" or "postgres". PostgreSQL tests skip unless
// JOINEDUP_TEST_DATABASE_URL is set.
func newFixtureOn(t *testing.T, backend string, handler connector.HandlerFunc) *fixture {
	t.Helper()
	f := &fixture{
		t:       t,
		driver:  "sqlite",
		dsn:     sqliteDSN(filepath.Join(t.TempDir(), "service.db")),
		secret:  webhook.NewSecret(),
		clock:   &clock{now: time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)},
		handler: handler,
	}
	switch backend {
	case "sqlite-grouped":
		f.grouped = true
	case "postgres":
		f.driver, f.dsn = "pgx", storetest.PostgresURL(t)
	}
	var err error
	if f.signer, err = webhook.NewSigner(f.secret); err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	f.open()
	if _, err := f.db.Exec(`CREATE TABLE effects (event_id TEXT NOT NULL)`); err != nil {
		t.Fatalf("create effects table: %v", err)
	}
	return f
}

// open opens the database file and starts a new Receiver on it, as a
// service does when it starts after a crash.
func (f *fixture) open() {
	f.t.Helper()
	f.db = openDB(f.t, f.driver, f.dsn)
	r, err := connector.New(context.Background(), connector.Config{
		Service:     "gp-practice",
		Secrets:     []string{f.secret},
		DB:          f.db,
		Handler:     f.handler,
		Logger:      slog.New(slog.DiscardHandler),
		Now:         f.clock.Now,
		GroupCommit: f.grouped,
	})
	if err != nil {
		f.t.Fatalf("connector.New: %v", err)
	}
	f.receiver = r
}

func (f *fixture) effects() int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(`SELECT count(*) FROM effects`).Scan(&n); err != nil {
		f.t.Fatalf("count effects: %v", err)
	}
	return n
}

func eventBody(t *testing.T, id string) []byte {
	t.Helper()
	body, err := json.Marshal(connector.Event{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          "http://127.0.0.1:8080",
		Type:            connector.TypeBirthRegistered,
		Subject:         "BR-2026-000123",
		Time:            time.Date(2026, 12, 4, 19, 59, 0, 0, time.UTC),
		DataContentType: "application/json",
		Data:            json.RawMessage(`{"child":{"dateOfBirth":"2026-11-30"}}`),
		Event:           "evt_1",
		Delivery:        "dlv_1",
	})
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	return body
}

// signedRequest returns a POST of body signed with signer at the given time.
func signedRequest(signer *webhook.Signer, id string, at time.Time, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", connector.ContentType)
	signer.SetHeaders(req.Header, id, at, body)
	return req
}

func (f *fixture) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.receiver.ServeHTTP(w, req)
	return w
}

func decodeOutcome(t *testing.T, w *httptest.ResponseRecorder) joinedup.Outcome {
	t.Helper()
	var o joinedup.Outcome
	if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
		t.Fatalf("decode outcome %q: %v", w.Body.String(), err)
	}
	return o
}

func TestReceiverActs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, actOnce)
		body := eventBody(t, "dlv_1")

		w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))

		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
		o := decodeOutcome(t, w)
		if o.Status != joinedup.OutcomeActed {
			t.Errorf("outcome status = %q, want %q", o.Status, joinedup.OutcomeActed)
		}
		if o.Reference != "P-dlv_1" {
			t.Errorf("outcome reference = %q, want %q", o.Reference, "P-dlv_1")
		}
		if !o.ReportedAt.Equal(f.clock.Now()) {
			t.Errorf("outcome reportedAt = %v, want %v", o.ReportedAt, f.clock.Now())
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

func TestReceiverRejects(t *testing.T) {
	otherSigner, err := webhook.NewSigner(webhook.NewSecret())
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	tests := []struct {
		name    string
		request func(f *fixture, body []byte) *http.Request
		want    int
	}{
		{
			name: "forged with another secret",
			request: func(f *fixture, body []byte) *http.Request {
				return signedRequest(otherSigner, "dlv_1", f.clock.Now(), body)
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "stale by six minutes",
			request: func(f *fixture, body []byte) *http.Request {
				return signedRequest(f.signer, "dlv_1", f.clock.Now().Add(-6*time.Minute), body)
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "six minutes in the future",
			request: func(f *fixture, body []byte) *http.Request {
				return signedRequest(f.signer, "dlv_1", f.clock.Now().Add(6*time.Minute), body)
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "unsigned",
			request: func(f *fixture, body []byte) *http.Request {
				req := signedRequest(f.signer, "dlv_1", f.clock.Now(), body)
				req.Header.Del(webhook.HeaderSignature)
				return req
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "body changed after signing",
			request: func(f *fixture, body []byte) *http.Request {
				req := signedRequest(f.signer, "dlv_1", f.clock.Now(), body)
				req.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("2026-11-30"), []byte("2026-11-29"), 1)))
				return req
			},
			want: http.StatusUnauthorized,
		},
		{
			name: "webhook-id differs from event id",
			request: func(f *fixture, body []byte) *http.Request {
				return signedRequest(f.signer, "dlv_2", f.clock.Now(), body)
			},
			want: http.StatusBadRequest,
		},
		{
			name: "wrong content type",
			request: func(f *fixture, body []byte) *http.Request {
				req := signedRequest(f.signer, "dlv_1", f.clock.Now(), body)
				req.Header.Set("Content-Type", "text/plain")
				return req
			},
			want: http.StatusUnsupportedMediaType,
		},
		{
			name: "GET",
			request: func(f *fixture, body []byte) *http.Request {
				req := signedRequest(f.signer, "dlv_1", f.clock.Now(), body)
				req.Method = http.MethodGet
				return req
			},
			want: http.StatusMethodNotAllowed,
		},
		{
			name: "not CloudEvents",
			request: func(f *fixture, body []byte) *http.Request {
				return signedRequest(f.signer, "dlv_1", f.clock.Now(), []byte(`{"id":"dlv_1"}`))
			},
			want: http.StatusBadRequest,
		},
		{
			name: "body over the limit",
			request: func(f *fixture, body []byte) *http.Request {
				large := bytes.Repeat([]byte(" "), connector.MaxBodyBytes+1)
				return signedRequest(f.signer, "dlv_1", f.clock.Now(), large)
			},
			want: http.StatusRequestEntityTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, actOnce)
			w := f.serve(tt.request(f, eventBody(t, "dlv_1")))

			if w.Code != tt.want {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", got)
			}
			var p connector.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Errorf("body is not a problem document: %v", err)
			} else if p.Status != tt.want {
				t.Errorf("problem status = %d, want %d", p.Status, tt.want)
			}
			if n := f.effects(); n != 0 {
				t.Errorf("effects = %d, want 0", n)
			}
		})
	}
}

func TestReceiverRejectsReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, actOnce)
		body := eventBody(t, "dlv_1")
		first := signedRequest(f.signer, "dlv_1", f.clock.Now(), body)
		replay := first.Clone(context.Background())
		replay.Body = io.NopCloser(bytes.NewReader(body))

		if w := f.serve(first); w.Code != http.StatusOK {
			t.Fatalf("first: status = %d, want 200; body %s", w.Code, w.Body)
		}
		f.clock.Advance(4 * time.Minute)
		w := f.serve(replay)

		if w.Code != http.StatusUnauthorized {
			t.Errorf("replay: status = %d, want 401; body %s", w.Code, w.Body)
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

func TestReceiverRedeliveryActsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, actOnce)
		body := eventBody(t, "dlv_1")

		first := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		f.clock.Advance(30 * time.Second)
		second := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))

		if first.Code != http.StatusOK || second.Code != http.StatusOK {
			t.Fatalf("statuses = %d and %d, want 200 and 200", first.Code, second.Code)
		}
		if first.Body.String() != second.Body.String() {
			t.Errorf("second outcome = %s, want the first %s", second.Body, first.Body)
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

func TestReceiverRedeliveryAfterRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, actOnce)
		body := eventBody(t, "dlv_1")
		first := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if first.Code != http.StatusOK {
			t.Fatalf("first: status = %d, want 200", first.Code)
		}

		if err := f.db.Close(); err != nil {
			t.Fatalf("close database: %v", err)
		}
		f.open()
		f.clock.Advance(2 * time.Minute)
		second := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))

		if second.Code != http.StatusOK {
			t.Fatalf("after restart: status = %d, want 200; body %s", second.Code, second.Body)
		}
		if first.Body.String() != second.Body.String() {
			t.Errorf("outcome after restart = %s, want %s", second.Body, first.Body)
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

func TestReceiverConcurrentRedeliveries(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, actOnce)
		body := eventBody(t, "dlv_1")

		const copies = 8
		codes := make([]int, copies)
		var wg sync.WaitGroup
		for i := range copies {
			req := signedRequest(f.signer, "dlv_1", f.clock.Now().Add(time.Duration(i)*time.Second), body)
			wg.Go(func() { codes[i] = f.serve(req).Code })
		}
		wg.Wait()

		for i, code := range codes {
			if code != http.StatusOK {
				t.Errorf("copy %d: status = %d, want 200", i, code)
			}
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

func TestReceiverHandlerError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		fail := true
		f := newFixtureOn(t, backend, func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
			if _, err := actOnce(ctx, tx, e); err != nil {
				return joinedup.Outcome{}, err
			}
			if fail {
				return joinedup.Outcome{}, joinedup.Errorf(joinedup.EUNAVAILABLE, "The records system is down.")
			}
			return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded"}, nil
		})
		body := eventBody(t, "dlv_1")

		w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("failing handler: status = %d, want 503", w.Code)
		}
		if n := f.effects(); n != 0 {
			t.Errorf("failing handler: effects = %d, want 0", n)
		}

		fail = false
		f.clock.Advance(time.Minute)
		w = f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if w.Code != http.StatusOK {
			t.Errorf("retry: status = %d, want 200", w.Code)
		}
		if n := f.effects(); n != 1 {
			t.Errorf("retry: effects = %d, want 1", n)
		}
	})
}

// TestReceiverRejectsOutcomeWithoutSummary has a handler report acted
// with no summary, which the hub would not accept. The receiver responds
// with an error and keeps none of the handler's changes.
func TestReceiverRejectsOutcomeWithoutSummary(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		f := newFixtureOn(t, backend, func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
			if _, err := actOnce(ctx, tx, e); err != nil {
				return joinedup.Outcome{}, err
			}
			return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "  "}, nil
		})

		w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), eventBody(t, "dlv_1")))

		if w.Code < 500 {
			t.Errorf("status = %d, want a server error", w.Code)
		}
		if n := f.effects(); n != 0 {
			t.Errorf("effects = %d, want 0", n)
		}
	})
}

// TestReceiverHandlesFailedAgain reports failed for a delivery and then,
// when the same delivery arrives again, acts: a failed outcome is not kept
// as the answer to every redelivery.
func TestReceiverHandlesFailedAgain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		known := false
		calls := 0
		f := newFixtureOn(t, backend, func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
			calls++
			if !known {
				return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "We have no record of the parents."}, nil
			}
			if _, err := actOnce(ctx, tx, e); err != nil {
				return joinedup.Outcome{}, err
			}
			return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added."}, nil
		})
		body := eventBody(t, "dlv_1")

		w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"failed"`) {
			t.Fatalf("first delivery: status %d, body %s, want 200 with a failed outcome", w.Code, w.Body)
		}

		known = true
		f.clock.Advance(time.Minute)
		w = f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"acted"`) {
			t.Errorf("second delivery: status %d, body %s, want 200 with an acted outcome", w.Code, w.Body)
		}
		f.clock.Advance(time.Minute)
		w = f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), body))
		if !strings.Contains(w.Body.String(), `"acted"`) {
			t.Errorf("third delivery: body %s, want the stored acted outcome", w.Body)
		}
		if calls != 2 {
			t.Errorf("handler calls = %d, want 2", calls)
		}
		if n := f.effects(); n != 1 {
			t.Errorf("effects = %d, want 1", n)
		}
	})
}

// TestReceiverGroupCommitIsolatesFailures sends many deliveries at once to
// a receiver with group commit, so that they share transactions, and has
// every third handler fail after writing. Each failure changes nothing;
// every other delivery keeps its effect and its outcome.
func TestReceiverGroupCommitIsolatesFailures(t *testing.T) {
	f := newFixtureOn(t, "sqlite-grouped", func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
		o, err := actOnce(ctx, tx, e)
		if err != nil {
			return o, err
		}
		var n int
		fmt.Sscanf(e.ID, "dlv_%d", &n)
		if n%3 == 0 {
			return joinedup.Outcome{}, joinedup.Errorf(joinedup.EUNAVAILABLE, "The records system is down.")
		}
		return o, nil
	})

	const deliveries = 90
	codes := make([]int, deliveries)
	var wg sync.WaitGroup
	for i := range deliveries {
		id := fmt.Sprintf("dlv_%d", i)
		req := signedRequest(f.signer, id, f.clock.Now(), eventBody(t, id))
		wg.Go(func() { codes[i] = f.serve(req).Code })
	}
	wg.Wait()

	for i, code := range codes {
		want := http.StatusOK
		if i%3 == 0 {
			want = http.StatusServiceUnavailable
		}
		if code != want {
			t.Errorf("dlv_%d: status = %d, want %d", i, code, want)
		}
	}
	rows, err := f.db.Query(`SELECT event_id FROM effects`)
	if err != nil {
		t.Fatalf("read effects: %v", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("read effects: %v", err)
		}
		var n int
		fmt.Sscanf(id, "dlv_%d", &n)
		if n%3 == 0 || seen[id] {
			t.Errorf("effect of %s kept, want none or one", id)
		}
		seen[id] = true
	}
	if len(seen) != deliveries*2/3 {
		t.Errorf("effects of %d deliveries kept, want %d", len(seen), deliveries*2/3)
	}
	var outcomes int
	if err := f.db.QueryRow(`SELECT count(*) FROM connector_outcomes`).Scan(&outcomes); err != nil {
		t.Fatalf("count outcomes: %v", err)
	}
	if outcomes != deliveries*2/3 {
		t.Errorf("outcomes stored = %d, want %d", outcomes, deliveries*2/3)
	}
}

// TestReceiverInvalidOutcome has the handler return outcomes that the hub
// would reject. Each must fail the request and roll back the handler's
// effect, so that the fault shows at the service.
func TestReceiverInvalidOutcome(t *testing.T) {
	tests := []struct {
		name    string
		outcome joinedup.Outcome
	}{
		{"unknown status", joinedup.Outcome{Status: "done"}},
		{"control character in the summary", joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Line1\x00\nLine2\a"}},
		{"direction override in the reference", joinedup.Outcome{Status: joinedup.OutcomeActed, Reference: "Evil\u202etxt.exe"}},
		{"invisible character in a deferred summary", joinedup.Outcome{Status: joinedup.OutcomeActed, Deferred: []joinedup.DeferredRequest{
			{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: time.September, Day: 1}, Summary: "Offer\u200ba place"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
				if _, err := actOnce(ctx, tx, e); err != nil {
					return joinedup.Outcome{}, err
				}
				return tt.outcome, nil
			})

			w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), eventBody(t, "dlv_1")))

			if w.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", w.Code)
			}
			if n := f.effects(); n != 0 {
				t.Errorf("effects = %d, want 0", n)
			}
		})
	}
}

func TestReceiverAccepted(t *testing.T) {
	f := newFixture(t, func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
		return joinedup.Outcome{Status: joinedup.OutcomeAccepted, Summary: "Claim received"}, nil
	})

	w := f.serve(signedRequest(f.signer, "dlv_1", f.clock.Now(), eventBody(t, "dlv_1")))

	if w.Code != http.StatusAccepted {
		t.Errorf("status = %d, want 202", w.Code)
	}
	if o := decodeOutcome(t, w); o.Status != joinedup.OutcomeAccepted {
		t.Errorf("outcome status = %q, want %q", o.Status, joinedup.OutcomeAccepted)
	}
}

func TestReceiverRotatedSecrets(t *testing.T) {
	oldSecret, newSecret := webhook.NewSecret(), webhook.NewSecret()
	oldSigner, _ := webhook.NewSigner(oldSecret)
	newSigner, _ := webhook.NewSigner(newSecret)
	db := openSQLite(t, filepath.Join(t.TempDir(), "service.db"))
	now := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	r, err := connector.New(context.Background(), connector.Config{
		Service: "gp-practice",
		Secrets: []string{newSecret, oldSecret},
		DB:      db,
		Handler: connector.HandlerFunc(func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
			return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded"}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("connector.New: %v", err)
	}

	for i, signer := range []*webhook.Signer{oldSigner, newSigner} {
		id := fmt.Sprintf("dlv_%d", i)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, signedRequest(signer, id, now, eventBody(t, id)))
		if w.Code != http.StatusOK {
			t.Errorf("secret %d: status = %d, want 200", i, w.Code)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	db := openSQLite(t, filepath.Join(t.TempDir(), "service.db"))
	handler := connector.HandlerFunc(actOnce)
	logger := slog.New(slog.DiscardHandler)
	tests := []struct {
		name string
		cfg  connector.Config
	}{
		{"no secret", connector.Config{DB: db, Handler: handler, Logger: logger}},
		{"invalid secret", connector.Config{Secrets: []string{"whsec_short"}, DB: db, Handler: handler, Logger: logger}},
		{"no database", connector.Config{Secrets: []string{webhook.NewSecret()}, Handler: handler, Logger: logger}},
		{"no handler", connector.Config{Secrets: []string{webhook.NewSecret()}, DB: db, Logger: logger}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := connector.New(context.Background(), tt.cfg); err == nil {
				t.Errorf("New = nil error, want an error")
			}
		})
	}
}

func TestEventDecoders(t *testing.T) {
	e := &connector.Event{
		Type: connector.TypeActionDue,
		Data: json.RawMessage(`{"action":"nursery-contact","due":"2029-09-01","summary":"Call the parents","deliveryId":"dlv_1","eventReference":"BR-1"}`),
	}
	a, err := e.ActionDue()
	if err != nil {
		t.Fatalf("ActionDue: %v", err)
	}
	if want := (joinedup.Date{Year: 2029, Month: time.September, Day: 1}); a.Due != want {
		t.Errorf("due = %v, want %v", a.Due, want)
	}
	if a.Action != "nursery-contact" {
		t.Errorf("action = %q, want nursery-contact", a.Action)
	}
	if e.ShortType() != joinedup.EventActionDue {
		t.Errorf("ShortType = %q, want %q", e.ShortType(), joinedup.EventActionDue)
	}

	if _, err := e.Birth(); joinedup.ErrorCode(err) != joinedup.EINVALID {
		t.Errorf("Birth on an action.due event: error code = %q, want %q", joinedup.ErrorCode(err), joinedup.EINVALID)
	}

	w := &connector.Event{Type: connector.TypeConsentWithdrawn, Data: json.RawMessage(`{"deliveryId":"dlv_1","eventReference":"BR-1","withdrawnAt":"2027-01-02T10:00:00Z"}`)}
	got, err := w.ConsentWithdrawn()
	if err != nil {
		t.Fatalf("ConsentWithdrawn: %v", err)
	}
	if got.DeliveryID != "dlv_1" {
		t.Errorf("deliveryId = %q, want dlv_1", got.DeliveryID)
	}

	bad := &connector.Event{Type: connector.TypeBirthRegistered, Data: json.RawMessage(`{"child":{"dateOfBirth":"2026-02-30"}}`)}
	if _, err := bad.Birth(); !errors.As(err, new(*joinedup.Error)) {
		t.Errorf("Birth with an impossible date: error = %v, want a *joinedup.Error", err)
	}
}
