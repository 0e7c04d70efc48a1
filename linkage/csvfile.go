package linkage

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// A CSV file of records has a header line. ReadCSV recognises three
// layouts by their header:
//
//   - FEBRL: rec_id, given_name, surname, street_number, address_1,
//     address_2, suburb, postcode, state, date_of_birth (YYYYMMDD),
//     soc_sec_id. The record of rec-N-org and rec-N-dup-K belong to person
//     N. soc_sec_id is read as the National Insurance number field.
//   - Splink: unique_id, first_name, surname, dob, city, email, cluster.
//   - joinedup: any of the columns in csvColumns, in any order, with id
//     required and an optional cluster column holding the true person.
//
// Values are trimmed of surrounding spaces.

// Dataset is the records read from one file and, when the file gives it,
// the true person of each record (Clusters[i] belongs to Records[i]) for
// evaluation.
type Dataset struct {
	Name     string
	Records  []Record
	Clusters []string
}

// ReadOptions controls how strictly ReadCSV checks records.
type ReadOptions struct {
	// SkipInvalid skips a malformed line, a line with a wrong number of
	// columns and one with an invalid date, and calls Skipped with its
	// error, instead of failing.
	SkipInvalid bool
	Skipped     func(err *LineError)

	// AllowInvalidDates keeps dates of birth that do not exist, such as
	// 1990-02-30, as held. The FEBRL data sets contain them on purpose.
	AllowInvalidDates bool
}

// LineError is a fault in one line of a CSV file.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// csvColumns are the columns of the joinedup layout. address_1 to
// address_4 become AddressLines in order.
var csvColumns = []string{"id", "given_name", "family_name", "date_of_birth", "sex", "address_1", "address_2", "address_3", "address_4", "town", "postcode", "nino", "nhs_number", "uprn", "email", "cluster"}

// ReadCSVFile reads the file at path with ReadCSV. For a file that cannot
// be opened it returns the *fs.PathError of os.Open unwrapped, because
// that error already names the path.
func ReadCSVFile(path string, opts ReadOptions) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// os.Open opens a directory too, and only reading it fails.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a directory: want a CSV file", path)
	}
	return ReadCSV(path, f, opts)
}

// ReadCSV reads records from r, whose name is used in errors. Unless
// opts.SkipInvalid is set, the first faulty line is returned as a
// *LineError and no records at all.
func ReadCSV(name string, r io.Reader, opts ReadOptions) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &LineError{File: name, Line: 1, Err: errors.New("empty file: want a header line")}
		}
		return nil, &LineError{File: name, Line: 1, Err: err}
	}
	header = slices.Clone(header)
	for i := range header {
		header[i] = strings.ToLower(strings.TrimSpace(header[i]))
	}
	layout, err := detectLayout(header)
	if err != nil {
		return nil, &LineError{File: name, Line: 1, Err: err}
	}

	ds := &Dataset{Name: name}
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var lineErr error
		var pe *csv.ParseError
		line := 0
		switch {
		case errors.As(err, &pe):
			line = pe.StartLine
			lineErr = fmt.Errorf("malformed CSV: %w", pe.Err)
			if pe.Line > pe.StartLine {
				// An unclosed quote runs on over the lines that follow,
				// and the parser has consumed them all.
				lineErr = fmt.Errorf("malformed CSV up to line %d: %w", pe.Line, pe.Err)
			}
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", name, err)
		default:
			line, _ = cr.FieldPos(0)
		}
		if lineErr == nil && len(fields) != len(header) {
			lineErr = fmt.Errorf("wrong number of columns: got %d, want %d as in the header", len(fields), len(header))
		}
		var rec Record
		var cluster string
		if lineErr == nil {
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			rec, cluster, lineErr = layout.record(fields)
		}
		if lineErr == nil && rec.ID == "" {
			lineErr = errors.New("missing id")
		}
		if lineErr == nil && !opts.AllowInvalidDates && !validDate(rec.DateOfBirth) {
			lineErr = fmt.Errorf("invalid date of birth %q: use YYYY-MM-DD with a real day, or leave it empty", rec.DateOfBirth)
		}
		if lineErr != nil {
			le := &LineError{File: name, Line: line, Err: lineErr}
			if !opts.SkipInvalid {
				return nil, le
			}
			if opts.Skipped != nil {
				opts.Skipped(le)
			}
			continue
		}
		ds.Records = append(ds.Records, rec)
		if layout.hasCluster {
			ds.Clusters = append(ds.Clusters, cluster)
		}
	}
	return ds, nil
}

