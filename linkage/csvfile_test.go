package linkage

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadCSVLayouts(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Record
		cluster string
	}{
		{"febrl",
			"rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n" +
				"rec-12-dup-1, mitchell, green, 7, wallaby place, delmar, cleveland, 2119, sa, 19560230, 1804974\n",
			Record{ID: "rec-12-dup-1", GivenName: "mitchell", FamilyName: "green", DateOfBirth: "1956-02-30",
				AddressLines: []string{"7 wallaby place", "delmar"}, Town: "cleveland", Postcode: "2119", NINO: "1804974"},
			"12"},
		{"splink",
			"unique_id,first_name,surname,dob,city,email,cluster\n3,Julia ,Taylor,2015-10-29,London,julia@example.test,0\n",
			Record{ID: "3", GivenName: "Julia", FamilyName: "Taylor", DateOfBirth: "2015-10-29", Town: "London", Email: "julia@example.test"},
			"0"},
		{"joinedup",
			"id,family_name,given_name,address_1,address_2,postcode,nhs_number,cluster\nx-1,Hughes,Joanna,7 Beck Lane,,BD16 4DD,9434765919,p1\n",
			Record{ID: "x-1", GivenName: "Joanna", FamilyName: "Hughes", AddressLines: []string{"7 Beck Lane"}, Postcode: "BD16 4DD", NHSNumber: "9434765919"},
			"p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := ReadCSV("in.csv", strings.NewReader(tt.input), ReadOptions{AllowInvalidDates: true})
			if err != nil {
				t.Fatalf("ReadCSV: %v", err)
			}
			if len(ds.Records) != 1 {
				t.Fatalf("ReadCSV returned %d records, want 1", len(ds.Records))
			}
			if diff := cmp.Diff(tt.want, ds.Records[0]); diff != "" {
				t.Errorf("record mismatch (-want +got):\n%s", diff)
			}
			if len(ds.Clusters) != 1 || ds.Clusters[0] != tt.cluster {
				t.Errorf("clusters = %q, want [%s]", ds.Clusters, tt.cluster)
			}
		})
	}
}

func TestReadCSVFaults(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string
		skipped []string // the lines reported with SkipInvalid
		kept    int
	}{
		{"bad_columns.csv", "bad_columns.csv:3: wrong number of columns", []string{"bad_columns.csv:3"}, 2},
		{"bad_date.csv", `bad_date.csv:3: invalid date of birth "1912-02-30"`, []string{"bad_date.csv:3"}, 2},
		{"malformed.csv", "malformed.csv:3: malformed CSV", []string{"malformed.csv:3", "malformed.csv:5: malformed CSV up to line 6"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			ds, err := ReadCSVFile(path, ReadOptions{})
			var le *LineError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadCSVFile = %v, want a *LineError containing %q", err, tt.wantErr)
			}
			if ds != nil {
				t.Errorf("ReadCSVFile returned %d records with the error, want none", len(ds.Records))
			}

			var skipped []string
			ds, err = ReadCSVFile(path, ReadOptions{SkipInvalid: true, Skipped: func(e *LineError) { skipped = append(skipped, e.Error()) }})
			if err != nil {
				t.Fatalf("ReadCSVFile(SkipInvalid): %v", err)
			}
			if len(ds.Records) != tt.kept {
				t.Errorf("kept %d records, want %d", len(ds.Records), tt.kept)
			}
			if len(skipped) != len(tt.skipped) {
				t.Fatalf("skipped %q, want %d lines", skipped, len(tt.skipped))
			}
			for i, want := range tt.skipped {
				if !strings.Contains(skipped[i], want) {
					t.Errorf("skipped[%d] = %q, want it to contain %q", i, skipped[i], want)
				}
			}
		})
	}
}

func TestReadCSVHeader(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"empty file", "", "empty file"},
		{"unknown layout", "name,born\n", "unrecognised header"},
		{"unknown column", "id,given_name,shoe_size\n", `unknown column "shoe_size"`},
		{"repeated column", "id,id\n", `column "id" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCSV("in.csv", strings.NewReader(tt.input), ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), "in.csv:1: "+tt.want) {
				t.Errorf("ReadCSV = %v, want an error at in.csv:1 containing %q", err, tt.want)
			}
		})
	}
}
