// Package reference holds working stand-ins for the connected services in
// the "tell us once" story: Child Benefit, Housing Benefit and Council Tax
// Reduction, a GP practice and a primary school's pupil planning.
//
// Each service keeps its own records, with its own identifiers, in its own
// SQLite file, loaded on first start from a synthetic population (package
// population) or from Febrl data sets. It recognises the parents of a
// registered birth with package linkage, acts by its own rules, and
// reports an outcome with a one-sentence summary: in its response, or for
// Housing Benefit by signed callback. A parent it cannot
// recognise with confidence is recorded for manual review and the outcome
// is "failed": a service never acts on a guess.
//
// The services use only the public protocol: packages connector, webhook
// and linkage and the root package. They are its example and its
// conformance harness.
package reference

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference/population"
)

// Config configures the reference services.
type Config struct {
	// DataDir holds one SQLite file per service. It is created if needed.
	DataDir string
	// HubURL is the hub's base URL, such as "http://127.0.0.1:8080", to
	// which services send outcomes by callback.
	HubURL string
	// Seed and Families select the synthetic population the services load
	// on first start. Families 0 means population.DefaultFamilies.
	Seed     uint64
	Families int
	// Residents, when given, are Febrl CSV files loaded in place of the
	// population: the services take them in turn (Child Benefit the first,
	// Housing Benefit the second, and so on, round again when the list runs
	// out), so with two files the originals and their corrupted duplicates
	// are in different services.
	Residents []string
	Logger    *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Set is the four reference services, ready to serve.
type Set struct {
	services []*service
	mux      *http.ServeMux
	stop     context.CancelFunc // stops the callback workers
	workers  sync.WaitGroup
}

// definition describes one reference service.
type definition struct {
	info   joinedup.Service
	prefix string
	// share is the part of the population outside the demo families that
	// the service holds records of.
	share float64
	rules func(s *service) rules
}

var birthAndWithdrawal = []string{joinedup.EventBirthRegistered, joinedup.EventConsentWithdrawn}

// ServiceIDs returns the ids of the reference services, in the order they
// are registered.
func ServiceIDs() []joinedup.ServiceID {
	ids := make([]joinedup.ServiceID, len(definitions))
	for i, def := range definitions {
		ids[i] = def.info.ID
	}
	return ids
}

var definitions = []definition{
	{
		info: joinedup.Service{
			ID: "child-benefit", Organisation: "hmrc", Name: "Child Benefit",
			EventTypes: birthAndWithdrawal,
			Fields: []string{"child.name", "child.sex", "child.dateOfBirth", "parents.role", "parents.name",
				"parents.dateOfBirth", "parents.nationalInsuranceNumber", "parents.address"},
			Purpose: "To start a Child Benefit claim for the child, or add the child to the family’s claim.",
		},
		prefix: "CBP", share: 1,
		rules: func(s *service) rules { return childBenefit{s} },
	},
	{
		info: joinedup.Service{
			ID: "housing-benefit", Organisation: "council", Name: "Housing Benefit and Council Tax Reduction",
			EventTypes: birthAndWithdrawal,
			Fields: []string{"child.name", "child.dateOfBirth", "parents.name", "parents.dateOfBirth",
				"parents.nationalInsuranceNumber", "parents.address"},
			Purpose: "To recalculate Housing Benefit and Council Tax Reduction for the larger household.",
		},
		prefix: "HBP", share: 0.35,
		rules: func(s *service) rules { return housingBenefit{s} },
	},
	{
		info: joinedup.Service{
			ID: "gp-practice", Organisation: "riverside-surgery", Name: "Riverside Surgery",
			EventTypes: birthAndWithdrawal,
			Fields: []string{"child.name", "child.sex", "child.dateOfBirth", "parents.name",
				"parents.dateOfBirth", "parents.address"},
			Purpose: "To add the baby to the family’s GP practice patient list.",
		},
		prefix: "RSP", share: 0.5,
		rules: func(s *service) rules { return gpPractice{s} },
	},
	{
		info: joinedup.Service{
			ID: "primary-school", Organisation: "riverside-primary", Name: "Riverside Primary School pupil planning",
			EventTypes: append(birthAndWithdrawal, joinedup.EventActionDue),
			Fields:     []string{"child.name", "child.dateOfBirth", "parents.name", "parents.dateOfBirth", "parents.address"},
			Purpose:    "To plan a Reception place for the child and call the parents about the nursery unit.",
		},
		prefix: "RPS", share: 0.6,
		rules: func(s *service) rules { return primarySchool{s} },
	},
}

// New opens (or creates) the four services' databases under cfg.DataDir,
// loads their seed records on first start and returns the set.
func New(cfg Config) (*Set, error) {
	ctx := context.Background()
	if cfg.DataDir == "" {
		return nil, errors.New("reference: no data directory given")
	}
	if cfg.Logger == nil {
		return nil, errors.New("reference: no logger given")
	}
	if cfg.HubURL == "" {
		return nil, errors.New("reference: no hub URL given")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("reference: create data directory: %w", err)
	}

	var pop *population.Population
	if len(cfg.Residents) == 0 {
		families := cfg.Families
		if families == 0 {
			families = population.DefaultFamilies
		}
		pop = population.Generate(cfg.Seed, families)
	}

	workerCtx, stop := context.WithCancel(context.Background())
	set := &Set{mux: http.NewServeMux(), stop: stop}
	// A path that names no service gets a problem document, as every
	// other error from a service does.
	set.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(connector.Problem{Type: "about:blank", Title: http.StatusText(http.StatusNotFound),
			Status: http.StatusNotFound, Detail: "There is no reference service at this path."})
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		w.Write(body)
	})
	for i, def := range definitions {
		residents := ""
		if len(cfg.Residents) > 0 {
			residents = cfg.Residents[i%len(cfg.Residents)]
		}
		s, err := openService(ctx, cfg, def, pop, residents)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("reference: %s: %w", def.info.ID, err)
		}
		set.services = append(set.services, s)
		set.mux.HandleFunc("/reference/"+string(def.info.ID)+"/events", func(w http.ResponseWriter, r *http.Request) {
			s.receiver.ServeHTTP(w, r)
			// The event's transaction has committed; a callback it queued can go.
			s.wakeCallbacks()
		})
		set.workers.Go(func() { s.reportCallbacks(workerCtx) })
	}
	return set, nil
}

