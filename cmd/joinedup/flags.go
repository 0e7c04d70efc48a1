package main

import (
	"flag"
	"fmt"
)

// commandLineFlag is the value of a flag as the command line sets it. It
// rejects a flag given twice, where the flag package would keep the last
// value. It also stores the error for an invalid value in err, so that
// parseConfig can return that error on one line without the usage.
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
		*f.err = fmt.Errorf("invalid -%s %q: %w", f.name, s, err)
		return *f.err
	}
	return nil
}

// String returns the value's text. The flag package also calls it on the
// zero commandLineFlag, to decide whether the usage shows a default.
func (f commandLineFlag) String() string {
	if f.Value == nil {
		return ""
	}
	return f.Value.String()
}

func (f commandLineBoolFlag) IsBoolFlag() bool { return true }

func (f commandLineBoolFlag) String() string {
	if f.Value == nil {
		return "false"
	}
	return f.Value.String()
}
