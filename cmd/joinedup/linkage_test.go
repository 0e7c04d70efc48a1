package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func linkageTestdata(name string) string {
	return filepath.Join("..", "..", "linkage", "testdata", name)
}

func runLinkageForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runLinkage(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestLinkageLink(t *testing.T) {
	stdout, stderr, err := runLinkageForTest(t, "link", "--quiet", linkageTestdata("holder_a.csv"), linkageTestdata("holder_b.csv"))
	if err != nil {
		t.Fatalf("link: %v\n%s", err, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("read output: %v\n%s", err, stdout)
	}
	if got, want := strings.Join(rows[0], ","), "a_id,b_id,decision,weight,probability"; got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[1]] = r[0] + " " + r[2]
	}
	want := map[string]string{
		"b-1": "a-1 match", // accents, apostrophe and hyphen
		"b-2": "a-2 match", // nickname
		"b-3": "a-4 match", // the twin with the same given name
		"b-4": "a-5 match", // NHS number
		"b-5": "",          // nobody
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("pair for %s = %q, want %q", id, got[id], w)
		}
	}
	if !strings.Contains(stderr, "using the default model") {
		t.Errorf("stderr = %q, want a note that the default model is used for so few records", stderr)
	}
}

func TestLinkageDedupe(t *testing.T) {
	out := filepath.Join(t.TempDir(), "clusters.csv")
	pairs := filepath.Join(t.TempDir(), "pairs.csv")
	_, stderr, err := runLinkageForTest(t, "dedupe", "--quiet", "--out", out, "--pairs", pairs, linkageTestdata("holder_a.csv"))
	if err != nil {
		t.Fatalf("dedupe: %v\n%s", err, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("read clusters: %v", err)
	}
	if got := len(rows); got != 9 {
		t.Fatalf("clusters file has %d rows, want a header and 8 records", got)
	}
	for _, r := range rows[1:] {
		if r[0] != r[1] {
			t.Errorf("record %s is in cluster %s, want every record on its own (the twins must not merge)", r[1], r[0])
		}
	}
	pairData, err := os.ReadFile(pairs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pairData), "a-3,a-4,possible") {
		t.Errorf("pairs = %s, want the twins a-3 and a-4 as a possible match", pairData)
	}
}

func TestLinkageBadInput(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		wantErr  string
		wantSkip string
	}{
		{"wrong column count", "bad_columns.csv", "bad_columns.csv:3: wrong number of columns", "skipped " + linkageTestdata("bad_columns.csv") + ":3"},
		{"invalid date", "bad_date.csv", "bad_date.csv:3: invalid date of birth \"1912-02-30\"", "skipped " + linkageTestdata("bad_date.csv") + ":3"},
		{"malformed line", "malformed.csv", "malformed.csv:3: malformed CSV", "skipped " + linkageTestdata("malformed.csv") + ":5: malformed CSV up to line 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runLinkageForTest(t, "dedupe", "--quiet", linkageTestdata(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("dedupe error = %v, want one containing %q", err, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("dedupe wrote %q, want nothing", stdout)
			}

			stdout, stderr, err := runLinkageForTest(t, "dedupe", "--quiet", "--skip-invalid", linkageTestdata(tt.file))
			if err != nil {
				t.Fatalf("dedupe --skip-invalid: %v", err)
			}
			if !strings.Contains(stderr, tt.wantSkip) {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantSkip)
			}
			if got := strings.Count(stdout, "\n"); got != 3 {
				t.Errorf("dedupe --skip-invalid wrote %d lines, want a header and the 2 valid records:\n%s", got, stdout)
			}
		})
	}
}

// linkageData returns the path of a file under
// $JOINEDUP_TESTDATA/linkage, or skips t when it is absent.
func linkageData(t *testing.T, parts ...string) string {
	t.Helper()
	dir := os.Getenv("JOINEDUP_TESTDATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	path := filepath.Join(append([]string{dir, "linkage"}, parts...)...)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("skipping: test data %s is absent; set JOINEDUP_TESTDATA to the folder that holds linkage/febrl and linkage/splink", path)
	}
	return path
}

