package joinedup

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestProject(t *testing.T) {
	payload := json.RawMessage(`{
		"child": {"name": {"given": "Tomás", "family": "O’Brien"}, "sex": "male", "dateOfBirth": "2026-11-20", "placeOfBirth": "St James"},
		"parents": [
			{"role": "father", "name": {"given": "Seán"}, "nationalInsuranceNumber": "QQ123456C", "address": {"lines": ["1 High St"], "postcode": "LS1 1AA"}},
			{"role": "mother", "name": {"given": "Aoife"}, "address": {"lines": ["1 High St"], "postcode": "LS1 1AA"}}
		],
		"informant": {"name": {"given": "Seán"}, "capacity": "father"},
		"consent": {"services": ["gp"]}
	}`)
	tests := []struct {
		name   string
		fields []string
		want   string
	}{
		{"whole member", []string{"child"},
			`{"child":{"dateOfBirth":"2026-11-20","name":{"family":"O’Brien","given":"Tomás"},"placeOfBirth":"St James","sex":"male"}}`},
		{"nested field", []string{"child.dateOfBirth"}, `{"child":{"dateOfBirth":"2026-11-20"}}`},
		{"field of each array element", []string{"parents.name"},
			`{"parents":[{"name":{"given":"Seán"}},{"name":{"given":"Aoife"}}]}`},
		{"optional field absent in one element", []string{"parents.nationalInsuranceNumber"},
			`{"parents":[{"nationalInsuranceNumber":"QQ123456C"},{}]}`},
		{"consent never sent", []string{"consent", "child.sex"}, `{"child":{"sex":"male"}}`},
		{"unknown field", []string{"child.eyeColour"}, `{}`},
		{"no fields", nil, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Project(payload, tt.fields)
			if err != nil {
				t.Fatalf("Project: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Project(%v)\n got %s\nwant %s", tt.fields, got, tt.want)
			}
		})
	}
}

func TestCoverParents(t *testing.T) {
	payload := json.RawMessage(`{
		"child": {"name": {"given": "Tomás", "family": "O’Brien"}},
		"parents": [
			{"role": "mother", "name": {"given": "Aoife"}},
			{"role": "father", "name": {"given": "Seán"}}
		],
		"informant": {"name": {"given": "Seán"}, "capacity": "father", "parent": 1}
	}`)
	tests := []struct {
		name     string
		onBehalf []string
		want     string
	}{
		{"informant is the second parent", []string{"/child", "/parents/1"},
			`{"child":{"name":{"family":"O’Brien","given":"Tomás"}},"informant":{"capacity":"father","name":{"given":"Seán"},"parent":0},"parents":[{"name":{"given":"Seán"},"role":"father"}]}`},
		{"informant who is not a parent", []string{"/child"},
			`{"child":{"name":{"family":"O’Brien","given":"Tomás"}},"informant":{"capacity":"father","name":{"given":"Seán"}},"parents":[]}`},
	}
	// covered decodes payload, applies cover and encodes the result.
	covered := func(t *testing.T, onBehalf []string) (string, bool) {
		t.Helper()
		var doc map[string]any
		if err := json.Unmarshal(payload, &doc); err != nil {
			t.Fatal(err)
		}
		changed := cover(doc, onBehalf)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return string(out), changed
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := covered(t, tt.onBehalf); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}

	// A consent recorded for every parent leaves the payload as it is.
	all := []string{"/child", "/parents/0", "/parents/1"}
	if got, changed := covered(t, all); changed {
		t.Errorf("cover(all parents) changed the payload to %s, want it unchanged", got)
	}
	if _, err := ProjectCovered(json.RawMessage(`[`), []string{"child"}, all); err == nil {
		t.Error("ProjectCovered(invalid JSON) returned no error")
	}
}

func TestProjectCovered(t *testing.T) {
	payload := json.RawMessage(`{"parents": [{"name": {"given": "Aoife"}}, {"name": {"given": "Seán"}}], "informant": {"parent": 1}}`)
	got, err := ProjectCovered(payload, []string{"parents.name", "informant"}, []string{"/child", "/parents/1"})
	if err != nil {
		t.Fatalf("ProjectCovered: %v", err)
	}
	if want := `{"informant":{"parent":0},"parents":[{"name":{"given":"Seán"}}]}`; string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestWithinFields(t *testing.T) {
	tests := []struct {
		fields, allowed, want []string
	}{
		{[]string{"child.name", "parents.name"}, nil, []string{"child.name", "parents.name"}},
		{[]string{"child.name", "child.dateOfBirth", "parents.address"}, []string{"child.name"}, []string{"child.name"}},
		{[]string{"child.name"}, []string{"child"}, []string{"child.name"}},
		{[]string{"child"}, []string{"child.name", "parents.name"}, []string{"child.name"}},
		{[]string{"parents.name"}, []string{}, []string{}},
		{[]string{"childhood"}, []string{"child"}, []string{}},
	}
	for _, tt := range tests {
		got := WithinFields(tt.fields, tt.allowed)
		if !slices.Equal(got, tt.want) {
			t.Errorf("WithinFields(%q, %q) = %q, want %q", tt.fields, tt.allowed, got, tt.want)
		}
	}
}

func TestCoveredPointers(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"/child", "/parents/1"}, []string{"/child", "/parents/0"}},
		{[]string{"/child", "/parents/0", "/parents/1"}, []string{"/child", "/parents/0", "/parents/1"}},
		{[]string{"/parents/2", "/child", "/parents/0"}, []string{"/parents/1", "/child", "/parents/0"}},
		{[]string{"/child"}, []string{"/child"}},
	} {
		if got := CoveredPointers(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("CoveredPointers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
