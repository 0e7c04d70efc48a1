package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/reference/population"
)

// TestDemoCommand runs joinedup demo against a hub with the demo council
// and checks that it reports every service's outcome and exits cleanly.
func TestDemoCommand(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", demoAPIToken, "-family", "3"}, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, service := range []string{"Child Benefit", "Riverside Surgery", "Housing Benefit and Council Tax Reduction", "Riverside Primary School pupil planning"} {
		if !strings.Contains(out.String(), "- "+service+": acted: ") {
			t.Errorf("output does not say that %s acted:\n%s", service, out.String())
		}
	}
}

// TestDemoRunsAgain runs the demo twice for one family and then without
// a family. The second run follows the first registration, and the third
// registers the birth of a family the hub has not registered.
func TestDemoRunsAgain(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	args := []string{"demo", "-hub", h.BaseURL, "-token", demoAPIToken, "-services", "gp-practice"}
	var first, again, random bytes.Buffer
	if err := run(context.Background(), append(args, "-family", "2"), nil, &first, io.Discard); err != nil {
		t.Fatalf("first demo: %v\n%s", err, first.String())
	}
	if err := run(context.Background(), append(args, "-family", "2"), nil, &again, io.Discard); err != nil {
		t.Fatalf("demo again: %v\n%s", err, again.String())
	}
	if !strings.Contains(again.String(), "has registered the birth of") || !strings.Contains(again.String(), "- Riverside Surgery: acted: ") {
		t.Errorf("demo again does not follow the first registration to its outcome:\n%s", again.String())
	}
	// After a withdrawal the demo distinguishes the notice from the birth.
	ref := regexp.MustCompile(`reference (JU-[0-9A-Z-]+)`).FindStringSubmatch(first.String())
	if ref == nil {
		t.Fatalf("first demo names no reference:\n%s", first.String())
	}
	ev, err := h.LifeEvents.FindLifeEventByReference(context.Background(), ref[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine.WithdrawConsent(context.Background(), ev.ID, "gp-practice", "informant"); err != nil {
		t.Fatal(err)
	}
	var withdrawn bytes.Buffer
	if err := run(context.Background(), append(args, "-family", "2"), nil, &withdrawn, io.Discard); err != nil {
		t.Fatalf("demo after a withdrawal: %v\n%s", err, withdrawn.String())
	}
	if !strings.Contains(withdrawn.String(), "- Riverside Surgery, told that consent was withdrawn: ") {
		t.Errorf("demo after a withdrawal does not say that the service was told of it:\n%s", withdrawn.String())
	}
	// Every family but one is registered, so the random pick must move on
	// until it finds that one.
	for family := range population.DemoFamilies {
		if family == 2 || family == 7 {
			continue
		}
		reg := demoBirth(t, h, family)
		reg.Consent.Services = []joinedup.ServiceID{"gp-practice"}
		registerWithToken(t, h, reg)
	}
	if err := run(context.Background(), args, nil, &random, io.Discard); err != nil {
		t.Fatalf("demo with a random family: %v\n%s", err, random.String())
	}
	want := demoBirth(t, h, 7).Child.Name.Full()
	if !strings.Contains(random.String(), "registers the birth of "+want) {
		t.Errorf("demo with a random family did not register %s, the one family left:\n%s", want, random.String())
	}
}

// TestDemoTellsOnlyNamedServices checks that the demo consents to the
// reference services by default, and sends nothing to another service the
// hub lists.
func TestDemoTellsOnlyNamedServices(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true; c.APIToken = testToken })
	var received atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(other.Close)
	registration := strings.Replace(string(serviceJSON(t, "other-service", other.URL)), `"test-council"`, `"hmrc"`, 1)
	req, err := http.NewRequest(http.MethodPost, h.BaseURL+"/api/v1/services", strings.NewReader(registration))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register another service: status %d, want 201", resp.StatusCode)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", testToken, "-family", "4"}, nil, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "agrees to tell 4 services") {
		t.Errorf("demo does not consent to the four reference services:\n%s", out.String())
	}
	if n := received.Load(); n != 0 {
		t.Errorf("the service the demo did not name received %d requests, want 0", n)
	}

	err = run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", testToken, "-family", "5", "-services", "child-benefit,no-such-service"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `the hub has no service "no-such-service"`) {
		t.Errorf("unknown service: error = %v, want one naming it", err)
	}
	err = run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", testToken, "-family", "5", "-services", " , "}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-services names no service") {
		t.Errorf("no service: error = %v, want one saying -services names none", err)
	}
}

