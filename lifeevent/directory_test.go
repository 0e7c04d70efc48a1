package lifeevent

import "testing"

// TestPlainText checks that a service's text takes letters, digits,
// punctuation and spaces, and rejects each kind of character that shows
// nothing of its own or could make one name read like another.
func TestPlainText(t *testing.T) {
	for _, s := range []string{"Child Benefit", "Riverside Primary School: pupil planning", "Siân’s clinic", "Ysgol Gymraeg (Cymraeg)"} {
		if !plainText(s) {
			t.Errorf("plainText(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"Child Benefit\u0007", "Child Benefit\u200b", "Bin \u202ecollections", "Child Benefit \U0001F476",
		"Child Benefit\ufe0f", "Child Benefit\ufe00", "Child\u3164Benefit", "Child\u115fBenefit", "Half\uffa0width",
		"Private\ue000Use", "Unassigned\u0378x", "Line\u2028Sep",
	} {
		if plainText(s) {
			t.Errorf("plainText(%q) = true, want false", s)
		}
	}
}

// TestMixesAlphabets checks that a word with a Cyrillic or Greek letter
// among Latin ones is found, and that words wholly in one alphabet are not.
func TestMixesAlphabets(t *testing.T) {
	for _, s := range []string{"Child Benefit", "Siân’s clinic", "Пошта", "Ελληνικό σχολείο", "Child Benefit / Пособие", "Café-Bar", "O’Neill", "児童手当て"} {
		if mixesAlphabets(s) {
			t.Errorf("mixesAlphabets(%q) = true, want false", s)
		}
	}
	for _, s := range []string{"Child B\u0435nefit", "\u0421hild Benefit", "Child \u0392enefit", "Nurs\u0435\u0308ry",
		"C\u0585\u0585p", "\u0421\u03bf\u03bf\u0440", "Tax \u13aaudit"} {
		if !mixesAlphabets(s) {
			t.Errorf("mixesAlphabets(%q) = false, want true", s)
		}
	}
}
