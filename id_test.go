package joinedup

import "testing"

func TestNormalizeReferenceAsTyped(t *testing.T) {
	for typed, want := range map[string]string{
		"JU-7K3M-9QXD":                 "JU-7K3M-9QXD",
		" ju-7k3m-9qxd ":               "JU-7K3M-9QXD",
		"ju-7k3m 9qxd":                 "JU-7K3M-9QXD",
		"ju 7k3m 9qxd":                 "JU-7K3M-9QXD",
		"JU7K3M9QXD":                   "JU-7K3M-9QXD",
		"ju-7k3m--9qxd":                "JU-7K3M-9QXD",
		"JU-OK3M-9QXI":                 "JU-0K3M-9QX1",
		"JU-7K3M-9QXL":                 "JU-7K3M-9QX1",
		"ju-7k3m-9qx":                  "JU-7K3M-9QX",
		"my reference":                 "MYREFERENCE",
		"":                             "",
		"JU-7K3M-9QXD-EXT":             "JU-7K3M-9QXD-EXT",
		"JU\u20107K3M\u20109QXD":       "JU-7K3M-9QXD", // hyphen
		"JU\u20117K3M\u20119QXD":       "JU-7K3M-9QXD", // non-breaking hyphen
		"JU\u20127K3M\u20129QXD":       "JU-7K3M-9QXD", // figure dash
		"JU\u20137K3M\u20139QXD":       "JU-7K3M-9QXD", // en dash
		"ju \u2014 7k3m \u2014 9qxd":   "JU-7K3M-9QXD", // em dash between spaces
		"JU\u20157K3M\u20159QXD":       "JU-7K3M-9QXD", // horizontal bar
		"JU\u22127K3M\u22129QXD":       "JU-7K3M-9QXD", // minus sign
		"JU\u20137K3M\u2013\u20139QXD": "JU-7K3M-9QXD",
		"JU\u20137K3M\u20139QX":        "JU-7K3M-9QX",
		"ＪＵ-７Ｋ３Ｍ-９ＱＸＤ":                 "JU-7K3M-9QXD", // fullwidth
	} {
		if got := NormalizeReference(typed); got != want {
			t.Errorf("NormalizeReference(%q) = %q, want %q", typed, got, want)
		}
	}
	if ref := NewReference(); NormalizeReference(ref) != ref {
		t.Errorf("NormalizeReference changes a new reference %q to %q", ref, NormalizeReference(ref))
	}
}

func TestIsReference(t *testing.T) {
	for s, want := range map[string]bool{
		"JU-7K3M-9QXD":     true,
		"JU-0000-ZZZZ":     true,
		"ju-7k3m-9qxd":     false, // not normalised
		"JU-7K3M-9QXU":     false, // U is not in Crockford base32
		"JU-7K3M-9QX":      false,
		"JU-7K3M-9QXD-EXT": false,
		"JU-7K3M9-QXD":     false,
		"XX-7K3M-9QXD":     false,
		"<SCRIPT>":         false,
		"":                 false,
	} {
		if got := IsReference(s); got != want {
			t.Errorf("IsReference(%q) = %v, want %v", s, got, want)
		}
	}
	if ref := NewReference(); !IsReference(ref) {
		t.Errorf("IsReference(%q) = false for a new reference", ref)
	}
}
