package linkage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// testdata returns the path of a file under $JOINEDUP_TESTDATA/linkage,
// which defaults to ../shared/data beside the repository, and skips the
// test when the file is absent.
func testdata(tb testing.TB, parts ...string) string {
	tb.Helper()
	dir := os.Getenv("JOINEDUP_TESTDATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	path := filepath.Join(append([]string{dir, "linkage"}, parts...)...)
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("skipping: test data %s is absent; set JOINEDUP_TESTDATA to the folder that holds linkage/febrl and linkage/splink", path)
	}
	return path
}

func readTestdata(tb testing.TB, parts ...string) *Dataset {
	tb.Helper()
	ds, err := ReadCSVFile(testdata(tb, parts...), ReadOptions{AllowInvalidDates: true})
	if err != nil {
		tb.Fatalf("read test data: %v", err)
	}
	return ds
}

func logEvaluation(t *testing.T, e *Evaluation) {
	t.Helper()
	t.Logf("records=%d true_pairs=%d predicted=%d correct=%d", e.Records, e.TruePairs, e.PredictedPairs, e.CorrectPairs)
	t.Logf("pairwise precision=%.4f recall=%.4f f1=%.4f; b-cubed f1=%.4f", e.Precision, e.Recall, e.F1, e.BCubedF1)
	t.Logf("blocking: %d candidate pairs, %d of %d true pairs compared", e.CandidatePairs, e.TruePairsCompared, e.TruePairs)
	t.Logf("estimated prior %.3g", e.Model.Prior)
}

func TestEvaluateFEBRL4Link(t *testing.T) {
	a := readTestdata(t, "febrl", "dataset4a.csv")
	b := readTestdata(t, "febrl", "dataset4b.csv")
	e, err := EvaluateLink(context.Background(), a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	logEvaluation(t, e)
	if e.Precision < 0.99 {
		t.Errorf("precision = %.4f, want at least 0.99", e.Precision)
	}
	if e.Recall < 0.99 {
		t.Errorf("recall = %.4f, want at least 0.99", e.Recall)
	}
	if e.F1 < 0.99 {
		t.Errorf("F1 = %.4f, want at least 0.99", e.F1)
	}
	allPairs := len(a.Records) * len(b.Records)
	if got := float64(e.TruePairsCompared) / float64(e.TruePairs); got < 0.995 {
		t.Errorf("blocking kept %.4f of true pairs, want at least 0.995", got)
	}
	if got := float64(e.CandidatePairs) / float64(allPairs); got > 0.001 {
		t.Errorf("blocking compared %.5f of all pairs (%d), want at most 0.001", got, e.CandidatePairs)
	}
}

func TestEvaluateFEBRL3Dedupe(t *testing.T) {
	d := readTestdata(t, "febrl", "dataset3.csv")
	e, err := EvaluateDedupe(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	logEvaluation(t, e)
	if e.F1 < 0.97 {
		t.Errorf("F1 = %.4f, want at least 0.97", e.F1)
	}
}

func TestEvaluateSplinkFake1000(t *testing.T) {
	d := readTestdata(t, "splink", "fake_1000.csv")
	e, err := EvaluateDedupe(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	logEvaluation(t, e)
	// The records are heavily corrupted and most missed pairs are left as
	// "possible", so this guards against a fall rather than setting a goal.
	if e.Precision < 0.99 {
		t.Errorf("precision = %.4f, want at least 0.99", e.Precision)
	}
	if e.F1 < 0.85 {
		t.Errorf("F1 = %.4f, want at least 0.85", e.F1)
	}
}

// TestEvaluateWithoutTruth checks the error for records without their
// true person, which leaves the "evaluate" prefix to the caller.
func TestEvaluateWithoutTruth(t *testing.T) {
	a := &Dataset{Name: "a.csv", Records: []Record{{ID: "a-1"}}}
	b := &Dataset{Name: "b.csv", Records: []Record{{ID: "b-1"}}, Clusters: []string{"1"}}

	_, err := EvaluateLink(context.Background(), a, b, nil)
	if want := "a.csv and b.csv must give the true person of every record"; err == nil || err.Error() != want {
		t.Errorf("EvaluateLink error = %v, want %q", err, want)
	}

	_, err = EvaluateDedupe(context.Background(), a, nil)
	if want := "a.csv must give the true person of every record"; err == nil || err.Error() != want {
		t.Errorf("EvaluateDedupe error = %v, want %q", err, want)
	}
}
