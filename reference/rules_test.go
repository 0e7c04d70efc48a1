package reference

import (
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

func TestReceptionIntakeAndNurseryContact(t *testing.T) {
	tests := []struct {
		name    string
		born    joinedup.Date
		intake  joinedup.Date
		nursery joinedup.Date
	}{
		{"31 August is the youngest of its year", joinedup.Date{Year: 2026, Month: time.August, Day: 31},
			joinedup.Date{Year: 2030, Month: time.September, Day: 1}, joinedup.Date{Year: 2029, Month: time.September, Day: 1}},
		{"1 September is the eldest of the next year", joinedup.Date{Year: 2026, Month: time.September, Day: 1},
			joinedup.Date{Year: 2031, Month: time.September, Day: 1}, joinedup.Date{Year: 2030, Month: time.September, Day: 1}},
		{"31 December", joinedup.Date{Year: 2026, Month: time.December, Day: 31},
			joinedup.Date{Year: 2031, Month: time.September, Day: 1}, joinedup.Date{Year: 2030, Month: time.September, Day: 1}},
		{"1 January", joinedup.Date{Year: 2027, Month: time.January, Day: 1},
			joinedup.Date{Year: 2031, Month: time.September, Day: 1}, joinedup.Date{Year: 2030, Month: time.September, Day: 1}},
		{"29 February", joinedup.Date{Year: 2028, Month: time.February, Day: 29},
			joinedup.Date{Year: 2032, Month: time.September, Day: 1}, joinedup.Date{Year: 2031, Month: time.September, Day: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := receptionIntake(tt.born); got != tt.intake {
				t.Errorf("receptionIntake(%s) = %s, want %s", tt.born, got, tt.intake)
			}
			if got := nurseryContact(tt.born); got != tt.nursery {
				t.Errorf("nurseryContact(%s) = %s, want %s", tt.born, got, tt.nursery)
			}
		})
	}
}

func TestChildBenefitRate(t *testing.T) {
	tests := []struct {
		born       joinedup.Date
		taxYear    int
		eldest     int64
		additional int64
	}{
		{joinedup.Date{Year: 2025, Month: time.April, Day: 5}, 2024, 2560, 1695},
		{joinedup.Date{Year: 2025, Month: time.April, Day: 6}, 2025, 2605, 1725},
		{joinedup.Date{Year: 2026, Month: time.April, Day: 5}, 2025, 2605, 1725},
		{joinedup.Date{Year: 2026, Month: time.April, Day: 6}, 2026, 2705, 1790},
		{joinedup.Date{Year: 2026, Month: time.December, Day: 1}, 2026, 2705, 1790},
		{joinedup.Date{Year: 2030, Month: time.June, Day: 1}, 2026, 2705, 1790},
		{joinedup.Date{Year: 2020, Month: time.June, Day: 1}, 2024, 2560, 1695},
	}
	for _, tt := range tests {
		year, eldest, additional := childBenefitRate(tt.born)
		if year != tt.taxYear || eldest != tt.eldest || additional != tt.additional {
			t.Errorf("childBenefitRate(%s) = %d, %d, %d, want %d, %d, %d",
				tt.born, year, eldest, additional, tt.taxYear, tt.eldest, tt.additional)
		}
	}
}

func TestPounds(t *testing.T) {
	for pence, want := range map[int64]string{2605: "£26.05", 0: "£0.00", 5: "£0.05", 123456: "£1234.56", -150: "-£1.50"} {
		if got := pounds(pence); got != want {
			t.Errorf("pounds(%d) = %q, want %q", pence, got, want)
		}
	}
}

func TestHouseholdAward(t *testing.T) {
	tests := []struct {
		name    string
		h       household
		hb, ctr int64
	}{
		{"income below the applicable amount gets full help",
			household{adults: 2, children: 1, income: 20_000, rent: 15_000, councilTax: 3_000}, 15_000, 3_000},
		{"excess income is tapered at 65% and 20%",
			household{adults: 1, income: 19_000, rent: 15_000, councilTax: 3_000}, 15_000 - 6_500, 3_000 - 2_000},
		{"a new child raises the applicable amount",
			household{adults: 1, children: 1, income: 19_000, rent: 15_000, councilTax: 3_000}, 15_000 - 975, 3_000 - 300},
		{"awards never go below nothing",
			household{adults: 2, income: 200_000, rent: 15_000, councilTax: 3_000}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb, ctr := tt.h.award()
			if hb != tt.hb {
				t.Errorf("Housing Benefit = %d, want %d", hb, tt.hb)
			}
			if ctr != tt.ctr {
				t.Errorf("Council Tax Reduction = %d, want %d", ctr, tt.ctr)
			}
		})
	}
}
