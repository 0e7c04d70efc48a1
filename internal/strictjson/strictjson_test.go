package strictjson

import (
	"encoding/json"
	"testing"
)

func TestFindRepeatedName(t *testing.T) {
	tests := []struct {
		name, data  string
		wantPointer string
		wantOffset  int64
		wantFound   bool
	}{
		{"none", `{"a": 1, "b": {"a": 2}}`, "", 0, false},
		{"top level", `{"a": 1, "a": 2}`, "/a", 9, true},
		{"in an array", `[{}, {"x": [1, {"y": 1,"y": 2}]}]`, "/1/x/1/y", 23, true},
		{"escaped in the pointer", `{"a/b~": 1, "a/b~": 2}`, "/a~1b~0", 12, true},
		{"same name in sibling objects", `[{"a": 1}, {"a": 2}]`, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := FindRepeatedName([]byte(tt.data))
			if found != tt.wantFound {
				t.Fatalf("found = %v, want %v", found, tt.wantFound)
			}
			if got.Pointer != tt.wantPointer {
				t.Errorf("pointer = %q, want %q", got.Pointer, tt.wantPointer)
			}
			if got.Offset != tt.wantOffset {
				t.Errorf("offset = %d, want %d", got.Offset, tt.wantOffset)
			}
		})
	}
}

// TestFindRepeatedFoldedName checks that names which encoding/json would
// match to one struct field count as repeated, and that names the exact
// search finds are still found.
func TestFindRepeatedFoldedName(t *testing.T) {
	tests := []struct {
		name, data       string
		wantName, wantOf string
		wantFound        bool
	}{
		{"none", `{"fields": 1, "field": 2}`, "", "", false},
		{"same name", `{"fields": 1, "fields": 2}`, "fields", "fields", true},
		{"other case", `{"fields": 1, "Fields": 2}`, "Fields", "fields", true},
		{"Kelvin sign", `{"kind": 1, "\u212aind": 2}`, "\u212aind", "kind", true},
		{"long s", `{"status": 1, "\u017ftatus": 2}`, "\u017ftatus", "status", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := FindRepeatedFoldedName([]byte(tt.data))
			if found != tt.wantFound {
				t.Fatalf("found = %v, want %v", found, tt.wantFound)
			}
			var wantName, wantOf string
			json.Unmarshal([]byte(`"`+tt.wantName+`"`), &wantName)
			json.Unmarshal([]byte(`"`+tt.wantOf+`"`), &wantOf)
			if got.Name != wantName || got.First != wantOf {
				t.Errorf("repeated %q of %q, want %q of %q", got.Name, got.First, wantName, wantOf)
			}
		})
	}
}

func TestByteOrderMark(t *testing.T) {
	if offset, found := ByteOrderMark([]byte(" \n\uFEFF{}")); !found || offset != 2 {
		t.Errorf("after whitespace: offset %d, found %v, want 2, true", offset, found)
	}
	if _, found := ByteOrderMark([]byte(`{"a": "\uFEFF"}`)); found {
		t.Error("inside a string: found, want not found")
	}
}

func TestInvalidUTF8(t *testing.T) {
	if offset, found := InvalidUTF8([]byte("é\xffa")); !found || offset != 2 {
		t.Errorf("offset %d, found %v, want 2, true", offset, found)
	}
	if _, found := InvalidUTF8([]byte("é")); found {
		t.Error("valid text: found, want not found")
	}
}
