package joinedup

import "testing"

func TestNormalizeReferenceAsTyped(t *testing.T) {
	for typed, want := range map[string]string{
		"JU-7K3M-9QXD":     "JU-7K3M-9QXD",
		" ju-7k3m-9qxd ":   "JU-7K3M-9QXD",
		"ju-7k3m 9qxd":     "JU-7K3M-9QXD",
		"ju 7k3m 9qxd":     "JU-7K3M-9QXD",
		"JU7K3M9QXD":       "JU-7K3M-9QXD",
		"ju-7k3m--9qxd":    "JU-7K3M-9QXD",
		"JU-OK3M-9QXI":     "JU-0K3M-9QX1",
		"JU-7K3M-9QXL":     "JU-7K3M-9QX1",
		"ju-7k3m-9qx":      "JU-7K3M-9QX",
		"my reference":     "MYREFERENCE",
		"":                 "",
		"JU-7K3M-9QXD-EXT": "JU-7K3M-9QXD-EXT",
	} {
		if got := NormalizeReference(typed); got != want {
			t.Errorf("NormalizeReference(%q) = %q, want %q", typed, got, want)
		}
	}
	if ref := NewReference(); NormalizeReference(ref) != ref {
		t.Errorf("NormalizeReference changes a new reference %q to %q", ref, NormalizeReference(ref))
	}
}
