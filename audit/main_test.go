package audit_test

import (
	"flag"
	"os"
	"testing"
)

// benchDir is a directory shared by the benchmarks of one run, removed when
// the run ends.
var benchDir string

func tempDir() (string, error) {
	if benchDir == "" {
		dir, err := os.MkdirTemp("", "audit-bench-")
		if err != nil {
			return "", err
		}
		benchDir = dir
	}
	return benchDir, nil
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
