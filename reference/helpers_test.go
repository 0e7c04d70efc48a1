package reference_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/webhook"
)

// testSeed is the population seed of the tests. Any seed works; the tests
// read the population they check against from the same seed.
const testSeed = 42

// testFamilies keeps the population small so that the tests load fast.
const testFamilies = 200

var today = joinedup.Date{Year: 2026, Month: time.December, Day: 4}

// harness is a reference Set with the clock the tests control and the
// means to sign and send events to it as the hub does.
type harness struct {
	t        testing.TB
	set      *reference.Set
	dir      string
	clockMu  sync.Mutex
	clock    time.Time // the services' clock; read it with now
	services map[joinedup.ServiceID]joinedup.Service
	next     atomic.Int64
	hub      *fakeHub
}

// fakeHub takes outcome callbacks as the hub does: it checks the
// signature with the named service's secret and keeps the outcome.
type fakeHub struct {
	mu       sync.Mutex
	secrets  map[joinedup.ServiceID]string
	outcomes map[joinedup.DeliveryID]joinedup.Outcome
	down     int  // how many more callbacks to reject with 503
	conflict bool // reject every callback with 409, as for a contradicting outcome
	calls    int
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down > 0 {
		f.down--
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if f.conflict {
		http.Error(w, "the delivery has another final outcome", http.StatusConflict)
		return
	}
	secret, ok := f.secrets[joinedup.ServiceID(r.Header.Get(connector.HeaderService))]
	if !ok {
		http.Error(w, "unknown service", http.StatusUnauthorized)
		return
	}
	signer, _ := webhook.NewSigner(secret)
	if err := signer.Verify(r.Header, body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var o joinedup.Outcome
	if err := json.Unmarshal(body, &o); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.outcomes[joinedup.DeliveryID(r.PathValue("id"))] = o
	w.WriteHeader(http.StatusNoContent)
}

// callback waits up to 10 seconds for the outcome of delivery id.
func (f *fakeHub) callback(id joinedup.DeliveryID) (joinedup.Outcome, bool) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		o, ok := f.outcomes[id]
		f.mu.Unlock()
		if ok {
			return o, true
		}
	}
	return joinedup.Outcome{}, false
}

func newHarness(t testing.TB, cfg reference.Config) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)}
	if cfg.DataDir == "" {
		cfg.DataDir = h.dir
	}
	h.dir = cfg.DataDir
	if cfg.Seed == 0 {
		cfg.Seed = testSeed
	}
	if cfg.Families == 0 {
		cfg.Families = testFamilies
	}
	h.hub = &fakeHub{secrets: map[joinedup.ServiceID]string{}, outcomes: map[joinedup.DeliveryID]joinedup.Outcome{}}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/deliveries/{id}/outcome", h.hub)
	hubServer := httptest.NewServer(mux)
	t.Cleanup(hubServer.Close)
	cfg.HubURL = hubServer.URL
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Now = h.now

	set, err := reference.New(cfg)
	if err != nil {
		t.Fatalf("reference.New: %v", err)
	}
	t.Cleanup(func() {
		if err := set.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	h.set = set
	h.services = map[joinedup.ServiceID]joinedup.Service{}
	h.hub.mu.Lock()
	for _, s := range set.Services("http://127.0.0.1:8090") {
		h.services[s.ID] = s
		h.hub.secrets[s.ID] = s.Secret
	}
	h.hub.mu.Unlock()
	return h
}

// now returns the time on the services' clock.
func (h *harness) now() time.Time {
	h.clockMu.Lock()
	defer h.clockMu.Unlock()
	return h.clock
}

// advance moves the services' clock on by d.
func (h *harness) advance(d time.Duration) {
	h.clockMu.Lock()
	defer h.clockMu.Unlock()
	h.clock = h.clock.Add(d)
}

// delivery is one event as the hub sends it to one service.
type delivery struct {
	service   joinedup.ServiceID
	eventType string
	id        joinedup.DeliveryID // the delivery the event is about
	data      any
}

// newDeliveryID returns a delivery id unique within the harness.
func (h *harness) newDeliveryID() joinedup.DeliveryID {
	return joinedup.DeliveryID(fmt.Sprintf("dlv_%04d", h.next.Add(1)))
}

// request returns the signed HTTP request for d with the given webhook-id,
// signed at the harness's current time with secret.
func (h *harness) request(d delivery, webhookID, secret string) *http.Request {
	h.t.Helper()
	s := h.services[d.service]
	data, err := json.Marshal(d.data)
	if err != nil {
		h.t.Fatalf("encode data: %v", err)
	}
	if d.eventType == connector.TypeBirthRegistered {
		data = reduce(h.t, data, s.Fields)
	}
	body, err := json.Marshal(connector.Event{
		SpecVersion:     "1.0",
		ID:              webhookID,
		Source:          "http://127.0.0.1:8080",
		Type:            d.eventType,
		Subject:         "BR-2026-000001",
		Time:            h.now(),
		DataContentType: "application/json",
		Data:            data,
		Event:           "evt_1",
		Delivery:        d.id,
	})
	if err != nil {
		h.t.Fatalf("encode event: %v", err)
	}

	signer, err := webhook.NewSigner(secret)
	if err != nil {
		h.t.Fatalf("NewSigner: %v", err)
	}
	u, _ := strings.CutPrefix(s.Endpoint.URL, "http://127.0.0.1:8090")
	req := httptest.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", connector.ContentType)
	signer.SetHeaders(req.Header, webhookID, h.now(), body)
	return req
}

// send signs d as the hub does and returns the response status and outcome.
func (h *harness) send(d delivery, webhookID string) (int, joinedup.Outcome) {
	h.t.Helper()
	return h.serve(h.request(d, webhookID, h.services[d.service].Secret))
}

func (h *harness) serve(req *http.Request) (int, joinedup.Outcome) {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.set.Handler().ServeHTTP(w, req)
	var o joinedup.Outcome
	if w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
			h.t.Fatalf("decode outcome %s: %v", w.Body, err)
		}
	}
	return w.Code, o
}

