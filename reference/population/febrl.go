package population

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// febrlColumns are the columns of a data set made by the Febrl record
// generator, in order.
var febrlColumns = []string{
	"rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
	"suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
}

// ReadFEBRL reads people from a CSV file in the format of the Febrl record
// generator: a header line with febrlColumns, values that may start with a
// space, and dates of birth as YYYYMMDD. Each person's ID is the rec_id
// ("rec-12-org" for an original, "rec-12-dup-0" for a corrupted copy of
// it). A date of birth that is not eight digits is read as missing. One
// that is eight digits but no real date is kept as held. The soc_sec_id
// is not a National Insurance number and is not read.
func ReadFEBRL(r io.Reader) ([]Person, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = len(febrlColumns)
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read Febrl header: %w", err)
	}
	for i, want := range febrlColumns {
		if strings.TrimSpace(header[i]) != want {
			return nil, fmt.Errorf("invalid Febrl header: column %d is %q, want %q", i+1, header[i], want)
		}
	}

	var people []Person
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return people, nil
		} else if err != nil {
			return nil, fmt.Errorf("read Febrl line %d: %w", line, err)
		}
		field := func(i int) string { return strings.TrimSpace(rec[i]) }

		p := Person{ID: field(0), Given: field(1), Family: field(2)}
		if p.ID == "" {
			return nil, fmt.Errorf("invalid Febrl line %d: rec_id is empty", line)
		}
		if street := strings.TrimSpace(field(3) + " " + field(4)); street != "" {
			p.Address.Lines = append(p.Address.Lines, street)
		}
		if field(5) != "" {
			p.Address.Lines = append(p.Address.Lines, field(5))
		}
		p.Address.Town = field(6)
		p.Address.Postcode = field(7)
		if dob := field(9); len(dob) == 8 && isDigits(dob) {
			p.DateOfBirth = dob[:4] + "-" + dob[4:6] + "-" + dob[6:]
		}
		people = append(people, p)
	}
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