func TestLinkageEval(t *testing.T) {
	tests := []struct {
		name  string
		args  func(t *testing.T) []string
		mode  string
		minF1 float64
	}{
		{"splink dedupe", func(t *testing.T) []string {
			return []string{"--splink", linkageData(t, "splink", "fake_1000.csv")}
		}, "dedupe", 0.8},
		{"febrl link", func(t *testing.T) []string {
			return []string{"--febrl", linkageData(t, "febrl", "dataset4a.csv"), linkageData(t, "febrl", "dataset4b.csv")}
		}, "link", 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"eval", "--quiet"}, tt.args(t)...)
			stdout, stderr, err := runLinkageForTest(t, args...)
			if err != nil {
				t.Fatalf("eval: %v\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			last := lines[len(lines)-1]
			var p, r, f float64
			if n, err := fmt.Sscanf(last, "precision=%f recall=%f f1=%f", &p, &r, &f); err != nil || n != 3 {
				t.Fatalf("last line = %q, want precision=P recall=R f1=F", last)
			}
			if f < tt.minF1 || f > 1 {
				t.Errorf("f1 = %v, want at least %v", f, tt.minF1)
			}
			if !strings.Contains(stdout, "("+tt.mode+", ") {
				t.Errorf("output does not name the %s mode:\n%s", tt.mode, stdout)
			}
			if !strings.Contains(stdout, "b-cubed: precision=") {
				t.Errorf("output lacks the B-cubed line:\n%s", stdout)
			}
		})
	}
}

func TestLinkageUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "no subcommand"},
		{"unknown subcommand", []string{"merge"}, `unknown subcommand "merge"`},
		{"link with one file", []string{"link", "a.csv"}, "want two CSV files"},
		{"eval without data", []string{"eval"}, "want --febrl FILE"},
		{"missing file", []string{"dedupe", "no-such-file.csv"}, "no-such-file.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runLinkageForTest(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("runLinkage(%v) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestLinkageModelFile(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "model.json")
	first, stderr, err := runLinkageForTest(t, "link", "--quiet", "--save-model", saved, linkageTestdata("holder_a.csv"), linkageTestdata("holder_b.csv"))
	if err != nil {
		t.Fatalf("link --save-model: %v\n%s", err, stderr)
	}
	second, stderr, err := runLinkageForTest(t, "link", "--quiet", "--model", saved, linkageTestdata("holder_a.csv"), linkageTestdata("holder_b.csv"))
	if err != nil {
		t.Fatalf("link --model: %v\n%s", err, stderr)
	}
	if first != second {
		t.Errorf("link with the saved model wrote\n%s\nwant the same as with the model it saved\n%s", second, first)
	}

	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(`{"prior": 2, "matchWeight": 10, "fields": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runLinkageForTest(t, "link", "--quiet", "--model", broken, linkageTestdata("holder_a.csv"), linkageTestdata("holder_b.csv"))
	if err == nil || !strings.Contains(err.Error(), "invalid prior 2") {
		t.Errorf("link with a broken model = %v, want an invalid prior error", err)
	}
}

func TestLinkageFlagsAfterFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pairs.csv")
	_, stderr, err := runLinkageForTest(t, "link", linkageTestdata("holder_a.csv"), "--quiet", linkageTestdata("holder_b.csv"), "--out", out)
	if err != nil {
		t.Fatalf("link with flags after the files: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "records\n") {
		t.Errorf("stderr = %q, want no progress with --quiet", stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("--out after the files was ignored: %v", err)
	}
}

func TestLinkageKeepInvalidDates(t *testing.T) {
	stdout, stderr, err := runLinkageForTest(t, "dedupe", "--quiet", "--keep-invalid-dates", linkageTestdata("bad_date.csv"))
	if err != nil {
		t.Fatalf("dedupe --keep-invalid-dates: %v\n%s", err, stderr)
	}
	if got := strings.Count(stdout, "\n"); got != 4 {
		t.Errorf("dedupe --keep-invalid-dates wrote %d lines, want a header and all 3 records:\n%s", got, stdout)
	}
}

// TestLinkageUnreadableFile checks that each subcommand names a file that
// is missing, or is a directory, after one "read records" prefix.
func TestLinkageUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.csv")
	_, openErr := os.Open(missing)
	if openErr == nil {
		t.Fatalf("open %s succeeded, want it missing", missing)
	}
	holder := linkageTestdata("holder_a.csv")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"link first file missing", []string{"link", "--quiet", missing, holder}, "read records: " + openErr.Error()},
		{"link second file missing", []string{"link", "--quiet", holder, missing}, "read records: " + openErr.Error()},
		{"dedupe file missing", []string{"dedupe", "--quiet", missing}, "read records: " + openErr.Error()},
		{"eval febrl file missing", []string{"eval", "--quiet", "--febrl", missing}, "read records: " + openErr.Error()},
		{"eval splink file missing", []string{"eval", "--quiet", "--splink", missing}, "read records: " + openErr.Error()},
		{"link directory", []string{"link", "--quiet", dir, holder}, "read records: " + dir + " is a directory: want a CSV file"},
		{"dedupe directory", []string{"dedupe", "--quiet", dir}, "read records: " + dir + " is a directory: want a CSV file"},
		{"eval directory", []string{"eval", "--quiet", "--febrl", dir}, "read records: " + dir + " is a directory: want a CSV file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runLinkageForTest(t, tt.args...)
			if err == nil {
				t.Fatalf("runLinkage(%v) succeeded, want the error %q", tt.args, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}
