package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// parseFlags parses args, the command line of the command that flags is
// named after, such as "joinedup demo", and rejects any argument that is
// not a flag. usage is the text that -h prints before the flags.
func parseFlags(flags *flag.FlagSet, args []string, usage string, stderr io.Writer) error {
	rest, err := newFlagParser(flags, usage, stderr).parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes only flags", rest[0], flags.Name())
	}
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, which it returns, so that a flag written after
// the file names is not taken for one. Every argument after "--" is
// positional, so a file whose name starts with "-" can be given.
func parseInterspersed(flags *flag.FlagSet, args []string, usage string, stderr io.Writer) ([]string, error) {
	parser := newFlagParser(flags, usage, stderr)
	var positional []string
	for {
		rest, err := parser.parse(args)
		if err != nil {
			return nil, err
		}
		if len(rest) == 0 {
			return positional, nil
		}
		// The flag package stops at "--" and drops it.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// unknownCommand returns the one-line error for arg, the first argument
// after command, such as "joinedup users", when arg is not one of the
// command's commands or subcommands, as kind names them, nor -h.
func unknownCommand(command, kind, arg string) error {
	hint := fmt.Sprintf("run %s -h for its %ss", command, kind)
	if strings.HasPrefix(arg, "-") {
		return fmt.Errorf("unknown flag %s before the %s: %s", arg, kind, hint)
	}
	return fmt.Errorf("unknown %s %q: %s", kind, arg, hint)
}

// flagParser parses the command line of one command so that each error
// is one line without the usage: an invalid value, a flag given twice,
// an unknown flag, a flag without its value and bad flag syntax. Only -h
// and -help print the usage.
type flagParser struct {
	flags *flag.FlagSet
	// help is the usage followed by the flags and their defaults.
	help   string
	stderr io.Writer
	// valueErr is the error of a flag given twice or with an invalid
	// value, which the flag package would report without naming it.
	valueErr error
}

// newFlagParser returns a parser for flags, whose flags must all be
// defined already.
func newFlagParser(flags *flag.FlagSet, usage string, stderr io.Writer) *flagParser {
	// The defaults are printed before the values are wrapped, because
	// the flag package decides whether to show a default by comparing it
	// with the zero value of the flag's type.
	var help strings.Builder
	help.WriteString(usage)
	flags.SetOutput(&help)
	flags.PrintDefaults()

	p := &flagParser{flags: flags, help: help.String(), stderr: stderr}
	given := map[string]string{}
	flags.VisitAll(func(f *flag.Flag) { f.Value = checkCommandLine(f.Value, f.Name, given, &p.valueErr) })
	// The flag package would write every error followed by the usage.
	flags.SetOutput(io.Discard)
	flags.Usage = func() {}
	return p
}

// parse parses the flags at the start of args and returns the arguments
// after them. The first argument that is not a flag ends the flags, and
// so does --. For -h and -help it prints the usage to stderr and returns
// flag.ErrHelp.
func (p *flagParser) parse(args []string) ([]string, error) {
	err := p.flags.Parse(args)
	switch {
	case err == nil:
		return p.flags.Args(), nil
	case p.valueErr != nil:
		return nil, p.valueErr
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(p.stderr, p.help)
		return nil, err
	}

	hint := "run " + p.flags.Name() + " -h for its flags"
	defined := false
	p.flags.VisitAll(func(*flag.Flag) { defined = true })
	if !defined {
		hint = p.flags.Name() + " takes no flags"
	}
	// The remaining errors of flag.FlagSet.Parse name no value. Their
	// messages are those of the flag package of Go 1.26.
	message := err.Error()
	if name, ok := strings.CutPrefix(message, "flag provided but not defined: "); ok {
		message = "unknown flag " + name
	} else if name, ok := strings.CutPrefix(message, "flag needs an argument: "); ok {
		message = "missing value for " + name
	} else if arg, ok := strings.CutPrefix(message, "bad flag syntax: "); ok {
		message = fmt.Sprintf("invalid flag syntax %q", arg)
	}
	return nil, fmt.Errorf("%s: %s", message, hint)
}

// commandLineFlag is the value of a flag as the command line sets it. It
// rejects a flag given twice, where the flag package would keep the last
// value. It stores that error, or the error for an invalid value, in
// err, so that flagParser can return it on one line without the usage.
type commandLineFlag struct {
	flag.Value
	name string
	// given maps each flag set so far to its value.
	given map[string]string
	err   *error
}

// commandLineBoolFlag is a commandLineFlag of a flag that needs no value.
type commandLineBoolFlag struct{ commandLineFlag }

// checkCommandLine wraps value, the value of the flag name, in a
// commandLineFlag.
func checkCommandLine(value flag.Value, name string, given map[string]string, err *error) flag.Value {
	f := commandLineFlag{Value: value, name: name, given: given, err: err}
	if b, ok := value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return commandLineBoolFlag{f}
	}
	return f
}

func (f commandLineFlag) Set(s string) error {
	if first, ok := f.given[f.name]; ok {
		*f.err = fmt.Errorf("-%s is given twice, as %q and as %q: give it once", f.name, first, s)
		return *f.err
	}
	f.given[f.name] = s
	if err := f.Value.Set(s); err != nil {
		*f.err = fmt.Errorf("invalid -%s %q: %w", f.name, s, expectedValue(f.Value, s, err))
		return *f.err
	}
	return nil
}

func (f commandLineBoolFlag) IsBoolFlag() bool { return true }

// expectedValue returns the error for s, which value.Set rejected with
// err, saying what value is expected. The values that flag.FlagSet.Int,
// Bool and the like define reject a value with "parse error" or "value
// out of range", so for them the message follows the type of the value.
// Other values, such as this package's own, return their message as it
// is.
func expectedValue(value flag.Value, s string, err error) error {
	getter, ok := value.(flag.Getter)
	if !ok {
		return err
	}
	switch getter.Get().(type) {
	case bool:
		return errors.New("want true or false")
	case int:
		_, err := strconv.ParseInt(s, 0, strconv.IntSize)
		return numberError(s, err)
	case int64:
		_, err := strconv.ParseInt(s, 0, 64)
		return numberError(s, err)
	case uint:
		return unsignedError(s, strconv.IntSize)
	case uint64:
		return unsignedError(s, 64)
	case float64:
		if _, err := strconv.ParseFloat(s, 64); errors.Is(err, strconv.ErrRange) {
			return numberError(s, err)
		}
		return errors.New("must be a number, such as 2.5")
	case time.Duration:
		return errors.New("must be a duration such as 500ms or 2s")
	}
	return err
}

// unsignedError returns the error for s, which is not a whole number of
// 0 or more of bitSize bits.
func unsignedError(s string, bitSize int) error {
	if strings.HasPrefix(s, "-") {
		return errors.New("must be a whole number of 0 or more, such as 5")
	}
	_, err := strconv.ParseUint(s, 0, bitSize)
	return numberError(s, err)
}
