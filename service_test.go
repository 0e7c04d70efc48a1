package joinedup

import "testing"

// TestServiceNameKey checks that names which read the same on the birth
// form have one key, and that different names keep different keys.
func TestServiceNameKey(t *testing.T) {
	same := []string{
		"Child Benefit", " child benefit ", "CHILD BENEFIT", "Child  Benefit",
		"Child\u00a0Benefit", "\uff23hild Benefit", "Child\tBenefit",
	}
	want := ServiceNameKey(same[0])
	for _, name := range same[1:] {
		if got := ServiceNameKey(name); got != want {
			t.Errorf("ServiceNameKey(%q) = %q, want %q as for %q", name, got, want, same[0])
		}
	}
	if ServiceNameKey("Child Benefit") == ServiceNameKey("ChildBenefit") {
		t.Errorf("ServiceNameKey gives one key to names that differ by a space")
	}
}
