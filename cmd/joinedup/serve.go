package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/delivery"
	"github.com/joinedup/joinedup/internal/strictjson"
	"github.com/joinedup/joinedup/lifeevent"
	"github.com/joinedup/joinedup/linkage"
	"github.com/joinedup/joinedup/natsbus"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	hub, err := OpenHub(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer hub.Close()
	fmt.Fprintf(stdout, "joinedup is ready at %s\n", hub.BaseURL)
	return hub.Wait(ctx)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Hub is a running joinedup hub: store, bus, delivery engine and HTTP
// server. OpenHub starts it and Close stops it; end-to-end tests start the
// real hub this way on port 0.
type Hub struct {
	BaseURL string
	Addr    string

	DB         *store.DB
	Bus        *natsbus.Bus
	Engine     *delivery.Engine
	LifeEvents *lifeevent.Service
	Directory  *lifeevent.Directory
	Persons    *linkage.Persons

	// streamCreated is the creation time of the bus's stream when the
	// start checked it, or the zero time when the stream did not exist.
	streamCreated time.Time

	logger   *slog.Logger
	server   *http.Server
	serveErr chan error
	// fatal receives an error after which the node must stop, such as a
	// move of the store to another event bus.
	fatal   chan error
	closers []func() error
}

// OpenHub opens the store and the bus, starts the delivery engine and
// serves HTTP on cfg.Addr.
func OpenHub(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Hub, err error) {
	h := &Hub{logger: logger, serveErr: make(chan error, 1), fatal: make(chan error, 1)}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()

	// The files named in cfg are read, and the address taken, first, so
	// that a hub started with a bad setting stops before it creates or
	// locks anything.
	var services *servicesFile
	if cfg.ServicesFile != "" {
		if services, err = readServicesFile(cfg.ServicesFile); err != nil {
			return nil, err
		}
	}
	policies, err := loadPolicies(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: another program, perhaps another hub, is using that address: stop it or choose another with %s", cfg.Addr, cfg.setting("addr"))
	} else if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	h.Addr = ln.Addr().String()
	h.BaseURL = cfg.BaseURL
	if h.BaseURL == "" {
		h.BaseURL = "http://" + h.Addr
	}
	if err := checkAuditKey(cfg, h.BaseURL); err != nil {
		return nil, err
	}

	if err := h.openStoreAndBus(ctx, cfg, logger); err != nil {
		return nil, err
	}

	h.Engine = delivery.New(delivery.Config{
		Source: h.BaseURL, MaxAttempts: cfg.MaxAttempts, Concurrency: cfg.Concurrency, BaseBackoff: cfg.Backoff, Now: cfg.now,
		// Other nodes may share an external store or event bus.
		Cluster: cfg.DatabaseURL != "" || cfg.NATSURL != "",
	}, h.DB, h.Bus, logger)
	h.LifeEvents = lifeevent.New(h.DB, h.Engine.Wake, logger)
	if cfg.now != nil {
		h.LifeEvents.SetClock(cfg.now)
	}
	h.Directory = lifeevent.NewDirectory(h.DB)
	h.Directory.Logger = logger

	// Every check that reads the shared store or stream runs before the
	// start writes anything that other nodes share, so that a start that
	// stops leaves them as they were. By now the store has its migrations
	// and identity, and the stream has been checked but not changed.
	trust, err := checkTrust(ctx, cfg, h)
	if err != nil {
		return nil, err
	}
	if cfg.APIToken != "" {
		var coming []joinedup.Organisation
		if services != nil {
			coming = append(coming, services.Organisations...)
		}
		if cfg.Demo {
			coming = append(coming, demoOrganisations...)
		}
		if err := requireTokenOrganisation(ctx, h.DB, joinedup.OrgID(cfg.APITokenOrganisation), coming, cfg.setting("api-token-organisation")); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if cfg.Demo {
		if err := checkDemoStore(ctx, cfg, h.DB, services); err != nil {
			return nil, err
		}
	} else if err := warnDemoStore(ctx, h.DB, logger); err != nil {
		return nil, err
	}

	// The store records this node's event bus only once the other checks
	// have passed, and only when it records none, or the same bus and
	// stream, or -move-event-bus moves it.
	claim, err := h.claimEventBus(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if err := h.openStream(ctx, cfg); err != nil {
		return nil, err
	}
	if claim.Moved {
		h.logMove(cfg, claim)
	}
	if cfg.DatabaseURL != "" {
		// Other nodes share the store, and one of them may move it to
		// another bus.
		h.DB.KeepEventBus(h.eventBus(cfg), h.Bus.StreamCreated())
		h.watchEventBus(cfg)
	}

	// Births stored with keys in the legacy form get keys in the current
	// one before any registration arrives, so that a duplicate of an older
	// birth is refused. A partial index holds only the births with legacy
	// keys, so once none is left the search reads nothing.
	if n, err := h.LifeEvents.RekeyBirths(ctx); err != nil {
		ln.Close()
		return nil, fmt.Errorf("recompute dedupe keys of births: %w", err)
	} else if n > 0 {
		logger.Info("recomputed dedupe keys of births", "count", n)
	}

	// The person index recognises the people of each registration in the
	// background; the sweep it starts with catches any a crash left behind.
	if h.Persons, err = linkage.OpenPersons(ctx, h.DB, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("open person index: %w", err)
	}
	h.LifeEvents.Persons = h.Persons
	recogniseCtx, stopRecognising := context.WithCancel(context.WithoutCancel(ctx))
	recognised := make(chan struct{})
	go func() {
		defer close(recognised)
		h.LifeEvents.Recognise(recogniseCtx)
	}()
	h.closers = append(h.closers, func() error { stopRecognising(); <-recognised; return nil })
	h.Directory.Created = func(ctx context.Context) {
		if err := h.Engine.SyncConsumers(ctx); err != nil {
			logger.Error("start service workers", "error", err)
		}
	}
	h.Directory.Retired = func(ctx context.Context, id joinedup.ServiceID) {
		// The removal is committed, so stopping the workers goes on even
		// if the client that asked for it goes away.
		if err := h.Engine.SyncConsumers(context.WithoutCancel(ctx)); err != nil {
			logger.Error("stop service workers", "service_id", id, "error", err)
		}
	}

	// With -demo, the file may add services to the demo's organisations,
	// which it then need not list.
	if cfg.ServicesFile != "" {
		var demo []joinedup.Organisation
		if cfg.Demo {
			demo = demoOrganisations
		}
		if err := applyServices(ctx, cfg.ServicesFile, services, demo, h.DB, h.Directory); err != nil {
			ln.Close()
			return nil, err
		}
	}

	mux := http.NewServeMux()
	if cfg.Demo {
		ref, err := startDemo(ctx, cfg, h)
		if err != nil {
			ln.Close()
			return nil, err
		}
		mux.Handle("/reference/", ref)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), h.Engine.Metrics())
	site := &web.Server{
		LifeEvents: h.LifeEvents,
		Services:   h.Directory,
		Deliveries: h.Engine,
		Logger:     logger,
		Metrics:    promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
		Ready:      h.ready,
		BaseURL:    h.BaseURL,
		APIToken:   cfg.APIToken,
		Persons:    h.Persons,

		TrustedProxies: cfg.TrustedProxies,
	}
	if err := openTrust(ctx, cfg, h, site, policies, trust); err != nil {
		ln.Close()
		return nil, err
	}
	mux.Handle("/", site.Handler())

	if err := h.Engine.Start(ctx); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start delivery engine: %w", err)
	}
	h.closers = append(h.closers, func() error { h.Engine.Stop(); return nil })

	h.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() { h.serveErr <- h.server.Serve(ln) }()
	warnMissingFrontend(logger, web.StaticFiles())
	logger.Info("hub started", "addr", h.Addr, "store", h.DB.Dialect().String(), "embedded_nats", cfg.NATSURL == "")
	return h, nil
}

// warnMissingFrontend logs one warning when static, the files the pages
// load, lacks GOV.UK Frontend, as in a binary that go build or go run made
// before `make assets`. The pages still work, without styles.
func warnMissingFrontend(logger *slog.Logger, static fs.FS) {
	if missing := web.MissingFrontend(static); len(missing) > 0 {
		logger.Warn("GOV.UK Frontend is missing from this build, so the pages have no styles: run make assets, then build or run the hub again",
			"missing", missing)
	}
}

// openStoreAndBus takes the data directory, connects to the bus, opens
// the store and then checks the bus's stream, which must belong to the
// store.
func (h *Hub) openStoreAndBus(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	unlock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	h.closers = append(h.closers, unlock)

	// The bus is reached before the store is opened, because opening a
	// store applies its migrations.
	h.Bus, err = natsbus.Connect(natsbus.Config{
		URL: cfg.NATSURL, Dir: filepath.Join(cfg.Data, "jetstream"),
		Replicas: cfg.NATSReplicas, Stream: cfg.Stream, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("open event bus: %w", err)
	}
	h.closers = append(h.closers, func() error { h.Bus.Close(); return nil })
	if cfg.DatabaseURL != "" {
		h.DB, err = postgres.Open(ctx, cfg.DatabaseURL, store.WithLogger(logger))
	} else {
		h.DB, err = sqlite.Open(ctx, filepath.Join(cfg.Data, "joinedup.db"), store.WithLogger(logger))
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	h.closers = append(h.closers, h.DB.Close)

	storeID, err := h.DB.StoreID(ctx)
	if err != nil {
		return fmt.Errorf("read the store's identity: %w", err)
	}
	// The stream is only checked here: OpenHub creates or changes it once
	// every other check of the start has passed.
	h.streamCreated, err = h.Bus.CheckStream(ctx, storeID)
	return streamError(cfg, err)
}

func (h *Hub) ready(ctx context.Context) error {
	return errors.Join(h.DB.Ping(ctx), h.Bus.Ping(ctx))
}

// Wait serves until ctx ends or the server fails.
func (h *Hub) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		h.logger.Info("shutting down")
		return nil
	case err := <-h.serveErr:
		return fmt.Errorf("serve http: %w", err)
	case err := <-h.fatal:
		return err
	}
}

// Close stops the delivery engine, letting the attempts in flight
// settle, then stops taking requests, lets those in flight finish and
// closes the bus and the store, in that order. The engine stops first
// because its attempts may go to reference services that this hub's HTTP
// server serves, and their outcomes may come back to it by callback.
func (h *Hub) Close() error {
	var errs []error
	if h.Engine != nil {
		h.Engine.Stop()
	}
	if h.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, h.server.Shutdown(ctx))
		cancel()
	}
	for i := len(h.closers) - 1; i >= 0; i-- {
		errs = append(errs, h.closers[i]())
	}
	h.closers = nil
	if h.server != nil {
		h.logger.Info("hub stopped")
	}
	return errors.Join(errs...)
}

