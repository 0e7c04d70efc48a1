package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
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
		{"extra argument", []string{"-hub", h.BaseURL, "extra"}, `demo takes no arguments, only flags; got "extra"`},
		{"family out of range", []string{"-hub", h.BaseURL, "-family", "99"}, "-family must be between 0 and"},
	} {
		err := run(context.Background(), append([]string{"demo"}, tc.args...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
