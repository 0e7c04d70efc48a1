package linkage

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestJaroWinkler(t *testing.T) {
	tests := []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.9611},
		{"dwayne", "duane", 0.84},
		{"dixon", "dicksonx", 0.8133},
		{"same", "same", 1},
		{"", "", 0},
		{"abc", "", 0},
		{"abc", "xyz", 0},
		{"siobhán", "siobhan", 0.9429}, // compared by rune, not byte
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			got := jaroWinkler(tt.a, tt.b)
			if math.Abs(got-tt.want) > 0.0005 {
				t.Errorf("jaroWinkler(%q, %q) = %.4f, want %.4f", tt.a, tt.b, got, tt.want)
			}
			if back := jaroWinkler(tt.b, tt.a); math.Abs(back-got) > 1e-12 {
				t.Errorf("jaroWinkler is not symmetric: %.6f and %.6f", got, back)
			}
		})
	}
}

func TestDamerauLevenshtein(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"hughes", "hughs", 1, 1},
		{"smith", "smiht", 1, 1},
		{"ca", "abc", 5, 3}, // optimal string alignment edits no substring twice
		{"kitten", "sitting", 5, 3},
		{"kitten", "sitting", 1, 2}, // above the limit: limit+1
		{"", "abc", 5, 3},
		{"jose", "josé", 5, 1},
		{"19840327", "19840372", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := damerauLevenshtein(tt.a, tt.b, tt.limit); got != tt.want {
				t.Errorf("damerauLevenshtein(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
			}
		})
	}
}

func TestSoundex(t *testing.T) {
	tests := []struct{ in, want string }{
		{"robert", "R163"},
		{"rupert", "R163"},
		{"ashcraft", "A261"},
		{"tymczak", "T522"},
		{"pfister", "P236"},
		{"honeyman", "H555"},
		{"lee", "L000"},
	}
	for _, tt := range tests {
		got := soundex(tt.in)
		want := uint32(tt.want[0]+'a'-'A')<<24 | uint32(tt.want[1])<<16 | uint32(tt.want[2])<<8 | uint32(tt.want[3])
		if got != want {
			t.Errorf("soundex(%q) = %08x, want %s", tt.in, got, tt.want)
		}
	}
	if got := soundex("123"); got != 0 {
		t.Errorf("soundex(digits) = %08x, want 0", got)
	}
}

func TestFoldText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"O’Neill-Byrne", "oneill byrne"},
		{"O'Neill-Byrne", "oneill byrne"},
		{"  ANNE-MARIE ", "anne marie"},
		{"Siobhán", "siobhan"},
		{"Zoë  Brontë", "zoe bronte"},
		{"Straße", "strasse"},
		{"St. John", "st john"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := foldText(tt.in); got != tt.want {
			t.Errorf("foldText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCompareDate(t *testing.T) {
	tests := []struct {
		a, b string
		want string
	}{
		{"1984-03-27", "1984-03-27", "exact"},
		{"1984-03-07", "1984-07-03", "day_month_swapped"},
		{"1984-03-27", "1984-03-28", "one_edit"},
		{"1984-03-27", "1985-03-27", "one_edit"},
		{"1979-03-27", "1980-03-27", "one_year"},
		{"1984-03-27", "1984-04-14", "within_month"},
		{"1984-03-27", "1984-11-02", "within_year"},
		{"1984-03-27", "1991-11-02", "different"},
		{"1990-02-30", "1990-02-30", "exact"},
		{"19900230", "1990-02-30", "exact"},
		{"27/03/1984", "1984-03-27", "exact"},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			a, b := parseDate(tt.a), parseDate(tt.b)
			if got := fieldLevels[fDOB][compareDate(&a, &b)]; got != tt.want {
				t.Errorf("compareDate(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
	for _, missing := range []string{"", "unknown", "1984-3-27"} {
		a, b := parseDate(missing), parseDate("1984-03-27")
		if got := compareDate(&a, &b); got != null {
			t.Errorf("compareDate(%q, 1984-03-27) = %d, want null", missing, got)
		}
	}
}

func TestComparePostcode(t *testing.T) {
	tests := []struct {
		a, b string
		want string
	}{
		{"LS21 3HJ", "ls213hj", "exact"},
		{"LS21 3HJ", "LS21 3QT", "sector"},
		{"LS21 3HJ", "LS21 1AB", "district"},
		{"LS21 3HJ", "BD1 1AA", "different"},
		{"2119", "2191", "one_edit"},
		{"2119", "4560", "different"},
	}
	for _, tt := range tests {
		a, b := parsePostcode(tt.a), parsePostcode(tt.b)
		if got := fieldLevels[fPostcode][comparePostcode(&a, &b)]; got != tt.want {
			t.Errorf("comparePostcode(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParseNHSNumber(t *testing.T) {
	tests := []struct {
		in    string
		valid bool
	}{
		{"943 476 5919", true},
		{"943-476-5919", true},
		{"9434765918", false},
		{"94347659", false},
		{"", false},
	}
	for _, tt := range tests {
		if _, got := parseNHSNumber(tt.in); got != tt.valid {
			t.Errorf("parseNHSNumber(%q) valid = %v, want %v", tt.in, got, tt.valid)
		}
	}
}

// TestJaroWinklerShortAgrees checks the bit-set version against the plain
// one on random ASCII strings of every length it takes.
func TestJaroWinklerShortAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func() string {
		b := make([]byte, rng.IntN(65))
		for i := range b {
			b[i] = "abcde fghij"[rng.IntN(11)]
		}
		return string(b)
	}
	for range 20_000 {
		a, b := word(), word()
		if a == "" || b == "" || a == b {
			continue
		}
		want := jaroWinklerOf([]byte(a), []byte(b))
		if got := jaroWinklerShort(a, b); math.Abs(got-want) > 1e-12 {
			t.Fatalf("jaroWinklerShort(%q, %q) = %v, want %v", a, b, got, want)
		}
	}
}
