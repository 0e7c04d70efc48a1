package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// flagErrorCase is a command line that must be rejected while its flags
// are parsed, with the exact error that run returns for it.
type flagErrorCase struct {
	name string
	args []string
	want string
}

// flagErrorCases returns, for every command, an invalid value, an
// unknown flag, a flag without its value, a flag given twice and a stray
// argument, and for some, bad flag syntax. For joinedup itself and each
// command with subcommands, it returns an unknown command or subcommand
// and a flag in its place. dir is a directory that must
// stay empty and hub is the URL of a server that must receive no request.
//
// A command line that the code under test wrongly accepted must still
// stop before it starts anything that runs for long. So the repeated
// flags of demo and bench come after an out-of-range value, which the
// command checks once the flags are parsed. Those of reference-services
// come without -data, which it requires, and its out-of-range values
// come with a port of 0.
func flagErrorCases(dir, hub string) []flagErrorCase {
	hint := func(command string) string { return ": run joinedup " + command + " -h for its flags" }
	twice := func(name, first, second string) string {
		return fmt.Sprintf("-%s is given twice, as %q and as %q: give it once", name, first, second)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	csvFile := linkageTestdata("holder_a.csv")
	return []flagErrorCase{
		{"serve invalid value", []string{"serve", "-seed", "x"}, `invalid -seed "x": must be a whole number, such as 5`},
		{"serve unknown flag", []string{"serve", "-no-such-flag"}, "unknown flag -no-such-flag" + hint("serve")},
		{"serve missing value", []string{"serve", "-data"}, "missing value for -data" + hint("serve")},
		{"serve repeated flag", []string{"serve", "-data", a, "-data", b}, twice("data", a, b)},
		{"serve bad syntax", []string{"serve", "---data", a}, `invalid flag syntax "---data"` + hint("serve")},
		{"serve argument", []string{"serve", "-data", a, "now"}, `unexpected argument "now": joinedup serve takes only flags`},

		{"demo invalid value", []string{"demo", "-hub", hub, "-family", "abc"}, `invalid -family "abc": must be a whole number, such as 5`},
		{"demo negative seed", []string{"demo", "-hub", hub, "-seed", "-1"}, `invalid -seed "-1": must be a whole number of 0 or more, such as 5`},
		{"demo invalid duration", []string{"demo", "-hub", hub, "-timeout", "soon"}, `invalid -timeout "soon": must be a duration such as 500ms or 2s`},
		{"demo negative timeout", []string{"demo", "-hub", hub, "-timeout", "-5s"}, "-timeout must be more than 0, such as 2m, not -5s"},
		{"demo zero timeout", []string{"demo", "-hub", hub, "-timeout", "0s"}, "-timeout must be more than 0, such as 2m, not 0s"},
		{"demo no service", []string{"demo", "-hub", hub, "-services", " , "}, "-services names no service: give the ids of one or more services that take births"},
		{"demo unknown flag", []string{"demo", "-hub", hub, "-no-such-flag"}, "unknown flag -no-such-flag" + hint("demo")},
		{"demo missing value", []string{"demo", "-hub"}, "missing value for -hub" + hint("demo")},
		{"demo repeated flag", []string{"demo", "-family", "99", "-hub", hub, "-hub", hub + "/b"}, twice("hub", hub, hub+"/b")},
		{"demo bad syntax", []string{"demo", "-=" + hub}, fmt.Sprintf("invalid flag syntax %q", "-="+hub) + hint("demo")},
		{"demo argument", []string{"demo", "-hub", hub, "now"}, `unexpected argument "now": joinedup demo takes only flags`},

		{"reference-services invalid value", []string{"reference-services", "-hub", hub, "-families", "many"}, `invalid -families "many": must be a whole number, such as 5`},
		{"reference-services unknown flag", []string{"reference-services", "-hub", hub, "--no-such-flag"}, "unknown flag -no-such-flag" + hint("reference-services")},
		{"reference-services missing value", []string{"reference-services", "-hub", hub, "-data"}, "missing value for -data" + hint("reference-services")},
		{"reference-services repeated flag", []string{"reference-services", "-hub", hub, "-hub", hub + "/b"}, twice("hub", hub, hub+"/b")},
		{"reference-services argument", []string{"reference-services", "-hub", hub, "-data", a, "now"}, `unexpected argument "now": joinedup reference-services takes only flags`},
		{"reference-services without data", []string{"reference-services", "-hub", hub}, "reference-services: --hub and --data are required" + hint("reference-services")},
		{"reference-services negative families", []string{"reference-services", "-hub", hub, "-data", a, "-addr", "127.0.0.1:0", "-families", "-5"},
			"reference-services: --families must be 20 or more, the demo families that every population holds, or 0 for 1000, not -5"},
		{"reference-services too few families", []string{"reference-services", "-hub", hub, "-data", a, "-addr", "127.0.0.1:0", "-families", "19"},
			"reference-services: --families must be 20 or more, the demo families that every population holds, or 0 for 1000, not 19"},

		// Every flag of audit verify and users add takes any text, so
		// neither has an invalid value to give.
		{"audit verify unknown flag", []string{"audit", "verify", "-data", a, "-no-such-flag"}, "unknown flag -no-such-flag" + hint("audit verify")},
		{"audit verify missing value", []string{"audit", "verify", "-data"}, "missing value for -data" + hint("audit verify")},
		{"audit verify repeated flag", []string{"audit", "verify", "-data", a, "-data", b}, twice("data", a, b)},
		{"audit verify argument", []string{"audit", "verify", "-data", a, "now"}, `unexpected argument "now": joinedup audit verify takes only flags`},

		{"users add unknown flag", []string{"users", "add", "-data", a, "-no-such-flag"}, "unknown flag -no-such-flag" + hint("users add")},
		{"users add missing value", []string{"users", "add", "-data", a, "-username"}, "missing value for -username" + hint("users add")},
		{"users add repeated flag", []string{"users", "add", "-data", a, "-data", b}, twice("data", a, b)},
		{"users add argument", []string{"users", "add", "-data", a, "now"}, `unexpected argument "now": joinedup users add takes only flags`},

		{"linkage link invalid value", []string{"linkage", "link", "-quiet=maybe"}, `invalid -quiet "maybe": want true or false`},
		{"linkage link unknown flag", []string{"linkage", "link", csvFile, "-no-such-flag", csvFile}, "unknown flag -no-such-flag" + hint("linkage link")},
		{"linkage link missing value", []string{"linkage", "link", csvFile, csvFile, "-out"}, "missing value for -out" + hint("linkage link")},
		{"linkage link repeated flag", []string{"linkage", "link", "-out", a, "-out", b}, twice("out", a, b)},
		{"linkage link one file", []string{"linkage", "link", "-out", a, csvFile}, "linkage link: want two CSV files, got 1 argument: run joinedup linkage link -h for its usage"},

		{"linkage dedupe invalid value", []string{"linkage", "dedupe", "-skip-invalid=maybe"}, `invalid -skip-invalid "maybe": want true or false`},
		{"linkage dedupe unknown flag", []string{"linkage", "dedupe", csvFile, "-no-such-flag"}, "unknown flag -no-such-flag" + hint("linkage dedupe")},
		{"linkage dedupe missing value", []string{"linkage", "dedupe", csvFile, "-pairs"}, "missing value for -pairs" + hint("linkage dedupe")},
		{"linkage dedupe repeated flag", []string{"linkage", "dedupe", "-pairs", a, "-pairs", b}, twice("pairs", a, b)},
		{"linkage dedupe no file", []string{"linkage", "dedupe", "-out", a}, "linkage dedupe: want one CSV file, got 0 arguments: run joinedup linkage dedupe -h for its usage"},

		{"linkage eval invalid value", []string{"linkage", "eval", "-quiet=maybe"}, `invalid -quiet "maybe": want true or false`},
		{"linkage eval unknown flag", []string{"linkage", "eval", "-no-such-flag"}, "unknown flag -no-such-flag" + hint("linkage eval")},
		{"linkage eval missing value", []string{"linkage", "eval", "-febrl"}, "missing value for -febrl" + hint("linkage eval")},
		{"linkage eval repeated flag", []string{"linkage", "eval", "-save-model", a, "-save-model", b}, twice("save-model", a, b)},
		{"linkage eval no data", []string{"linkage", "eval", "-save-model", a}, "linkage eval: want --febrl FILE [FILE_B] or --splink FILE: run joinedup linkage eval -h for its usage"},

		{"bench invalid value", []string{"bench", "-rounds", "x"}, `invalid -rounds "x": must be a whole number, such as 5`},
		{"bench invalid rate", []string{"bench", "-half-load-rate", "fast"}, `invalid -half-load-rate "fast": must be a number, such as 2.5`},
		{"bench rate too large", []string{"bench", "-half-load-rate", "1e400"}, `invalid -half-load-rate "1e400": the number is too large`},
		{"bench invalid duration", []string{"bench", "-half-load-for", "5"}, `invalid -half-load-for "5": must be a duration such as 500ms or 2s`},
		{"bench invalid boolean", []string{"bench", "-bare-receivers=maybe"}, `invalid -bare-receivers "maybe": want true or false`},
		{"bench unknown flag", []string{"bench", "-no-such-flag"}, "unknown flag -no-such-flag" + hint("bench")},
		{"bench missing value", []string{"bench", "-rounds"}, "missing value for -rounds" + hint("bench")},
		{"bench repeated flag", []string{"bench", "-messages", "0", "-rounds", "1", "-rounds", "2"}, twice("rounds", "1", "2")},
		{"bench argument", []string{"bench", "now"}, `unexpected argument "now": joinedup bench takes only flags`},

		// bench-raw defines no flags, so it has no value to get wrong.
		{"bench-raw unknown flag", []string{"bench-raw", "-no-such-flag", "webhook", "10", "1"}, "unknown flag -no-such-flag: joinedup bench-raw takes no flags"},
		{"bench-raw bad syntax", []string{"bench-raw", "--=webhook"}, `invalid flag syntax "--=webhook": joinedup bench-raw takes no flags`},

		{"unknown command", []string{"nosuch"}, `unknown command "nosuch": run joinedup -h for its commands`},
		{"flag before the command", []string{"--nope"}, "unknown flag --nope before the command: run joinedup -h for its commands"},
		{"users unknown subcommand", []string{"users", "bogus"}, `unknown subcommand "bogus": run joinedup users -h for its subcommands`},
		{"users flag before the subcommand", []string{"users", "--nope"}, "unknown flag --nope before the subcommand: run joinedup users -h for its subcommands"},
		{"audit unknown subcommand", []string{"audit", "bogus"}, `unknown subcommand "bogus": run joinedup audit -h for its subcommands`},
		{"audit flag before the subcommand", []string{"audit", "--nope"}, "unknown flag --nope before the subcommand: run joinedup audit -h for its subcommands"},
		{"linkage unknown subcommand", []string{"linkage", "bogus"}, `unknown subcommand "bogus": run joinedup linkage -h for its subcommands`},
		{"linkage flag before the subcommand", []string{"linkage", "--nope"}, "unknown flag --nope before the subcommand: run joinedup linkage -h for its subcommands"},
	}
}

// TestFlagErrorsEveryCommand runs each case of flagErrorCases. Each must
// return its one line of error, print nothing, so no usage either,
// create no file and send no request.
func TestFlagErrorsEveryCommand(t *testing.T) {
	dir := t.TempDir()
	// bench and bench-raw create their working directories in the
	// directory for temporary files.
	t.Setenv("TMPDIR", dir)
	t.Setenv("JOINEDUP_API_TOKEN", "")
	var requests atomic.Int64
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "this hub takes no requests", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hub.Close)
	// A command that wrongly accepted its command line stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	for _, tc := range flagErrorCases(dir, hub.URL) {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer

			err := run(ctx, tc.args, strings.NewReader(""), &stdout, &stderr)

			if err == nil {
				t.Fatalf("joinedup %s succeeded, want the error %q", strings.Join(tc.args, " "), tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\nwant    %q", err, tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing: run prints no usage for an error", stderr.String())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				t.Errorf("created %s, want nothing created", e.Name())
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
			if n := requests.Swap(0); n > 0 {
				t.Errorf("sent %d requests to the hub, want none", n)
			}
		})
	}
}