// servicesFile is the format of the -services file.
type servicesFile struct {
	Organisations []joinedup.Organisation `json:"organisations"`
	Services      []*joinedup.Service     `json:"services"`
}

// applyServices registers the organisations and services of f, read from
// the services file at path, together with the organisations in demo,
// those of the demo council when the hub runs it. readServicesFile has
// validated f, and a service whose organisation is in none of f, demo and
// the store stops it before anything is stored. An organisation in both f
// and demo gets demo's name, as the demo stores it again when it starts.
func applyServices(ctx context.Context, path string, f *servicesFile, demo []joinedup.Organisation, db *store.DB, dir *lifeevent.Directory) error {
	stored, err := db.ListOrganisations(ctx)
	if err != nil {
		return fmt.Errorf("services file %s: list organisations: %w", path, err)
	}
	known := map[joinedup.OrgID]bool{}
	for _, o := range slices.Concat(stored, f.Organisations, demo) {
		known[o.ID] = true
	}
	for i, s := range f.Services {
		if !known[s.Organisation] {
			return fmt.Errorf("services file %s: /services/%d/organisation: the hub has no organisation %q: add it to the file's organisations",
				path, i, s.Organisation)
		}
	}

	// One transaction stores the whole file, so a file rejected part of
	// the way, such as for a name that a stored service has, stores none
	// of it.
	failed, err := dir.PutServicesFile(ctx, slices.Concat(f.Organisations, demo), f.Services)
	if err != nil && failed >= 0 {
		return serviceFileError(path, failed, f.Services[failed], err)
	} else if err != nil {
		return fmt.Errorf("services file %s: %w", path, err)
	}
	return nil
}

