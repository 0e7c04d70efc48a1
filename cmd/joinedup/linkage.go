package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/joinedup/joinedup/linkage"
)

const linkageUsage = `Usage:
  joinedup linkage link [flags] A.csv B.csv
        find the record in A.csv that matches each record of B.csv and
        write the pairs as CSV: a_id, b_id, decision, weight, probability
  joinedup linkage dedupe [flags] A.csv
        find the records of A.csv that are the same person and write the
        clusters as CSV: cluster_id, record_id (every record, a cluster id
        being the id of its first record); --pairs also writes the pairs
  joinedup linkage eval --febrl FILE [FILE_B] | --splink FILE
        estimate a model without the truth, then score it against the
        truth: pairwise and B-cubed precision, recall and F1

A CSV file has a header line naming its columns: id, given_name,
family_name, date_of_birth (YYYY-MM-DD), sex, address_1 to address_4,
town, postcode, nino, nhs_number, uprn, email. FEBRL and Splink files are
recognised by their own headers.

Unless --model is given, link and dedupe estimate the model's parameters
from the files themselves by expectation maximisation.
`

// runLinkage runs "joinedup linkage link|dedupe|eval".
func runLinkage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, linkageUsage)
		return errors.New("linkage: no subcommand given: want link, dedupe or eval")
	}
	switch args[0] {
	case "link":
		return runLinkageLink(ctx, args[1:], stdout, stderr)
	case "dedupe":
		return runLinkageDedupe(ctx, args[1:], stdout, stderr)
	case "eval":
		return runLinkageEval(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, linkageUsage)
		return nil
	}
	return unknownCommand("joinedup linkage", "subcommand", args[0])
}

// linkageFlags are the flags that link and dedupe share.
type linkageFlags struct {
	out, modelPath, saveModel       string
	skipInvalid, keepInvalid, quiet bool
}

func (f *linkageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "out", "", "write the CSV output to this file instead of standard output")
	fs.StringVar(&f.modelPath, "model", "", "read the model from this JSON file instead of estimating it from the input")
	fs.StringVar(&f.saveModel, "save-model", "", "write the model used to this JSON file")
	fs.BoolVar(&f.skipInvalid, "skip-invalid", false, "skip malformed lines, lines with a wrong column count and lines with an invalid date, reporting each, instead of failing")
	fs.BoolVar(&f.keepInvalid, "keep-invalid-dates", false, "keep dates of birth that do not exist, such as 1990-02-30, as held, for the comparators, instead of treating them as invalid")
	fs.BoolVar(&f.quiet, "quiet", false, "do not report progress on standard error")
}

// linkageFlagsUsage is the usage that -h prints before the flags of a
// linkage subcommand.
const linkageFlagsUsage = linkageUsage + "\nFlags:\n"

func newLinkageFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet("joinedup linkage "+name, flag.ContinueOnError)
}

func runLinkageLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f linkageFlags
	fs := newLinkageFlagSet("link")
	f.register(fs)
	files, err := parseInterspersed(fs, args, linkageFlagsUsage, stderr)
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return fmt.Errorf("linkage link: want two CSV files, got %s: run joinedup linkage link -h for its usage", argumentCount(len(files)))
	}

	a, err := f.readRecords(files[0], stderr)
	if err != nil {
		return err
	}
	b, err := f.readRecords(files[1], stderr)
	if err != nil {
		return err
	}
	model, err := f.model(ctx, a.Records, b.Records, stderr)
	if err != nil {
		return err
	}
	pairs, err := linkage.Link(ctx, model, a.Records, b.Records, f.progress("linked", stderr))
	if err != nil {
		return fmt.Errorf("link records: %w", err)
	}
	return f.writeCSV(stdout, func(w *csv.Writer) error {
		return writePairs(w, pairs)
	})
}