// final sends d and returns the service's final outcome: the one in the
// response, or for a response of 202 and "accepted" the one the service
// then reports by callback.
func (h *harness) final(d delivery, webhookID string) joinedup.Outcome {
	h.t.Helper()
	code, o := h.send(d, webhookID)
	switch {
	case code == http.StatusOK && o.Status != joinedup.OutcomeAccepted:
		return o
	case code == http.StatusAccepted && o.Status == joinedup.OutcomeAccepted:
		reported, ok := h.hub.callback(d.id)
		if !ok {
			h.t.Fatalf("%s %s: accepted, but no outcome reported by callback within 10s", d.service, d.eventType)
		}
		return reported
	}
	h.t.Fatalf("%s %s: status %d with outcome %+v, want 200 with an outcome or 202 with accepted", d.service, d.eventType, code, o)
	return o
}

// act sends d once and fails the test unless the service acted.
func (h *harness) act(d delivery) joinedup.Outcome {
	h.t.Helper()
	o := h.final(d, "msg_"+string(d.id)+"_"+d.eventType)
	if o.Status != joinedup.OutcomeActed {
		h.t.Fatalf("%s %s: outcome %+v, want acted", d.service, d.eventType, o)
	}
	return o
}

// birth returns the delivery of r to service.
func (h *harness) birth(service joinedup.ServiceID, r joinedup.BirthRegistration) delivery {
	return delivery{service: service, eventType: connector.TypeBirthRegistered, id: h.newDeliveryID(), data: r.Normalize()}
}

func withdrawal(service joinedup.ServiceID, id joinedup.DeliveryID) delivery {
	return delivery{service: service, eventType: connector.TypeConsentWithdrawn, id: id, data: connector.ConsentWithdrawn{
		DeliveryID: id, EventReference: "BR-2026-000001", WithdrawnAt: time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC),
	}}
}

// db opens a service's database for the test to read.
func (h *harness) db(service joinedup.ServiceID) *sql.DB {
	h.t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dir, string(service)+".db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		h.t.Fatalf("open %s database: %v", service, err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

func (h *harness) count(service joinedup.ServiceID, query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db(service).QueryRow(query, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %s: %v", service, query, err)
	}
	return n
}

// reduce keeps only the declared fields of a birth registration, as the
// hub does: dotted paths, applied to each element of an array.
func reduce(t testing.TB, data []byte, fields []string) json.RawMessage {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode registration: %v", err)
	}
	out := map[string]any{}
	for _, f := range fields {
		copyPath(doc, out, strings.Split(f, "."))
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("encode reduced registration: %v", err)
	}
	return b
}

func copyPath(from, to map[string]any, path []string) {
	v, ok := from[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		to[path[0]] = v
		return
	}
	switch v := v.(type) {
	case map[string]any:
		sub, _ := to[path[0]].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
			to[path[0]] = sub
		}
		copyPath(v, sub, path[1:])
	case []any:
		subs, _ := to[path[0]].([]any)
		if subs == nil {
			subs = make([]any, len(v))
			to[path[0]] = subs
		}
		for i, el := range v {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			sub, _ := subs[i].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				subs[i] = sub
			}
			copyPath(m, sub, path[1:])
		}
	}
}
