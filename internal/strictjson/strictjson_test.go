package strictjson

import "testing"

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
