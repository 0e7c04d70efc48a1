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
		// A Cyrillic "ё", which decomposes to "е" and a diaeresis, is
		// tested below against the Latin "ë".
	}
	want := ServiceNameKey(same[0])
	for _, name := range same[1:] {
		if got := ServiceNameKey(name); got != want {
			t.Errorf("ServiceNameKey(%q) = %q, want %q as for %q", name, got, want, same[0])
		}
	}
	if ServiceNameKey("Nurs\u0451ry") != ServiceNameKey("Nursëry") {
		t.Errorf("ServiceNameKey gives a Cyrillic \"ё\" a key other than the Latin \"ë\"'s")
	}
	// A Cyrillic small "в" does not look like "b", so it stays a letter of
	// its own.
	if ServiceNameKey("Child \u0432enefit") == want {
		t.Errorf("ServiceNameKey gives a Cyrillic small \"в\" the key of a Latin \"b\"")
	}
	// A name wholly in Cyrillic letters that look Latin passes the check
	// for mixed alphabets, so only its key tells it apart.
	if ServiceNameKey("\u0421\u041e\u0420") != ServiceNameKey("COP") {
		t.Errorf("ServiceNameKey gives the Cyrillic \"СОР\" a key other than the Latin \"COP\"'s")
	}
	if ServiceNameKey("Child Benefit") == ServiceNameKey("ChildBenefit") {
		t.Errorf("ServiceNameKey gives one key to names that differ by a space")
	}
}
