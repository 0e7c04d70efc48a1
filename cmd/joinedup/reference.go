package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
)

const referenceUsage = `Usage:
  joinedup reference-services --hub URL --data DIR [flags]

Runs the four reference services (Child Benefit, Housing Benefit and
Council Tax Reduction, a GP practice and a primary school) as their own
process, each taking events at /reference/<service id>/events. On first
start each service loads its records into DIR/<service id>.db from the
synthetic population of --seed, or from the Febrl files of --residents.
With --token the services register themselves with the hub; a service
the hub already has is changed to this run's address and secret. If
some services cannot register, such as one removed from the hub, the
others run and the errors are logged. The hub must already know their
organisations, council, hmrc, riverside-surgery and riverside-primary:
a hub run with --demo has them, and any other lists them in its
-services file.

Flags:
`

// runReferenceServices runs "joinedup reference-services" until ctx is
// cancelled.
func runReferenceServices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("joinedup reference-services", flag.ContinueOnError)
	hub := fs.String("hub", "", "base URL of the hub, such as http://127.0.0.1:8080 (required)")
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on, host:port; port 0 picks a free port")
	data := fs.String("data", "", "directory for the services' SQLite files (required)")
	residents := fs.String("residents", "", "comma-separated Febrl CSV files to load instead of the population, taken by the services in turn")
	seed := fs.Uint64("seed", 1, "seed of the synthetic population (the hub's -seed, so that the demo families match)")
	families := fs.Int("families", 0, fmt.Sprintf("number of families in the synthetic population, %d or more; 0 means %d", population.DemoFamilies, population.DefaultFamilies))
	token := fs.String("token", "", "bearer token for registering the services with the hub; without it they are not registered")
	if err := parseFlags(fs, args, referenceUsage, stderr); err != nil {
		return err
	}
	if *hub == "" || *data == "" {
		return errors.New("reference-services: --hub and --data are required: run joinedup reference-services -h for its flags")
	}
	if u, err := url.Parse(*hub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("reference-services: invalid --hub %q: want a base URL such as http://127.0.0.1:8080", *hub)
	}
	// Every population contains the demo families, so the population
	// package would raise a smaller number to theirs.
	if *families != 0 && *families < population.DemoFamilies {
		return fmt.Errorf("reference-services: --families must be %d or more, the demo families that every population holds, or 0 for %d, not %d",
			population.DemoFamilies, population.DefaultFamilies, *families)
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := reference.Config{DataDir: *data, HubURL: *hub, Seed: *seed, Families: *families, Logger: logger}
	if *residents != "" {
		cfg.Residents = strings.Split(*residents, ",")
	}
	set, err := reference.New(cfg)
	if err != nil {
		return err
	}
	defer set.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("reference-services: listen: %w", err)
	}
	baseURL := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           set.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	services := set.Services(baseURL)
	if *token != "" {
		registered, err := registerReferenceServices(ctx, *hub, *token, services, logger)
		switch {
		case len(registered) == 0 && err != nil:
			srv.Close()
			return err
		case err != nil:
			// The hub now sends the registered services their deliveries
			// here, so they keep running without the others.
			logger.Error("some reference services are not registered with the hub, and get no deliveries", "error", err)
			services = registered
		}
	}
	for _, s := range services {
		fmt.Fprintf(stdout, "%s: %s\n", s.ID, s.Endpoint.URL)
	}
	logger.Info("reference services started", "addr", ln.Addr().String(), "hub", *hub)

	select {
	case err := <-served:
		return fmt.Errorf("reference-services: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("reference-services: shut down: %w", err)
	}
	logger.Info("reference services stopped")
	return nil
}

// registerReferenceServices adds each service to the hub with its secret.
// A service the hub already has (ECONFLICT) gets this run's registration
// in place of its own. The run may serve it at another address, or from
// another data directory with another secret, where the hub's deliveries
// would otherwise never arrive or fail to verify. Every
// service is tried, so that one run reports every problem, such as each
// organisation the hub lacks. It returns the services that the hub now
// has with this run's registration, and an error that lists the others.
func registerReferenceServices(ctx context.Context, hub, token string, services []joinedup.Service, logger *slog.Logger) ([]joinedup.Service, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	var problems []string
	var registered []joinedup.Service
	for _, s := range services {
		_, err := connector.Register(ctx, client, hub, token, s)
		switch joinedup.ErrorCode(err) {
		case "":
			logger.Info("service registered", "service", s.ID)
			registered = append(registered, s)
			continue
		case joinedup.ECONFLICT:
			// The conflict may also be with a removed service of the same
			// id, or with another service's name, which the update reports.
			_, updateErr := connector.Update(ctx, client, hub, token, s)
			if updateErr == nil {
				logger.Info("service registration updated", "service", s.ID, "endpoint", s.Endpoint.URL)
				registered = append(registered, s)
				continue
			}
			// A service the hub does not have conflicts by its name, which
			// the registration's own error states.
			if joinedup.ErrorCode(updateErr) != joinedup.ENOTFOUND {
				err = updateErr
			}
		case joinedup.EUNAVAILABLE:
			// The hub is not there at all, so the other services would fail
			// the same way.
			return registered, fmt.Errorf("reference-services: register %s: the hub at %s could not be reached: %v", s.ID, hub, errors.Unwrap(err))
		case joinedup.EUNAUTHORIZED:
			return registered, fmt.Errorf("reference-services: register %s: the hub rejected the token: --token must be the hub's -api-token", s.ID)
		}
		msg := joinedup.ErrorMessage(err)
		for _, fe := range joinedup.ErrorFields(err) {
			msg += fmt.Sprintf("; %s: %s", fe.Field, fe.Message)
			if fe.Field == "/organisation" {
				msg += fmt.Sprintf(" (list organisation %q in the hub's -services file and restart the hub)", s.Organisation)
			}
		}
		problems = append(problems, fmt.Sprintf("register %s: %s", s.ID, msg))
	}
	if len(problems) > 0 {
		return registered, fmt.Errorf("reference-services: %s", strings.Join(problems, "\n  "))
	}
	return registered, nil
}
