package joinedup

import "testing"

// TestMixesAlphabets checks that a word with a Cyrillic or Greek letter
// among Latin ones is found, and that words wholly in one alphabet are not.
func TestMixesAlphabets(t *testing.T) {
	for _, s := range []string{"Child Benefit", "Siân’s clinic", "Пошта", "Ελληνικό σχολείο", "Child Benefit / Пособие", "Café-Bar", "O’Neill", "児童手当て"} {
		if MixesAlphabets(s) {
			t.Errorf("MixesAlphabets(%q) = true, want false", s)
		}
	}
	for _, s := range []string{"Child B\u0435nefit", "\u0421hild Benefit", "Child \u0392enefit", "Nurs\u0435\u0308ry",
		"C\u0585\u0585p", "\u0421\u03bf\u03bf\u0440", "Tax \u13aaudit"} {
		if !MixesAlphabets(s) {
			t.Errorf("MixesAlphabets(%q) = false, want true", s)
		}
	}
}
