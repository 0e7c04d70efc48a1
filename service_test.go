package joinedup

import "testing"

// TestServiceNameKey checks that names which read the same on the birth
// form have one key, and that different names keep different keys.
func TestServiceNameKey(t *testing.T) {
	same := []string{
		"Child Benefit", " child benefit ", "CHILD BENEFIT", "Child  Benefit",
		"Child\u00a0Benefit", "\uff23hild Benefit", "Child\tBenefit",
		// A Cyrillic small "е" and capital "С", and a Greek capital "Β".
		"Child B\u0435nefit", "\u0421hild Benefit", "Child \u0392enefit",
		// A dotless "ı", accents, and an accent added as a combining
		// character after the last letter.
		"Ch\u0131ld Benefit", "Child B\u00e9n\u00e9fit", "Child Benefit\u0301",
		// A Cyrillic "ё", which decomposes to "е" and a diaeresis.
		"Child B\u0451nefit",
		// A capital I or a digit for the l, and punctuation for spaces.
		"ChiId Benefit", "Ch1ld Benefit", "Child-Benefit", "Child Benefit.", "Child / Benefit",
		// Cherokee letters that look like C, H, I, L and D.
		"\u13df\u13bb\u13c6\u13de\u13a0 Benefit",
	}
	want := ServiceNameKey(same[0])
	for _, name := range same[1:] {
		if got := ServiceNameKey(name); got != want {
			t.Errorf("ServiceNameKey(%q) = %q, want %q as for %q", name, got, want, same[0])
		}
	}
	for lookalike, latin := range map[string]string{
		"\u0421\u041e\u0420": "COP", // Cyrillic
		"\u0422\u0410\u0425 \u041e\u0492\u0492\u0406\u0421\u0415": "Tax Office", // Cyrillic, with "Ғ" for F
		"C\u0585\u0585p":     "Coop", // Armenian "օ"
		"\u13a2\u13aa\u13da": "TAS",  // Cherokee
	} {
		if ServiceNameKey(lookalike) != ServiceNameKey(latin) {
			t.Errorf("ServiceNameKey gives %q a key other than %q's", lookalike, latin)
		}
	}
	// A Cyrillic small "в" does not look like "b", so it stays a letter of
	// its own.
	if ServiceNameKey("Child \u0432enefit") == want {
		t.Errorf("ServiceNameKey gives a Cyrillic small \"в\" the key of a Latin \"b\"")
	}
	if ServiceNameKey("Children’s Services") != ServiceNameKey("Childrens Services") {
		t.Errorf("ServiceNameKey gives names that differ by an apostrophe different keys")
	}
	if ServiceNameKey("Child Benefit") == ServiceNameKey("ChildBenefit") {
		t.Errorf("ServiceNameKey gives one key to names that differ by a space")
	}
}