// TestFlagHelpEveryCommand checks that -h and -help still print each
// command's usage with its flags on stderr, and return flag.ErrHelp, for
// which the process exits with status 0.
func TestFlagHelpEveryCommand(t *testing.T) {
	tests := []struct {
		command []string
		// usage is a line of the usage text, and flag one of the
		// command's flags, empty for a command without flags.
		usage, flag string
	}{
		{[]string{"serve"}, "Usage: joinedup serve [flags]", "addr"},
		{[]string{"demo"}, "  joinedup demo [-hub URL] [-token TOKEN] [flags]", "hub"},
		{[]string{"reference-services"}, "  joinedup reference-services --hub URL --data DIR [flags]", "data"},
		{[]string{"audit", "verify"}, "  joinedup audit verify --data DIR [--database-url URL] [--checkpoint FILE] [--key FILE.pub]", "checkpoint"},
		{[]string{"users", "add"}, "  joinedup users add --data DIR [--database-url URL] --username U --role R [--organisation O] [flags] < password", "username"},
		{[]string{"linkage", "link"}, "  joinedup linkage link [flags] A.csv B.csv", "out"},
		{[]string{"linkage", "dedupe"}, "  joinedup linkage dedupe [flags] A.csv", "pairs"},
		{[]string{"linkage", "eval"}, "  joinedup linkage eval --febrl FILE [FILE_B] | --splink FILE", "splink"},
		{[]string{"bench"}, "  joinedup bench [flags]", "rounds"},
		{[]string{"bench-raw"}, "  joinedup bench-raw jetstream|jetstream-batched|webhook MESSAGES CLIENTS", ""},
	}
	for _, tt := range tests {
		for _, help := range []string{"-h", "-help", "--help"} {
			args := append(append([]string{}, tt.command...), help)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer

				err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)

				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("error = %v, want flag.ErrHelp", err)
				}
				if stdout.Len() > 0 {
					t.Errorf("stdout = %q, want nothing", stdout.String())
				}
				if !strings.Contains(stderr.String(), tt.usage+"\n") {
					t.Errorf("stderr = %q, want the usage line %q", stderr.String(), tt.usage)
				}
				if tt.flag != "" && !strings.Contains(stderr.String(), "\n  -"+tt.flag) {
					t.Errorf("stderr = %q, want the flag -%s listed", stderr.String(), tt.flag)
				}
			})
		}
	}
}