// validate checks every organisation and service in f, read from path,
// without the store.
func (f *servicesFile) validate(path string) error {
	orgs := map[joinedup.OrgID]int{}
	orgNames := map[string]int{}
	for i, o := range f.Organisations {
		if err := lifeevent.ValidateOrganisation(o); err != nil {
			return fileFieldsError(path, fmt.Sprintf("organisation %q", o.ID), fmt.Sprintf("/organisations/%d", i), err)
		}
		if first, ok := orgs[o.ID]; ok {
			return fmt.Errorf("services file %s: /organisations/%d: the id %q is also at /organisations/%d; list each organisation once", path, i, o.ID, first)
		}
		orgs[o.ID] = i
		key := joinedup.ServiceNameKey(o.Name)
		if first, ok := orgNames[key]; ok {
			return fmt.Errorf("services file %s: /organisations/%d/name: %q reads the same as the name at /organisations/%d; give each organisation its own name", path, i, o.Name, first)
		}
		orgNames[key] = i
	}
	ids := map[joinedup.ServiceID]int{}
	names := map[string]int{}
	for i, s := range f.Services {
		if s == nil {
			return fmt.Errorf("services file %s: /services/%d: a service must be an object, not null", path, i)
		}
		if err := lifeevent.ValidateFileService(s); err != nil {
			return serviceFileError(path, i, s, err)
		}
		if first, ok := ids[s.ID]; ok {
			return fmt.Errorf("services file %s: /services/%d: the id %q is also at /services/%d; list each service once", path, i, s.ID, first)
		}
		ids[s.ID] = i
		// The store checks names against other services, but only as it
		// stores each one, so two in the file are caught here first.
		key := joinedup.ServiceNameKey(s.Name)
		if first, ok := names[key]; ok {
			return fmt.Errorf("services file %s: /services/%d/name: %q reads the same as the name at /services/%d; give each service its own name", path, i, s.Name, first)
		}
		names[key] = i
	}
	return nil
}

