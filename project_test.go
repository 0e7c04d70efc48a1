package joinedup

import (
	"encoding/json"
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
