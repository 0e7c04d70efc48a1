package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestBenchCommand runs the benchmark at a small size and checks that it
// reports every measurement: each round, the medians, the half load and
// the peak memory. It runs the built program, which starts itself again
// for each raw rate.
func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("the benchmark runs a hub and four services for several seconds")
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(binary(t), "bench", "-messages", "300", "-births", "30", "-rounds", "2", "-half-load-for", "1s", "-concurrency", "8")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s%s", err, out.String(), stderr.String())
	}
	for _, want := range []string{
		`(?m)^round 1: raw JetStream \d+ messages/s one at a time, \d+ in atomic batches of 256; raw webhook \d+ requests/s; joinedup \d+ births accepted/s, \d+ deliveries confirmed/s in \d+\.\d deliveries a JetStream message, .*: \d\.\d\d of the slower raw rate; CPU time per message: raw JetStream \S+, raw webhook \S+, joinedup \S+ per confirmed delivery$`,
		`(?m)^round 2: `,
		`(?m)^raw JetStream, durable publish and consume, one message at a time: \d+ messages/s \(median of 2 rounds\)$`,
		`(?m)^raw loopback webhook, \d+-byte POST, 8 clients: \d+ requests/s`,
		`(?m)^joinedup at saturation, 30 births, 8 clients: \d+ births accepted/s, \d+ deliveries confirmed/s \(median of 2 rounds\), \d+\.\d\d of the slower raw rate .*\(median of the rounds' ratios\)$`,
		`(?m)^CPU time per message \(median of 2 rounds\): raw JetStream \d\S*s, raw webhook \d\S*s .*; joinedup \d\S*s per confirmed delivery `,
		`(?m)^joinedup at half load, \d+ births/s for 1s: .* in \d+\.\d deliveries a JetStream message, .* p99 \S+$`,
		`(?m)^peak memory during the joinedup runs .*: \d+ MiB$`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output has no line matching %s:\n%s", want, out.String())
		}
	}
}

func TestBenchCommandBadInput(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"-rounds 0", "-rounds must be from 1 to 20, not 0"},
		{"-rounds 99999999999", "-rounds must be from 1 to 20"},
		{"-births -5", "-births must be from 1 to 100000, not -5"},
		{"-births 99999999999", "-births must be from 1 to 100000"},
		{"-messages 0", "-messages must be from 1 to 1000000, not 0"},
		{"-concurrency 0", "-concurrency must be from 1 to 1024, not 0"},
		{"-half-load-for 0s", "-half-load-for must be more than 0 and at most 10m0s, not 0s"},
		{"-half-load-for 2h", "-half-load-for must be more than 0 and at most 10m0s, not 2h0m0s"},
		{"-delivery-concurrency 2000", "-delivery-concurrency must be from 1 to 1024"},
		{"-half-load-rate -1", "-half-load-rate must be between 0 and 10000 births a second, not -1"},
		{"-half-load-rate NaN", "-half-load-rate must be between 0 and 10000 births a second, not NaN"},
		{"-half-load-rate 20000", "-half-load-rate must be between 0 and 10000 births a second, not 20000"},
		{"extra", `unexpected argument "extra": joinedup bench takes only flags`},
	} {
		err := run(context.Background(), append([]string{"bench"}, strings.Fields(tc.args)...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %s: error = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	for _, tc := range []struct{ args, want string }{
		{"", "bench-raw: want 3 arguments, got 0: run joinedup bench-raw -h for its usage"},
		{"jetstream 0 1", "MESSAGES must be a whole number from 1 to 1000000"},
		{"webhook 10 none", "CLIENTS must be a whole number from 1 to 1024"},
		{"kafka 10 1", `unknown rate "kafka"`},
	} {
		err := run(context.Background(), append([]string{"bench-raw"}, strings.Fields(tc.args)...), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench-raw %s: error = %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