// serviceFileError returns the error for err from checking or storing
// service s, the i-th in the services file at path, with the place of
// each field it names.
func serviceFileError(path string, i int, s *joinedup.Service, err error) error {
	return fileFieldsError(path, fmt.Sprintf("service %q", s.ID), fmt.Sprintf("/services/%d", i), err)
}

// fileFieldsError returns the error for err from checking or storing the
// entry at the JSON Pointer at in the services file at path. entry names
// it in the message, such as service "births-team".
func fileFieldsError(path, entry, at string, err error) error {
	fields := joinedup.ErrorFields(err)
	if len(fields) == 0 {
		return fmt.Errorf("services file %s: %s: %s", path, entry, joinedup.ErrorMessage(err))
	}
	var problems []string
	for _, fe := range fields[:min(len(fields), maxFileProblems)] {
		problems = append(problems, fmt.Sprintf("%s%s: %s", at, fe.Field, fe.Message))
	}
	if more := len(fields) - maxFileProblems; more > 0 {
		problems = append(problems, fmt.Sprintf("and %d more", more))
	}
	return fmt.Errorf("services file %s: %s has errors: %s", path, entry, strings.Join(problems, "; "))
}

// maxFileProblems bounds the problems that one error about a services
// file lists, so that a file with thousands of bad fields gives a line
// that a person can read.
const maxFileProblems = 10

// maxServicesFile bounds the size of a services file. The API takes one
// service in at most 64 KiB, so this is room for a great many.
const maxServicesFile = 4 << 20

// readFileAtMost returns the contents of the file at path, or an error if
// it is larger than limit bytes.
func readFileAtMost(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, limit>>20)
	}
	return b, nil
}