// TestFlagErrorExitStatus runs the built program with a flag error and
// with -h: an error is the one line that main prints, with status 1, and
// -h exits with status 0.
func TestFlagErrorExitStatus(t *testing.T) {
	bin := binary(t)
	tests := []struct {
		args       []string
		wantStatus int
		wantStderr string
	}{
		{[]string{"serve", "-addr"}, 1, "joinedup: missing value for -addr: run joinedup serve -h for its flags\n"},
		{[]string{"users", "add", "-data", "a", "-data", "b"}, 1, "joinedup: -data is given twice, as \"a\" and as \"b\": give it once\n"},
		{[]string{"users", "add", "-h"}, 0, ""},
		{[]string{"demo", "-hub"}, 1, "joinedup: missing value for -hub: run joinedup demo -h for its flags\n"},
		{[]string{"demo", "-family", "99", "-hub", "http://127.0.0.1:1", "-hub", "http://127.0.0.1:2"}, 1, "joinedup: -hub is given twice, as \"http://127.0.0.1:1\" and as \"http://127.0.0.1:2\": give it once\n"},
		{[]string{"bench", "-rounds", "x"}, 1, "joinedup: invalid -rounds \"x\": must be a whole number, such as 5\n"},
		{[]string{"linkage", "eval", "-no-such-flag"}, 1, "joinedup: unknown flag -no-such-flag: run joinedup linkage eval -h for its flags\n"},
		{[]string{"reference-services", "-h"}, 0, ""},
		{[]string{"nosuch"}, 1, "joinedup: unknown command \"nosuch\": run joinedup -h for its commands\n"},
		{[]string{"users", "bogus"}, 1, "joinedup: unknown subcommand \"bogus\": run joinedup users -h for its subcommands\n"},
		{[]string{"users", "--nope"}, 1, "joinedup: unknown flag --nope before the subcommand: run joinedup users -h for its subcommands\n"},
		{[]string{"audit", "--nope"}, 1, "joinedup: unknown flag --nope before the subcommand: run joinedup audit -h for its subcommands\n"},
		{[]string{"users", "-h"}, 0, ""},
		{[]string{"audit", "--help"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TMPDIR="+dir)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr

			err := cmd.Run()

			var exit *exec.ExitError
			status := 0
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatalf("run %s: %v", bin, err)
			}
			if status != tt.wantStatus {
				t.Errorf("exit status = %d, want %d", status, tt.wantStatus)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if tt.wantStderr != "" && stderr.String() != tt.wantStderr {
				t.Errorf("stderr = %q\nwant     %q", stderr.String(), tt.wantStderr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("created %s, want nothing created", entries[0].Name())
			}
		})
	}
}

// TestTopLevelHelp checks that joinedup -h prints the commands on stdout,
// and says that users add creates residents as well as staff.
func TestTopLevelHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer

	err := run(context.Background(), []string{"-h"}, strings.NewReader(""), &stdout, &stderr)

	if err != nil {
		t.Errorf("error = %v, want nil", err)
	}
	if want := "  joinedup users add [flags]            create a local staff or resident account\n"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout = %q, want the line %q", stdout.String(), want)
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

// TestSubcommandHelp checks that -h, -help and --help in place of a
// subcommand still print the command's usage, and return nil or
// flag.ErrHelp, for which the process exits with status 0.
func TestSubcommandHelp(t *testing.T) {
	tests := []struct {
		command string
		// usage is a line of the command's usage.
		usage string
	}{
		{"users", "  joinedup users add --data DIR [--database-url URL] --username U --role R [--organisation O] [flags] < password\n"},
		{"audit", "  joinedup audit verify --data DIR [--database-url URL] [--checkpoint FILE] [--key FILE.pub]\n"},
		{"linkage", "  joinedup linkage link [flags] A.csv B.csv\n"},
	}
	for _, tt := range tests {
		for _, help := range []string{"-h", "-help", "--help"} {
			t.Run(tt.command+" "+help, func(t *testing.T) {
				var stdout, stderr bytes.Buffer

				err := run(context.Background(), []string{tt.command, help}, strings.NewReader(""), &stdout, &stderr)

				if err != nil && !errors.Is(err, flag.ErrHelp) {
					t.Errorf("error = %v, want nil or flag.ErrHelp", err)
				}
				if output := stdout.String() + stderr.String(); !strings.Contains(output, tt.usage) {
					t.Errorf("output = %q, want the usage line %q", output, tt.usage)
				}
			})
		}
	}
}

// TestParseInterspersedDoubleDash parses positional arguments around
// "--". Every argument after it is positional, even one that starts
// with "-", and flags before it are still read.
func TestParseInterspersedDoubleDash(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--", "a.csv", "-b.csv"}, []string{"a.csv", "-b.csv"}},
		{[]string{"a.csv", "--", "-b.csv"}, []string{"a.csv", "-b.csv"}},
		{[]string{"-limit", "3", "a.csv", "--", "-limit"}, []string{"a.csv", "-limit"}},
	} {
		flags := flag.NewFlagSet("joinedup test", flag.ContinueOnError)
		limit := flags.Int("limit", 0, "a limit")
		got, err := parseInterspersed(flags, tt.args, "", io.Discard)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseInterspersed(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
		if tt.args[0] == "-limit" && *limit != 3 {
			t.Errorf("parseInterspersed(%q) set -limit to %d, want 3", tt.args, *limit)
		}
	}
}