// layout maps the columns of one file to Record fields.
type layout struct {
	kind       string
	column     map[string]int
	hasCluster bool
}

func detectLayout(header []string) (*layout, error) {
	col := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("column %q appears twice in the header", h)
		}
		col[h] = i
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := col[n]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("rec_id", "given_name", "surname", "date_of_birth", "soc_sec_id"):
		return &layout{kind: "febrl", column: col, hasCluster: true}, nil
	case has("unique_id", "first_name", "surname", "dob"):
		return &layout{kind: "splink", column: col, hasCluster: has("cluster")}, nil
	case has("id"):
		for _, h := range header {
			if !slices.Contains(csvColumns, h) {
				return nil, fmt.Errorf("unknown column %q: want some of %s", h, strings.Join(csvColumns, ", "))
			}
		}
		return &layout{kind: "joinedup", column: col, hasCluster: has("cluster")}, nil
	}
	return nil, fmt.Errorf("unrecognised header: want an id column (joinedup), rec_id (FEBRL) or unique_id (Splink)")
}

func (l *layout) record(f []string) (Record, string, error) {
	get := func(name string) string {
		if i, ok := l.column[name]; ok {
			return f[i]
		}
		return ""
	}
	switch l.kind {
	case "febrl":
		r := Record{
			ID:          get("rec_id"),
			GivenName:   get("given_name"),
			FamilyName:  get("surname"),
			DateOfBirth: febrlDate(get("date_of_birth")),
			Town:        get("suburb"),
			Postcode:    get("postcode"),
			NINO:        get("soc_sec_id"),
		}
		street := strings.TrimSpace(get("street_number") + " " + get("address_1"))
		r.AddressLines = nonEmpty(street, get("address_2"))
		return r, febrlPerson(r.ID), nil
	case "splink":
		return Record{
			ID:          get("unique_id"),
			GivenName:   get("first_name"),
			FamilyName:  get("surname"),
			DateOfBirth: get("dob"),
			Town:        get("city"),
			Email:       get("email"),
		}, get("cluster"), nil
	}
	return Record{
		ID:           get("id"),
		GivenName:    get("given_name"),
		FamilyName:   get("family_name"),
		DateOfBirth:  get("date_of_birth"),
		Sex:          get("sex"),
		AddressLines: nonEmpty(get("address_1"), get("address_2"), get("address_3"), get("address_4")),
		Town:         get("town"),
		Postcode:     get("postcode"),
		NINO:         get("nino"),
		NHSNumber:    get("nhs_number"),
		UPRN:         get("uprn"),
		Email:        get("email"),
	}, get("cluster"), nil
}

// febrlDate turns YYYYMMDD into YYYY-MM-DD, digit for digit, and leaves
// anything else as it is.
func febrlDate(s string) string {
	if len(s) != 8 {
		return s
	}
	return s[:4] + "-" + s[4:6] + "-" + s[6:]
}

// febrlPerson returns N of a FEBRL id rec-N-org or rec-N-dup-K.
func febrlPerson(id string) string {
	rest, ok := strings.CutPrefix(id, "rec-")
	if !ok {
		return id
	}
	n, _, _ := strings.Cut(rest, "-")
	return n
}

func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