func runLinkageDedupe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f linkageFlags
	fs := newLinkageFlagSet("dedupe")
	f.register(fs)
	pairsPath := fs.String("pairs", "", "also write the pairs decided match or possible to this CSV file")
	files, err := parseInterspersed(fs, args, linkageFlagsUsage, stderr)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("linkage dedupe: want one CSV file, got %s: run joinedup linkage dedupe -h for its usage", argumentCount(len(files)))
	}

	d, err := f.readRecords(files[0], stderr)
	if err != nil {
		return err
	}
	model, err := f.model(ctx, d.Records, nil, stderr)
	if err != nil {
		return err
	}
	pairs, clusters, err := linkage.Dedupe(ctx, model, d.Records, f.progress("compared", stderr))
	if err != nil {
		return fmt.Errorf("deduplicate records: %w", err)
	}

	if *pairsPath != "" {
		pf := linkageFlags{out: *pairsPath}
		if err := pf.writeCSV(nil, func(w *csv.Writer) error { return writePairs(w, pairs) }); err != nil {
			return err
		}
	}
	return f.writeCSV(stdout, func(w *csv.Writer) error {
		if err := w.Write([]string{"cluster_id", "record_id"}); err != nil {
			return err
		}
		for _, c := range clusters {
			for _, id := range c {
				if err := w.Write([]string{c[0], id}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func runLinkageEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newLinkageFlagSet("eval")
	febrl := fs.String("febrl", "", "FEBRL file to deduplicate; with a second file as an argument, the two files to link")
	splink := fs.String("splink", "", "Splink file (truth in the cluster column) to deduplicate")
	saveModel := fs.String("save-model", "", "write the estimated model to this JSON file")
	quiet := fs.Bool("quiet", false, "do not report progress on standard error")
	rest, err := parseInterspersed(fs, args, linkageFlagsUsage, stderr)
	if err != nil {
		return err
	}
	var paths []string
	switch {
	case *febrl != "" && *splink != "":
		return errors.New("linkage eval: give --febrl or --splink, not both")
	case *febrl != "" && len(rest) <= 1:
		paths = append([]string{*febrl}, rest...)
	case *splink != "" && len(rest) == 0:
		paths = []string{*splink}
	default:
		return errors.New("linkage eval: want --febrl FILE [FILE_B] or --splink FILE: run joinedup linkage eval -h for its usage")
	}

	var sets []*linkage.Dataset
	for _, p := range paths {
		// The evaluation files contain impossible dates on purpose, so
		// they are kept for the comparators rather than rejected.
		d, err := linkage.ReadCSVFile(p, linkage.ReadOptions{AllowInvalidDates: true})
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		if len(d.Clusters) == 0 {
			return fmt.Errorf("linkage eval: %s has no truth: want FEBRL ids or a cluster column", p)
		}
		sets = append(sets, d)
	}
	f := linkageFlags{quiet: *quiet}
	var e *linkage.Evaluation
	allPairs := 0
	names, mode := sets[0].Name, "dedupe"
	if len(sets) == 2 {
		e, err = linkage.EvaluateLink(ctx, sets[0], sets[1], f.progress("linked", stderr))
		allPairs = len(sets[0].Records) * len(sets[1].Records)
		names, mode = sets[0].Name+" + "+sets[1].Name, "link"
	} else {
		e, err = linkage.EvaluateDedupe(ctx, sets[0], f.progress("compared", stderr))
		n := len(sets[0].Records)
		allPairs = n * (n - 1) / 2
	}
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	fmt.Fprintf(stdout, "data: %s (%s, %d records)\n", names, mode, e.Records)
	if *saveModel != "" {
		if err := writeModel(*saveModel, e.Model); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "model: prior=%.3g match_weight=%g possible_weight=%g\n", e.Model.Prior, e.Model.MatchWeight, e.Model.PossibleWeight)
	fmt.Fprintf(stdout, "blocking: %d candidate pairs (%.4f%% of %d), %d of %d true pairs compared (%.2f%%)\n",
		e.CandidatePairs, 100*float64(e.CandidatePairs)/float64(max(allPairs, 1)), allPairs,
		e.TruePairsCompared, e.TruePairs, 100*float64(e.TruePairsCompared)/float64(max(e.TruePairs, 1)))
	fmt.Fprintf(stdout, "b-cubed: precision=%.4f recall=%.4f f1=%.4f\n", e.BCubedPrecision, e.BCubedRecall, e.BCubedF1)
	fmt.Fprintf(stdout, "pairwise: true=%d predicted=%d correct=%d\n", e.TruePairs, e.PredictedPairs, e.CorrectPairs)
	fmt.Fprintf(stdout, "precision=%.4f recall=%.4f f1=%.4f\n", e.Precision, e.Recall, e.F1)
	return nil
}

// readRecords reads a CSV file, reporting each skipped line on stderr
// when --skip-invalid is set.
func (f *linkageFlags) readRecords(path string, stderr io.Writer) (*linkage.Dataset, error) {
	d, err := linkage.ReadCSVFile(path, linkage.ReadOptions{
		SkipInvalid:       f.skipInvalid,
		AllowInvalidDates: f.keepInvalid,
		Skipped: func(err *linkage.LineError) {
			fmt.Fprintf(stderr, "skipped %v\n", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return d, nil
}

// model reads the model from --model, or estimates it from the records.
func (f *linkageFlags) model(ctx context.Context, a, b []linkage.Record, stderr io.Writer) (*linkage.Model, error) {
	var m *linkage.Model
	if f.modelPath != "" {
		data, err := os.ReadFile(f.modelPath)
		if err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
		m = new(linkage.Model)
		if err := json.Unmarshal(data, m); err != nil {
			return nil, fmt.Errorf("read model %s: %w", f.modelPath, err)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("read model %s: %w", f.modelPath, err)
		}
	} else {
		var err error
		m, err = linkage.Estimate(ctx, nil, a, b, linkage.EstimateOptions{Progress: f.progress("estimated from", stderr)})
		switch {
		case errors.Is(err, linkage.ErrTooFewRecords):
			fmt.Fprintf(stderr, "using the default model: %v\n", err)
			m = linkage.DefaultModel()
		case err != nil:
			return nil, fmt.Errorf("estimate model: %w", err)
		}
	}
	if f.saveModel != "" {
		if err := writeModel(f.saveModel, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func writeModel(path string, m *linkage.Model) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

func (f *linkageFlags) progress(verb string, stderr io.Writer) linkage.Progress {
	if f.quiet {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(stderr, "%s %d of %d records\n", verb, done, total)
	}
}

// writeCSV writes CSV with fn to --out, or to stdout when --out is empty.
func (f *linkageFlags) writeCSV(stdout io.Writer, fn func(w *csv.Writer) error) (err error) {
	out := stdout
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer func() {
			if cerr := file.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close output: %w", cerr)
			}
		}()
		out = file
	}
	w := csv.NewWriter(out)
	if err := fn(w); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func writePairs(w *csv.Writer, pairs []linkage.Pair) error {
	if err := w.Write([]string{"a_id", "b_id", "decision", "weight", "probability"}); err != nil {
		return err
	}
	for _, p := range pairs {
		row := []string{p.A, p.B, string(p.Decision), strconv.FormatFloat(p.Weight, 'f', 2, 64), strconv.FormatFloat(p.Probability, 'f', 6, 64)}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// argumentCount returns "1 argument" or "n arguments".
func argumentCount(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}
