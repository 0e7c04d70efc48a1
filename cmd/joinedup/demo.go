package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
)

const demoUsage = `Register a birth for a demo family through a running hub's API and print,
step by step, what each chosen service did. Exits 0 only when every one
of them reports an outcome and at least one acted. While the hub does not
respond, such as during a restart, the demo tries again until -timeout.

Usage:
  joinedup demo [-hub URL] [-token TOKEN] [flags]

Flags:
`

// runDemo plays the tell-us-once story against a running hub through its
// public API: it registers the birth of a child of one of the demo
// families, consenting to the services that -services names, the four
// reference services by default, and prints what each service did. It
// fails unless every one of them reports an outcome.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("joinedup demo", flag.ContinueOnError)
	hub := fs.String("hub", "http://127.0.0.1:8080", "base URL of the hub")
	// The flag's default is not the variable's value, because usage text
	// prints defaults and the token is a secret.
	token := fs.String("token", "", "the hub's API token, its -api-token; empty reads $JOINEDUP_API_TOKEN")
	seed := fs.Uint64("seed", 1, "seed of the hub's demo population (the hub's -seed)")
	family := new(int)
	*family = -1
	fs.Var(intValue(family), "family", fmt.Sprintf("`number` of the demo family to register a birth for, 0 to %d; -1 picks one at random", population.DemoFamilies-1))
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for every service's outcome")
	var defaultServices []string
	for _, id := range reference.ServiceIDs() {
		defaultServices = append(defaultServices, string(id))
	}
	only := fs.String("services", strings.Join(defaultServices, ","),
		"comma-separated ids of the services the informant agrees to tell; the demo family's synthetic data goes to each")
	if err := parseFlags(fs, args, demoUsage, stderr); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("JOINEDUP_API_TOKEN")
	}
	if *family < -1 || *family >= population.DemoFamilies {
		return fmt.Errorf("-family must be between 0 and %d, or -1", population.DemoFamilies-1)
	}
	if *timeout <= 0 {
		return fmt.Errorf("-timeout must be more than 0, such as 2m, not %s", *timeout)
	}
	var requested []joinedup.ServiceID
	for _, field := range strings.Split(*only, ",") {
		if id := joinedup.ServiceID(strings.TrimSpace(field)); id != "" {
			requested = append(requested, id)
		}
	}
	if len(requested) == 0 {
		return errors.New("-services names no service: give the ids of one or more services that take births")
	}
	random := *family == -1
	if random {
		*family = rand.IntN(population.DemoFamilies)
	}
	if u, err := url.Parse(*hub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-hub %q is not a URL such as http://127.0.0.1:8080", *hub)
	}
	c := &apiClient{base: strings.TrimRight(*hub, "/"), token: *token, http: &http.Client{Timeout: 30 * time.Second}, notices: stderr}

	// 1. Which services take births?
	var list struct {
		Items []joinedup.Service `json:"items"`
	}
	if err := c.getUntil(ctx, "/api/v1/services", &list, time.Now().Add(*timeout)); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	listed := map[joinedup.ServiceID]joinedup.Service{}
	serviceNames := map[joinedup.ServiceID]string{}
	for _, s := range list.Items {
		listed[s.ID], serviceNames[s.ID] = s, s.Name
	}
	names := map[joinedup.ServiceID]string{}
	var chosen []joinedup.ServiceID
	for _, id := range requested {
		s, ok := listed[id]
		switch {
		case !ok:
			return fmt.Errorf("the hub has no service %q: start it with -demo for the reference services, or name others with -services", id)
		case !s.Takes(joinedup.EventBirthRegistered):
			return fmt.Errorf("service %q does not take births: leave it out of -services", id)
		case names[id] != "":
			continue
		}
		chosen = append(chosen, id)
		names[id] = s.Name
	}

	// 2. Register the birth. A family picked at random whose birth the
	// hub has registered before gives way to the next family that has
	// none, so the demo can run again on the same hub. Once every family
	// is registered, or for a family chosen with -family, the demo
	// follows the registration made before.
	births := population.Births(*seed, population.DemoFamilies, joinedup.Today(time.Now()))
	tries := 1
	if random {
		tries = population.DemoFamilies
	}
	var eventID joinedup.EventID
	for try := range tries {
		reg := births[(*family+try)%population.DemoFamilies]
		reg.Consent.Services = chosen
		var created birthResponse
		err := c.do(ctx, http.MethodPost, "/api/v1/births", reg, &created)
		var problem *apiProblem
		switch {
		case errors.As(err, &problem) && problem.existing != "" && try < tries-1:
			continue
		case errors.As(err, &problem) && problem.existing != "":
			fmt.Fprintf(stdout, "1. The hub has registered the birth of %s, demo family %d, before, with reference %s.\n",
				reg.Child.Name.Full(), (*family+try)%population.DemoFamilies, problem.existing)
			if servicesSet(fs) {
				fmt.Fprintln(stdout, "2. The demo follows that registration, to the services its informant chose then rather than those of -services.")
			} else {
				fmt.Fprintln(stdout, "2. The demo follows that registration.")
			}
			var ev joinedup.LifeEvent
			if err := c.getUntil(ctx, "/api/v1/life-events/by-reference/"+url.PathEscape(problem.existing), &ev, time.Now().Add(*timeout)); err != nil {
				return fmt.Errorf("read the earlier registration: %w", err)
			}
			eventID = ev.ID
		case err != nil && problem == nil:
			// A family picked at random is named, so that it can be given.
			picked := (*family + try) % population.DemoFamilies
			return fmt.Errorf("register the birth of demo family %d: %w. The hub may have registered it before the connection failed: run the demo again with -family %d, and a registration already made is followed", picked, err, picked)
		case err != nil:
			return fmt.Errorf("register birth: %w", err)
		default:
			fmt.Fprintf(stdout, "1. The registrar registers the birth of %s, demo family %d, born on %s. Place of birth: %s.\n",
				reg.Child.Name.Full(), (*family+try)%population.DemoFamilies, reg.Child.DateOfBirth, reg.Child.PlaceOfBirth)
			services := fmt.Sprintf("%d services", len(reg.Consent.Services))
			if len(reg.Consent.Services) == 1 {
				services = "1 service"
			}
			fmt.Fprintf(stdout, "   The informant, %s (%s), agrees to tell %s.\n",
				reg.Informant.Name.Full(), reg.Informant.Capacity, services)
			printAccepted(stdout, &created)
			eventID = created.Event.ID
		}
		break
	}

	// 3. Wait for every service's outcome, printing each change.
	fmt.Fprintln(stdout, "3. Each service recognises the family in its own records and acts:")
	deadline := time.Now().Add(*timeout)
	seen := map[joinedup.DeliveryID]joinedup.DeliveryState{}
	// Each read of the event is an access that the family's record lists,
	// so the wait between reads doubles, from 300 ms up to 5 s, and starts
	// again when a service's state changes.
	const firstWait, longestWait = 300 * time.Millisecond, 5 * time.Second
	wait := firstWait
	for {
		var ev joinedup.LifeEvent
		if err := c.getUntil(ctx, "/api/v1/life-events/"+string(eventID), &ev, deadline); err != nil {
			return fmt.Errorf("read life event: %w", err)
		}
		for _, d := range ev.Deliveries {
			if seen[d.ID] == d.State {
				continue
			}
			seen[d.ID] = d.State
			wait = firstWait
			name := listed[d.Service].Name
			if name == "" {
				name = string(d.Service)
			}
			line := fmt.Sprintf("   - %s%s: %s", name, kindNote(d.Kind), d.State)
			if d.Outcome != nil && d.Outcome.Summary != "" {
				line += ": " + d.Outcome.Summary
			}
			if d.LastError != "" && d.State == joinedup.StateRetrying {
				line += " (" + d.LastError + ")"
			}
			fmt.Fprintln(stdout, line)
		}
		if ev.Complete() {
			return reportDemo(stdout, &ev, c.base, serviceNames, *seed)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every service reported an outcome within %s", *timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, longestWait)
	}
}

