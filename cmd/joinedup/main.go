// Command joinedup runs the joinedup hub and its tools.
//
//	joinedup serve                  run the hub (see joinedup serve -help)
//	joinedup demo --hub URL         play the tell-us-once story against a hub
//	joinedup reference-services     run the reference services on their own
//	joinedup linkage …              link, deduplicate and evaluate records
//	joinedup audit verify …         verify the audit log
//	joinedup users add …            create a local staff or resident account
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `joinedup joins up the systems of a council and its partner services.

Usage:
  joinedup serve [flags]                run the hub (API and pages)
  joinedup demo --hub URL               register a birth and show what each service did
  joinedup reference-services [flags]   run the reference services as their own process
  joinedup bench [flags]                measure delivery throughput and latency on this machine
  joinedup linkage link|dedupe|eval     link, deduplicate and evaluate person records
  joinedup audit verify [flags]         verify the audit log against a checkpoint
  joinedup users add [flags]            create a local staff or resident account

Run "joinedup COMMAND -help" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "joinedup:", err)
		os.Exit(1)
	}
}

// run dispatches to a command. It is main without the process: tests call
// it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "reference-services":
		return runReferenceServices(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "bench-raw":
		return runBenchRaw(ctx, rest, stdout, stderr)
	case "linkage":
		return runLinkage(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "users":
		return runUsersFrom(ctx, rest, stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return unknownCommand("joinedup", "command", cmd)
}
