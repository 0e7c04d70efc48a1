package audit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
)

func TestEntryValidate(t *testing.T) {
	valid := Entry{Actor: "staff-1", Action: ActionAccess, Subject: "person-1", Purpose: "care"}
	cases := []struct {
		name   string
		change func(e *Entry)
		fields []string // fields named in the error, none when valid
	}{
		{"valid", func(e *Entry) {}, nil},
		{"custom action", func(e *Entry) { e.Action = "record.exported" }, nil},
		{"no subject for a policy change", func(e *Entry) { e.Action, e.Subject = ActionPolicyChanged, "" }, nil},
		{"missing actor", func(e *Entry) { e.Actor = "" }, []string{"/0/actor"}},
		{"missing action", func(e *Entry) { e.Action = "" }, []string{"/0/action"}},
		{"action in capitals", func(e *Entry) { e.Action = "Access" }, []string{"/0/action"}},
		{"action with space", func(e *Entry) { e.Action = "consent given" }, []string{"/0/action"}},
		{"subject with newline", func(e *Entry) { e.Subject = "person-1\nperson-2" }, []string{"/0/subject"}},
		{"actor not UTF-8", func(e *Entry) { e.Actor = "staff-\xff" }, []string{"/0/actor"}},
		{"purpose too long", func(e *Entry) { e.Purpose = strings.Repeat("p", MaxFieldLength+1) }, []string{"/0/purpose"}},
		{"too many reasons", func(e *Entry) { e.Reasons = make([]string, MaxReasons+1) }, []string{"/0/reasons"}},
		{"reason not UTF-8", func(e *Entry) { e.Reasons = []string{"ok", "\xff"} }, []string{"/0/reasons/1"}},
		{"detail an array", func(e *Entry) { e.Detail = json.RawMessage(`[1]`) }, []string{"/0/detail"}},
		{"detail null", func(e *Entry) { e.Detail = json.RawMessage(`null`) }, []string{"/0/detail"}},
		{"detail two objects", func(e *Entry) { e.Detail = json.RawMessage(`{} {}`) }, []string{"/0/detail"}},
		{"detail too large", func(e *Entry) {
			e.Detail = json.RawMessage(`{"a":"` + strings.Repeat("x", MaxDetailSize) + `"}`)
		}, []string{"/0/detail"}},
		{"two bad fields", func(e *Entry) { e.Actor, e.Action = "", "" }, []string{"/0/actor", "/0/action"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := valid
			tc.change(&e)
			_, err := e.validate(0)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("validate = %v, want nil", err)
				}
				return
			}
			if code := joinedup.ErrorCode(err); code != joinedup.EINVALID {
				t.Fatalf("validate = %v (code %q), want an %s error", err, code, joinedup.EINVALID)
			}
			var got []string
			for _, f := range joinedup.ErrorFields(err) {
				got = append(got, f.Field)
			}
			for _, want := range tc.fields {
				if !strings.Contains(strings.Join(got, " "), want) {
					t.Errorf("fields in error = %v, want %s among them", got, want)
				}
			}
		})
	}
}

func TestCanonicalDetail(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", ``, `{}`},
		{"white space only", " \n", `{}`},
		{"keys sorted", `{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{"nested keys sorted", `{"z":{"y":1,"x":[{"d":1,"c":2}]}}`, `{"z":{"x":[{"c":2,"d":1}],"y":1}}`},
		{"numbers as written", `{"a":1.50,"b":1e3,"c":-0,"d":12345678901234567890}`, `{"a":1.50,"b":1e3,"c":-0,"d":12345678901234567890}`},
		{"white space removed", "{ \"a\" : [ 1 , 2 ] }", `{"a":[1,2]}`},
		{"HTML characters kept", `{"a":"<b> & </b>"}`, `{"a":"<b> & </b>"}`},
		{"escapes normalised", `{"a":"\u00e9\/"}`, `{"a":"é/"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canonicalDetail([]byte(tc.in))
			if err != nil {
				t.Fatalf("canonicalDetail(%q): %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Errorf("canonicalDetail(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestEncodeLeafUnknownVersion(t *testing.T) {
	if _, err := EncodeLeaf(2, Entry{Actor: "a", Action: "access"}); err == nil {
		t.Errorf("EncodeLeaf version 2 = nil error, want an error")
	}
}