// kindNote returns the words that follow a service's name on a line of
// the demo's output for a delivery of the given kind, or "" for a birth.
func kindNote(kind string) string {
	switch kind {
	case joinedup.EventConsentWithdrawn:
		return ", told that consent was withdrawn"
	case joinedup.EventActionDue:
		return ", told that a planned action is due"
	}
	return ""
}

// servicesSet reports whether the command line gave -services.
func servicesSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "services" })
	return set
}

// printAccepted prints the reference and consent receipt of a new
// registration, and what each service will receive.
func printAccepted(stdout io.Writer, created *birthResponse) {
	fmt.Fprintf(stdout, "2. The hub accepted it: reference %s, consent receipt %s.\n", created.Event.Reference, created.Receipt.ReceiptID)
	for _, s := range created.Receipt.Services {
		switch s.Decision {
		case joinedup.ConsentNotRequired:
			fmt.Fprintf(stdout, "   - %s: told without consent, under its lawful basis (%s); it will receive %s\n", s.Name, s.LawfulBasis, strings.Join(s.Fields, ", "))
		case joinedup.ConsentGiven:
			fmt.Fprintf(stdout, "   - %s: consent given; it will receive %s\n", s.Name, strings.Join(s.Fields, ", "))
		default:
			fmt.Fprintf(stdout, "   - %s: consent %s; it will not be told\n", s.Name, s.Decision)
		}
	}
}