// openService opens one service's database and starts it. Its seed
// records come from pop when it is not nil, and otherwise from the Febrl
// file residents.
func openService(ctx context.Context, cfg Config, def definition, pop *population.Population, residents string) (*service, error) {
	db, err := openDB(ctx, filepath.Join(cfg.DataDir, string(def.info.ID)+".db"))
	if err != nil {
		return nil, err
	}
	s := &service{info: def.info, prefix: def.prefix, db: db, logger: cfg.Logger, now: cfg.Now, callbackWake: make(chan struct{}, 1)}
	s.rules = def.rules(s)

	seed := func(ctx context.Context, tx *sql.Tx) (string, error) {
		if pop != nil {
			held := pop.View(string(def.info.ID), def.share)
			source := fmt.Sprintf("synthetic population of %d families from seed %d, of which this service holds the %d demo families and %d others",
				len(pop.Families), pop.Seed, population.DemoFamilies, len(held)-population.DemoFamilies)
			return source, s.rules.seedFamilies(ctx, tx, s, held)
		}
		people, err := readResidents(residents)
		if err != nil {
			return "", err
		}
		return "residents " + filepath.Base(residents), s.rules.seedResidents(ctx, tx, s, people)
	}
	if err := s.start(ctx, seed); err != nil {
		db.Close()
		return nil, err
	}
	// Callbacks go out callbackConcurrency at a time, so as many
	// connections are kept open rather than closed after each one.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = callbackConcurrency
	s.client, err = connector.NewClient(cfg.HubURL, def.info.ID, s.secret, &http.Client{Timeout: 30 * time.Second, Transport: transport})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func readResidents(path string) ([]population.Person, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open residents: %w", err)
	}
	defer f.Close()
	people, err := population.ReadFEBRL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return people, nil
}

// Handler returns the handler that serves each service's events at
// /reference/<service id>/events.
func (set *Set) Handler() http.Handler { return set.mux }

// Services returns the registrations of the four services, with their
// endpoints under baseURL (the address that Handler is served on) and
// their secrets.
func (set *Set) Services(baseURL string) []joinedup.Service {
	baseURL = strings.TrimSuffix(baseURL, "/")
	out := make([]joinedup.Service, 0, len(set.services))
	for _, s := range set.services {
		info := s.info
		info.EventTypes = append([]string(nil), s.info.EventTypes...)
		info.Fields = append([]string(nil), s.info.Fields...)
		info.Endpoint = joinedup.Endpoint{
			Kind: joinedup.EndpointWebhook,
			URL:  baseURL + "/reference/" + string(info.ID) + "/events",
		}
		info.Secret = s.secret
		out = append(out, info)
	}
	return out
}

// Close stops the callback workers and closes the services' databases.
func (set *Set) Close() error {
	set.stop()
	set.workers.Wait()
	var errs []error
	for _, s := range set.services {
		if s.receiver != nil {
			s.receiver.Close()
		}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", s.info.ID, err))
		}
	}
	return errors.Join(errs...)
}
