package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/lifeevent"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/webhook"
)

// testLogger writes the hub's log to the test log when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testToken is the operator API token of the hubs the tests start.
const testToken = "test-operator-token"

// apiRequest returns a request to the hub's API carrying testToken.
func apiRequest(method, url, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req, nil
}

// apiPost posts body to the hub's API with testToken.
func apiPost(url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := apiRequest(http.MethodPost, url, contentType, body)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// apiGet gets url from the hub's API with testToken.
func apiGet(url string) (*http.Response, error) {
	req, err := apiRequest(http.MethodGet, url, "", nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// startHub starts a hub on a loopback port with its data in a temporary
// directory, changing cfg with edit first.
func startHub(t testing.TB, edit func(*Config)) *Hub {
	t.Helper()
	return startHubLogging(t, edit, testLogger(t))
}

// startHubLogging is startHub with the hub's log written to logger.
func startHubLogging(t testing.TB, edit func(*Config), logger *slog.Logger) *Hub {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Backoff = 50 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	if cfg.APIToken == "" && !cfg.Demo {
		cfg.APIToken = testToken
		// The hub requires the organisation that the token registers
		// births for.
		if cfg.ServicesFile == "" {
			org := joinedup.Organisation{ID: joinedup.OrgID(cfg.APITokenOrganisation), Name: "Test Registration Council"}
			cfg.ServicesFile = writeServicesFile(t, servicesFile{Organisations: []joinedup.Organisation{org}})
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h, err := OpenHub(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("open hub: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// recorder is a connected service for tests: a connector.Receiver that
// keeps every event it acted on.
type recorder struct {
	mu       sync.Mutex
	events   []*connector.Event
	fail     int           // answer the first fail requests with 503
	hang     int           // respond to none of the first hang requests: each waits until its sender disconnects
	delay    time.Duration // wait this long before answering each request
	seen     int
	requests map[string]int // requests by webhook-id
	outcome  joinedup.Outcome
	db       *sql.DB // the service's own database, where its effects are kept

	inFlight, maxInFlight int // requests in progress now, and the maximum at once
}

// effects returns how many effects the service committed for each life
// event. Unlike received, it leaves out calls whose transaction a crash
// rolled back.
func (r *recorder) effects(t testing.TB) map[joinedup.EventID]int {
	t.Helper()
	rows, err := r.db.Query(`SELECT event_id, COUNT(*) FROM effects GROUP BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[joinedup.EventID]int{}
	for rows.Next() {
		var id joinedup.EventID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

func (r *recorder) received() []*connector.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connector.Event(nil), r.events...)
}

// waitCalled waits up to 10 seconds for the first request to the service.
func (r *recorder) waitCalled(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		seen := r.seen
		r.mu.Unlock()
		if seen > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the service was not called")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startService registers a webhook service on the hub and serves it with
// a recorder.
func startService(t testing.TB, h *Hub, id joinedup.ServiceID, fields []string, rec *recorder) *joinedup.Service {
	t.Helper()
	ctx := context.Background()
	if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	s := serveRecorder(t, id, fields, rec)
	if err := h.Directory.CreateService(ctx, s); err != nil {
		t.Fatalf("create service %s: %v", id, err)
	}
	return s
}

// serveRecorder serves a test service on a loopback port and returns its
// registration, not yet registered with any hub.
func serveRecorder(t testing.TB, id joinedup.ServiceID, fields []string, rec *recorder) *joinedup.Service {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "service.db")+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	secret := webhook.NewSecret()
	if rec.outcome.Status == "" {
		rec.outcome = joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded"}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE effects (webhook_id TEXT PRIMARY KEY, event_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	rec.db = db
	handler := connector.HandlerFunc(func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
		// The service's effect is a row written in the connector's
		// transaction, so a delivery cut off by a crash leaves none.
		if _, err := tx.ExecContext(ctx, `INSERT INTO effects (webhook_id, event_id) VALUES ($1, $2)`, e.ID, string(e.Event)); err != nil {
			return joinedup.Outcome{}, err
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.events = append(rec.events, e)
		return rec.outcome, nil
	})
	receiver, err := connector.New(ctx, connector.Config{Service: id, Secrets: []string{secret}, DB: db, Handler: handler, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec.mu.Lock()
		rec.seen++
		failing := rec.seen <= rec.fail
		hanging := rec.seen <= rec.hang
		if rec.requests == nil {
			rec.requests = map[string]int{}
		}
		rec.requests[req.Header.Get("webhook-id")]++
		delay := rec.delay
		rec.inFlight++
		rec.maxInFlight = max(rec.maxInFlight, rec.inFlight)
		rec.mu.Unlock()
		defer func() {
			rec.mu.Lock()
			rec.inFlight--
			rec.mu.Unlock()
		}()
		time.Sleep(delay)
		if hanging {
			// The server notices a closed connection only once the body
			// has been read.
			io.Copy(io.Discard, req.Body)
			<-req.Context().Done()
			return
		}
		if failing {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		receiver.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)

	return &joinedup.Service{
		ID: id, Organisation: "test-council", Name: "Service " + string(id), Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: fields, Secret: secret,
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: srv.URL + "/events"},
	}
}

// siblingNames are middle names that make each child of a batch of births
// a different child, since the hub refuses the same birth twice.
var siblingNames = []string{"Ada", "Bea", "Cara", "Dee", "Eve", "Fay", "Gia", "Hana", "Ida", "Jo",
	"Kay", "Lia", "Mae", "Nia", "Ona", "Pia", "Quin", "Rae", "Sia", "Tia", "Una", "Vi", "Wyn", "Xia", "Yu",
	"Zia", "Alba", "Bryn", "Cleo", "Dora", "Elin", "Flor", "Gwen", "Hope", "Isla", "June", "Kit", "Lux",
	"Mira", "Nell", "Opal", "Pearl", "Ruby", "Sage", "Tess", "Uma", "Vera", "Wren", "Xena", "Yara"}

// nthBirthJSON returns birthJSON's registration with a child who differs
// from every other i by a middle name.
func nthBirthJSON(t testing.TB, i int, dob string, services ...joinedup.ServiceID) []byte {
	t.Helper()
	var r joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, dob, services...), &r); err != nil {
		t.Fatal(err)
	}
	r.Child.Name.Given += " " + siblingNames[i%len(siblingNames)]
	if i >= len(siblingNames) {
		r.Child.Name.Given += " " + siblingNames[i/len(siblingNames)%len(siblingNames)]
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// birthJSON returns a valid registration that consents to services.
func birthJSON(t testing.TB, dob string, services ...joinedup.ServiceID) []byte {
	t.Helper()
	parent := 0
	r := joinedup.BirthRegistration{
		Child: joinedup.Child{Name: joinedup.Name{Given: "Zoë Ann", Family: "O’Neill-Byrne"}, Sex: "female",
			DateOfBirth: mustDate(t, dob), PlaceOfBirth: "St James’s University Hospital, Leeds"},
		Parents: []joinedup.Parent{{Role: "father", Name: joinedup.Name{Given: "Seán", Family: "O'Neill-Byrne"},
			DateOfBirth: mustDate(t, "1990-03-04"), NationalInsuranceNumber: "JG103759A",
			Address: joinedup.Address{Lines: []string{"12 Example Street"}, Town: "Leeds", Postcode: "LS1 4AP", UPRN: "100012345678"}}},
		Informant: joinedup.Informant{Name: joinedup.Name{Given: "Seán", Family: "O'Neill-Byrne"}, Capacity: "father", Parent: &parent},
		Consent:   joinedup.Choice{Services: append([]joinedup.ServiceID{}, services...)},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDate(t testing.TB, s string) joinedup.Date {
	d, err := joinedup.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// registerBirth posts a registration and returns the response.
func registerBirth(t testing.TB, h *Hub, body []byte) birthResponse {
	t.Helper()
	resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register birth: status %d, body %s", resp.StatusCode, b)
	}
	var out birthResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode birth response: %v", err)
	}
	return out
}

// waitComplete polls the API until every delivery of the event is final.
func waitComplete(t testing.TB, h *Hub, id joinedup.EventID, timeout time.Duration) *joinedup.LifeEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev, err := h.LifeEvents.FindLifeEvent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Complete() {
			return ev
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(ev.Deliveries, "", "  ")
			t.Fatalf("life event %s not complete after %s: %s", id, timeout, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBirthReachesEveryChosenService(t *testing.T) {
	eachMode(t, testBirthReachesEveryChosenService)
}

func testBirthReachesEveryChosenService(t *testing.T, mode func(*Config)) {
	h := startHub(t, mode)
	var gp, school, refused recorder
	startService(t, h, "gp", []string{"child", "parents.name", "parents.address"}, &gp)
	startService(t, h, "school", []string{"child.name", "child.dateOfBirth"}, &school)
	startService(t, h, "refused", []string{"child"}, &refused)

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp", "school"))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)

	for _, d := range ev.Deliveries {
		if d.State != joinedup.StateActed || d.Outcome == nil || d.Outcome.Summary != "Recorded" {
			t.Errorf("delivery to %s: state %s, outcome %+v; want acted with summary", d.Service, d.State, d.Outcome)
		}
	}
	if n := len(refused.received()); n != 0 {
		t.Errorf("service without consent received %d events, want 0", n)
	}
	if got := len(out.Receipt.Services); got != 3 {
		t.Errorf("receipt lists %d services, want all 3 that take births", got)
	}

	// Data minimisation: the school receives only what it declared.
	events := school.received()
	if len(events) != 1 {
		t.Fatalf("school received %d events, want 1", len(events))
	}
	var data map[string]any
	json.Unmarshal(events[0].Data, &data)
	want := `{"child":{"dateOfBirth":"2026-11-20","name":{"family":"O’Neill-Byrne","given":"Zoë Ann"}}}`
	if string(events[0].Data) != want {
		t.Errorf("school received %s\nwant %s", events[0].Data, want)
	}
	if events[0].Subject != out.Event.Reference || events[0].Type != connector.TypeBirthRegistered {
		t.Errorf("event subject %q type %q, want %q and %q", events[0].Subject, events[0].Type, out.Event.Reference, connector.TypeBirthRegistered)
	}
}

func TestBrokenServiceDelaysNoOther(t *testing.T) {
	eachMode(t, testBrokenServiceDelaysNoOther)
}

func testBrokenServiceDelaysNoOther(t *testing.T, mode func(*Config)) {
	h := startHub(t, both(mode, func(c *Config) { c.Backoff = 300 * time.Millisecond }))
	var good, flaky recorder
	flaky.fail = 15
	startService(t, h, "good", []string{"child.name"}, &good)
	startService(t, h, "flaky", []string{"child.name"}, &flaky)

	const births = 5
	var ids []joinedup.EventID
	for i := range births {
		ids = append(ids, registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", "good", "flaky")).Event.ID)
	}

	// The good service has acted on every birth while the flaky one is
	// still failing.
	deadline := time.Now().Add(10 * time.Second)
	for len(good.received()) < births && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(flaky.received()); n != 0 {
		t.Errorf("flaky service acted %d times before the good service finished, want 0", n)
	}
	for _, id := range ids {
		waitComplete(t, h, id, 60*time.Second)
	}
	if n := len(good.received()); n != births {
		t.Errorf("good service acted on %d births, want %d", n, births)
	}
	checkActedOnce(t, "flaky", &flaky, births)
}

// checkActedOnce checks that rec acted on births distinct deliveries, each
// once.
func checkActedOnce(t *testing.T, name string, rec *recorder, births int) {
	t.Helper()
	got := map[string]int{}
	for _, e := range rec.received() {
		got[e.ID]++
	}
	if len(got) != births {
		t.Errorf("%s service acted on %d distinct births, want %d", name, len(got), births)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s service acted on delivery %s %d times, want once", name, id, n)
		}
	}
}

// TestConcurrencyBoundsSends gives a slow service more births than the
// hub may send it at once, and checks that no more than
// -delivery-concurrency requests reach it together, and that the hub uses
// them all.
func TestConcurrencyBoundsSends(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Concurrency = 2 })
	slow := recorder{delay: 150 * time.Millisecond}
	startService(t, h, "slow", []string{"child.name"}, &slow)

	var ids []joinedup.EventID
	for i := range 8 {
		ids = append(ids, registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", "slow")).Event.ID)
	}
	for _, id := range ids {
		waitComplete(t, h, id, 30*time.Second)
	}

	slow.mu.Lock()
	defer slow.mu.Unlock()
	if slow.maxInFlight > 2 {
		t.Errorf("service had %d requests in progress at once, want at most 2", slow.maxInFlight)
	}
	if slow.maxInFlight < 2 {
		t.Errorf("service had at most %d request in progress at once, want 2: the hub sent one at a time", slow.maxInFlight)
	}
}

func TestDeadLetterAndReplay(t *testing.T) {
	eachMode(t, testDeadLetterAndReplay)
}

func testDeadLetterAndReplay(t *testing.T, mode func(*Config)) {
	h := startHub(t, both(mode, func(c *Config) { c.MaxAttempts = 2; c.Backoff = 20 * time.Millisecond }))
	var down recorder
	down.fail = 2
	startService(t, h, "down", []string{"child.name"}, &down)

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "down"))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
	if s := ev.Deliveries[0].State; s != joinedup.StateDeadLettered {
		t.Fatalf("delivery state %s, want dead-lettered", s)
	}

	// Replaying through the API needs an operator's session, which the web
	// tests cover; here the operator's action is taken directly.
	if err := h.Engine.ReplayDelivery(context.Background(), ev.Deliveries[0].ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	ev = waitComplete(t, h, out.Event.ID, 10*time.Second)
	if s := ev.Deliveries[0].State; s != joinedup.StateActed {
		t.Errorf("delivery state after replay %s, want acted", s)
	}
	if n := len(down.received()); n != 1 {
		t.Errorf("service acted %d times, want once", n)
	}
}

// ensureAccount creates a with demoPassword, or sets a's id to that of the
// account with its user name when one exists.
func ensureAccount(ctx context.Context, db *store.DB, passwords *auth.Passwords, a *auth.Account) error {
	found, err := findDemoAccount(ctx, db, a)
	if err != nil || found {
		return err
	}
	return createDemoAccount(ctx, passwords, a)
}

// loadServices registers the organisations and services in a -services
// file, replacing earlier versions of them. A service that an operator
// has removed stays removed, with a warning in the log.
func loadServices(ctx context.Context, path string, db *store.DB, dir *lifeevent.Directory) error {
	f, err := readServicesFile(path)
	if err != nil {
		return err
	}
	return applyServices(ctx, path, f, nil, db, dir)
}