// reportDemo prints the end of the story and fails unless every service
// acted or reported why it could not, and at least one acted. seed is the
// demo's -seed.
func reportDemo(stdout io.Writer, ev *joinedup.LifeEvent, base string, names map[joinedup.ServiceID]string, seed uint64) error {
	var missing []string
	failed := 0
	for _, d := range ev.Deliveries {
		switch d.State {
		case joinedup.StateActed:
		case joinedup.StateFailed:
			failed++
		default:
			missing = append(missing, fmt.Sprintf("%s is %s", d.Service, d.State))
		}
	}
	for _, a := range ev.Actions {
		fmt.Fprintf(stdout, "   - %s planned for %s: %s\n", cmp.Or(names[a.Service], string(a.Service)), a.Due, a.Summary)
	}
	fmt.Fprintf(stdout, "4. The informant can follow it all at %s/track/%s\n", base, ev.Reference)
	if len(missing) > 0 {
		return fmt.Errorf("not every service reported an outcome: %s", strings.Join(missing, "; "))
	}
	// The reference services find the family in records made from the
	// hub's -seed, so a demo with another seed registers a family that is
	// in none of their records, and each one reports failed.
	if failed > 0 && failed == len(ev.Deliveries) {
		return fmt.Errorf("every service reported failed, so none acted on the birth: check that -seed, %d here, is the hub's -seed, and read each service's summary above", seed)
	}
	return nil
}

// birthResponse is the body of a 201 response to POST /api/v1/births.
type birthResponse struct {
	Event   joinedup.LifeEvent      `json:"event"`
	Receipt joinedup.ConsentReceipt `json:"receipt"`
}

// apiClient calls the hub's JSON API.
type apiClient struct {
	base, token string
	http        *http.Client
	// notices receives a line when the hub stops responding.
	notices io.Writer
}

// unreachableError is a request that got no response from the hub, such
// as one refused while the hub restarts.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// getUntil sends a GET request as do does. While the hub does not respond,
// it tries again, waiting from 250 ms up to 2 s between tries, until
// deadline, and then returns the last error.
func (c *apiClient) getUntil(ctx context.Context, path string, out any, deadline time.Time) error {
	const firstWait, longestWait = 250 * time.Millisecond, 2 * time.Second
	wait := firstWait
	for tries := 1; ; tries++ {
		err := c.do(ctx, http.MethodGet, path, nil, out)
		var unreachable *unreachableError
		if !errors.As(err, &unreachable) || ctx.Err() != nil {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("the hub did not respond within the -timeout, after %d tries: %w", tries, err)
		}
		if tries == 1 && c.notices != nil {
			fmt.Fprintf(c.notices, "The hub is not responding (%v); trying again until the -timeout.\n", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, longestWait)
	}
}

// do sends a request with an optional JSON body and decodes a JSON response
// into out. A problem response becomes an error with its detail.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &unreachableError{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var p struct {
			Title    string                `json:"title"`
			Detail   string                `json:"detail"`
			Errors   []joinedup.FieldError `json:"errors"`
			Existing string                `json:"existingReference"`
		}
		json.Unmarshal(b, &p)
		msg := fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		if p.Detail != "" {
			msg += ": " + p.Detail
		}
		for _, fe := range p.Errors {
			msg += fmt.Sprintf("; %s: %s", fe.Field, fe.Message)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			if c.token == "" {
				msg += " (no token was sent: pass the hub's API token with -token or set JOINEDUP_API_TOKEN)"
			} else {
				msg += " (check that -token or JOINEDUP_API_TOKEN is the hub's -api-token)"
			}
		}
		return &apiProblem{msg: msg, existing: p.Existing}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// apiProblem is an error response from the hub, as opposed to a request
// that got no response.
type apiProblem struct {
	msg string
	// existing is the reference of the registration that a duplicate
	// birth repeats.
	existing string
}

func (p *apiProblem) Error() string { return p.msg }
