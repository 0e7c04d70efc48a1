package audit_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
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

// TestMain closes the benchmarks' log and removes its directory. It fails
// the run when a goroutine, such as one that took over the append queue,
// outlives the tests.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if benchLog.db != nil {
		benchLog.db.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
