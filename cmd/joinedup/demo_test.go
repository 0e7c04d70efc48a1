package main

import (
	"bytes"
	"context"
	"io"
	"strings"
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