// readServicesFile reads, decodes and validates the services file at path.
func readServicesFile(path string) (*servicesFile, error) {
	b, err := readFileAtMost(path, maxServicesFile)
	if err != nil {
		return nil, fmt.Errorf("read services file: %w", err)
	}
	// The file follows the rules of the API's request bodies, which
	// encoding/json alone does not enforce.
	if offset, found := strictjson.InvalidUTF8(b); found {
		return nil, fmt.Errorf("services file %s: at %s: the file is not valid UTF-8: save it encoded as UTF-8", path, position(b, int64(offset)))
	}
	if offset, found := strictjson.ByteOrderMark(b); found {
		return nil, fmt.Errorf("services file %s: at %s: the file starts with a byte order mark (U+FEFF), which JSON does not allow: save it without one",
			path, position(b, int64(offset)))
	}
	// encoding/json reads null into a struct as nothing at all, which would
	// start the hub as if the file listed no services.
	if trimmed := bytes.TrimSpace(b); bytes.Equal(trimmed, []byte("null")) {
		return nil, fmt.Errorf("services file %s: at %s: the file must be an object, not null", path, position(b, int64(bytes.Index(b, trimmed))))
	}
	var f servicesFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("services file %s: %s", path, describeJSONError(b, reflect.TypeFor[servicesFile](), err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("services file %s: at %s: the file goes on after its JSON object; put every organisation and service in that one object",
			path, position(b, dec.InputOffset()-1))
	}
	// Names are compared without regard to case, as encoding/json matches
	// them, so that "Fields" cannot replace "fields".
	if repeated, found := strictjson.FindRepeatedFoldedName(b); found {
		if repeated.Name != repeated.First {
			return nil, fmt.Errorf("services file %s: %s at %s: the name %q gives %q again in other letter cases; give it once, as %q",
				path, repeated.Pointer, position(b, repeated.Offset), repeated.Name, repeated.First, repeated.First)
		}
		return nil, fmt.Errorf("services file %s: %s at %s: the name %q appears more than once in this object; give it once",
			path, repeated.Pointer, position(b, repeated.Offset), repeated.Name)
	}
	if err := f.validate(path); err != nil {
		return nil, err
	}
	return &f, nil
}

// describeJSONError returns the message for an error from decoding data
// into a value of type into, with the line and column of the fault.
func describeJSONError(data []byte, into reflect.Type, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "the file ends before its JSON is complete"
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the faulty one included.
		return fmt.Sprintf("at %s: invalid JSON: %v", position(data, syntax.Offset-1), syntax)
	case errors.As(err, &typ):
		// Offset is just after the value, so the place is its last byte.
		// A value with no field name is the whole file.
		field := cmp.Or(typ.Field, "the file")
		// The error names a list, not its entry, when an entry is wrong.
		if declared := fieldType(into, typ.Field); declared != nil && declared.Kind() == reflect.Slice && typ.Type.Kind() != reflect.Slice {
			field = "each entry of " + field
		}
		return fmt.Sprintf("at %s: %s must be %s, not %s", position(data, typ.Offset-1), field, jsonKindOf(typ.Type), jsonValueName(typ.Value))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	// The decoder reports an unknown field without its place, so the place
	// is that of the first key with its name.
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		key := regexp.MustCompile(regexp.QuoteMeta(name) + `\s*:`)
		if at := key.FindIndex(data); at != nil {
			return fmt.Sprintf("at %s: %s", position(data, int64(at[0])), msg)
		}
	}
	return msg
}

// fieldType returns the type of the field that encoding/json names by
// path, such as "services.fields", in a value of type t, or nil when t
// has no such field. Pointers and the entries of lists are followed.
func fieldType(t reflect.Type, path string) reflect.Type {
	if path == "" {
		return nil
	}
	for name := range strings.SplitSeq(path, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for f := range t.Fields() {
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name || (tag == "" && f.Name == name) {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonKindOf names, in the terms of JSON, the values that decode into t.
func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// jsonValueName names a JSON value as encoding/json describes it in an
// UnmarshalTypeError, such as "string" or "number 7".
func jsonValueName(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "string":
		return "text"
	case "number":
		return "a number"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	}
	return v
}

// position returns the line and column of the byte at offset in data,
// counting from 1.
func position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	column := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, column)
}

// requireTokenOrganisation returns an error, naming the setting of org,
// when neither the store nor coming has organisation org, for which the
// API token registers births. coming holds the organisations that the
// services file and the demo are about to store. A birth of an
// organisation that does not exist belongs to no registrar.
func requireTokenOrganisation(ctx context.Context, db *store.DB, org joinedup.OrgID, coming []joinedup.Organisation, setting string) error {
	orgs, err := db.ListOrganisations(ctx)
	if err != nil {
		return fmt.Errorf("check the API token's organisation: %w", err)
	}
	if !slices.ContainsFunc(slices.Concat(orgs, coming), func(o joinedup.Organisation) bool { return o.ID == org }) {
		return fmt.Errorf("%s %q names no organisation of the hub, so births that the API token registers would belong to no known organisation: add it to the organisations of the -services file, or correct the id",
			setting, org)
	}
	return nil
}