func TestDemoCommandErrors(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	t.Setenv("JOINEDUP_API_TOKEN", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no token", []string{"-hub", h.BaseURL}, "no token was sent: pass the hub's API token with -token or set JOINEDUP_API_TOKEN"},
		{"wrong token", []string{"-hub", h.BaseURL, "-token", "not-the-token"}, "check that -token or JOINEDUP_API_TOKEN is the hub's -api-token"},
		{"extra argument", []string{"-hub", h.BaseURL, "extra"}, `unexpected argument "extra": joinedup demo takes only flags`},
		{"family out of range", []string{"-hub", h.BaseURL, "-family", "99"}, "-family must be between 0 and"},
		{"hub without a scheme", []string{"-hub", "127.0.0.1:8080"}, `-hub "127.0.0.1:8080" is not a URL such as http://127.0.0.1:8080`},
	} {
		err := run(context.Background(), append([]string{"demo"}, tc.args...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestDemoNamesStatutoryService registers a service with a lawful basis
// beside the reference services, which the hub tells of every birth, and
// checks that the demo names it and says why it is told.
func TestDemoNamesStatutoryService(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true; c.APIToken = testToken })
	statutory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"acted","summary":"Health visit booked."}`)
	}))
	t.Cleanup(statutory.Close)
	var registration map[string]any
	if err := json.Unmarshal(serviceJSON(t, "health-visiting", statutory.URL), &registration); err != nil {
		t.Fatal(err)
	}
	registration["organisation"], registration["name"] = "council", "Health visiting"
	registration["lawfulBasis"] = "duty to notify the health visiting service of every birth"
	body, err := json.Marshal(registration)
	if err != nil {
		t.Fatal(err)
	}
	if status, b := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/services", body); status != http.StatusCreated {
		t.Fatalf("register statutory service: status %d, want 201: %s", status, b)
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", testToken, "-family", "6"}, nil, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "- Health visiting: told without consent, under its lawful basis (duty to notify") {
		t.Errorf("output does not say why health visiting is told:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "- Health visiting: acted: Health visit booked.") {
		t.Errorf("output does not name health visiting in the outcomes:\n%s", out.String())
	}
	if strings.Contains(out.String(), "   - : ") {
		t.Errorf("output has a line without a service name:\n%s", out.String())
	}
}

// TestDemoUsageHidesToken checks that the demo's usage, printed for a bad
// flag or -h, does not show the API token read from the environment.
func TestDemoUsageHidesToken(t *testing.T) {
	const secret = "not-to-be-printed-0123456789"
	t.Setenv("JOINEDUP_API_TOKEN", secret)
	for _, args := range [][]string{{"demo", "-family", "abc"}, {"demo", "-h"}} {
		var out, errs bytes.Buffer
		run(context.Background(), args, nil, &out, &errs)
		if strings.Contains(out.String()+errs.String(), secret) {
			t.Errorf("joinedup %s printed the API token:\n%s%s", strings.Join(args, " "), out.String(), errs.String())
		}
	}
}

// closedAddress returns a loopback address on which nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestDemoWaitsForHub starts the demo while nothing listens at -hub, then
// puts the hub there, as after a restart. The demo must keep trying and
// finish with the service's outcome.
func TestDemoWaitsForHub(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	addr := closedAddress(t)
	done := make(chan error, 1)
	var out, notices bytes.Buffer
	go func() {
		done <- run(context.Background(), []string{"demo", "-hub", "http://" + addr, "-token", demoAPIToken,
			"-family", "4", "-services", "gp-practice", "-timeout", "30s"}, nil, &out, &notices)
	}()

	time.Sleep(time.Second)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	target, err := url.Parse(h.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target)}
	go proxy.Serve(ln)
	defer proxy.Close()

	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(notices.String(), "The hub is not responding") {
		t.Errorf("stderr = %q, want a notice that the hub is not responding", notices.String())
	}
	if !strings.Contains(out.String(), "- Riverside Surgery: acted: ") {
		t.Errorf("output does not say that Riverside Surgery acted:\n%s", out.String())
	}
}

// TestDemoGivesUpAtTimeout runs the demo against an address where nothing
// ever listens: it must stop with an error once -timeout has passed.
func TestDemoGivesUpAtTimeout(t *testing.T) {
	start := time.Now()
	err := run(context.Background(), []string{"demo", "-hub", "http://" + closedAddress(t), "-timeout", "1s"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the hub did not respond within the -timeout") {
		t.Fatalf("error = %v, want one saying the hub did not respond", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %s, want about the 1s timeout", elapsed)
	}
}

// TestDemoFailsWhenEveryServiceFails runs the demo with a seed other than
// the hub's, so its family is unknown to the reference services and each
// one reports failed. The demo must return an error that names the seed.
func TestDemoFailsWhenEveryServiceFails(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-hub", h.BaseURL, "-token", demoAPIToken, "-seed", "2",
		"-family", "5", "-services", "gp-practice,child-benefit"}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "every service reported failed") {
		t.Fatalf("error = %v, want one saying every service failed\n%s", err, out.String())
	}
	if !strings.Contains(err.Error(), "check that -seed, 2 here, is the hub's -seed") {
		t.Errorf("error = %v, want a hint about -seed", err)
	}
	if !strings.Contains(out.String(), ": failed") {
		t.Errorf("output does not show the failed outcomes:\n%s", out.String())
	}
}

// TestDemoNamesFamilyWhenCutOff runs the demo with a family picked at
// random through a proxy that drops the registration's connection. The
// error must name the family and give it as the -family to run again.
func TestDemoNamesFamilyWhenCutOff(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	target, err := url.Parse(h.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/births" {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer cut.Close()

	err = run(context.Background(), []string{"demo", "-hub", cut.URL, "-token", demoAPIToken, "-timeout", "5s"}, nil, io.Discard, io.Discard)
	m := regexp.MustCompile(`demo family (\d+): .* run the demo again with -family (\d+)`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil || m[1] != m[2] {
		t.Errorf("error = %v, want one that names the family and gives it as -family", err)
	}
}
