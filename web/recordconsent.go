package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// recordConsent is a life event's consent as the record of one resident
// shows it: who gave it, whom it covers and whether it covers the
// resident.
type recordConsent struct {
	GivenBy  string `json:"givenBy"`
	Capacity string `json:"capacity"`
	// OnBehalfOf are the JSON Pointers of the people the consent covers,
	// as it was recorded.
	OnBehalfOf []string `json:"onBehalfOf"`
	// Resident is the JSON Pointer of the resident among the parents, such
	// as "/parents/1", or empty when the resident's recorded identity
	// matches none of them.
	Resident string `json:"resident,omitempty"`
	// CoversResident is set when the consent covers the resident's own
	// details, so that services told on it were sent them.
	CoversResident bool `json:"coversResident"`

	informant bool     // the resident is the informant who gave the consent
	covered   []string // the names of the people it covers, the child first
	uncovered []string // the names of the parents it does not cover
}

// sentPerson is one person a service receives details of, and which.
type sentPerson struct {
	// Person is the JSON Pointer of the person in the registration:
	// "/child", "/parents/N", or "/informant" for an informant who is not
	// a parent.
	Person string   `json:"person"`
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	// Resident is set when the person is the resident whose record it is.
	Resident bool `json:"-"`
}

// Labels returns the readable names of the person's fields, each once.
func (p sentPerson) Labels() []string {
	var out []string
	for _, f := range p.Fields {
		label, ok := personFieldLabels[f]
		if !ok {
			label = fieldLabel(f)
		}
		if !slices.Contains(out, label) {
			out = append(out, label)
		}
	}
	return out
}

// personFieldLabels name the payload fields as details of one person, for
// the lines of a record that list whose details a service receives.
var personFieldLabels = map[string]string{
	"child.name":                      "name",
	"child.sex":                       "sex",
	"child.dateOfBirth":               "date of birth",
	"child.placeOfBirth":              "place of birth",
	"parents.role":                    "role as a parent",
	"parents.name":                    "name",
	"parents.dateOfBirth":             "date of birth",
	"parents.nationalInsuranceNumber": "National Insurance number",
	"parents.address":                 "address",
	"parents.address.lines":           "address",
	"parents.address.town":            "town",
	"parents.address.postcode":        "postcode",
	"parents.address.uprn":            "property reference number (UPRN)",
	"informant.name":                  "name",
	"informant.capacity":              "relationship to the child",
	"informant.parent":                "that they registered the birth",
}

// consentOf returns the consent of ev as a resident's record shows it.
// parent is the resident's index in birth.Parents, or -1 when the
// resident's identity matches no parent.
func consentOf(ev *joinedup.LifeEvent, birth joinedup.BirthRegistration, parent int) recordConsent {
	c := recordConsent{
		GivenBy: ev.Consent.GivenBy.Full(), Capacity: ev.Consent.Capacity,
		OnBehalfOf: slices.Clone(ev.Consent.OnBehalf),
	}
	if c.OnBehalfOf == nil {
		c.OnBehalfOf = []string{}
	}
	if parent >= 0 {
		c.Resident = fmt.Sprintf("/parents/%d", parent)
		c.CoversResident = joinedup.Covers(ev.Consent.OnBehalf, parent)
		c.informant = birth.Informant.Parent != nil && *birth.Informant.Parent == parent
	}
	if slices.Contains(ev.Consent.OnBehalf, "/child") {
		c.covered = append(c.covered, birth.Child.Name.Full())
	}
	for i, p := range birth.Parents {
		name := p.Name.Full()
		if i == parent {
			name = "" // the resident, whom the sentences name as you
		}
		switch {
		case !joinedup.Covers(ev.Consent.OnBehalf, i):
			if name != "" {
				c.uncovered = append(c.uncovered, name)
			}
		case name != "":
			c.covered = append(c.covered, name)
		}
	}
	return c
}

// Summary returns the sentences that state who gave or refused consent for
// the event's services, whom the consent covers and what that means for
// the resident, addressed to the resident when own is set and otherwise
// to staff.
func (c recordConsent) Summary(own bool) string {
	if c.GivenBy == "" {
		return ""
	}
	you, your, yours := "this resident", "this resident’s", "this resident’s"
	if own {
		you, your, yours = "you", "your", "yours"
	}
	if c.Capacity == joinedup.InformantOther {
		return c.GivenBy + " registered this birth but is not a parent, so could not give consent. " +
			"Only services that the law allows to be told without consent were told."
	}

	as := " as the " + c.Capacity
	switch c.Capacity {
	case "parent":
		as = " as a parent"
	case "":
		as = ""
	}
	informant := c.GivenBy
	if c.informant {
		informant = capitalise(you)
	}
	covered := c.covered
	if c.CoversResident {
		covered = append(slices.Clone(covered), you)
	}
	s := []string{
		fmt.Sprintf("%s registered this birth%s and gave or refused consent for each service below.", informant, as),
		"The consent covers " + joinWords(covered, "no one") + ".",
	}
	switch {
	case c.informant && len(c.uncovered) > 0:
		s = append(s, fmt.Sprintf("It does not cover %s, so services told on it were not sent their details.", joinWords(c.uncovered, "")))
	case c.informant:
	case c.Resident == "":
		s = append(s, fmt.Sprintf("The hub cannot match %s identity to a parent in this registration, so this page cannot show which details are %s.", your, yours))
	case !c.CoversResident:
		s = append(s, fmt.Sprintf("It does not cover %s, so services told on it were sent none of %s details. Only %s can withdraw it.", you, your, c.GivenBy))
	default:
		s = append(s, fmt.Sprintf("Services told on it were sent %s details too, so %s can withdraw it.", your, you))
	}
	return strings.Join(s, " ")
}

// capitalise returns s with its first letter in capitals.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// joinWords returns words as a list in a sentence, such as "A, B and C",
// or none when there are no words.
func joinWords(words []string, none string) string {
	switch len(words) {
	case 0:
		return none
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// sentAbout returns, for each person whose details a service receives
// under decision, the fields about them. It projects the payload with
// joinedup.Project as the delivery does and, as joinedup.ProjectCovered
// does for a service told on consent, keeps only the parents the consent
// covers. A field that the registration left empty is therefore not
// listed. The resident is the parent at index parent, or no one when
// parent is -1.
func sentAbout(ev *joinedup.LifeEvent, birth joinedup.BirthRegistration, fields []string, decision string, parent int) ([]sentPerson, error) {
	data, err := joinedup.Project(ev.Payload, fields)
	if err != nil {
		return nil, fmt.Errorf("project life event %s: %w", ev.ID, err)
	}
	var doc struct {
		Child     map[string]any   `json:"child"`
		Parents   []map[string]any `json:"parents"`
		Informant map[string]any   `json:"informant"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode projected life event %s: %w", ev.ID, err)
	}

	out := []sentPerson{}
	if doc.Child != nil {
		out = append(out, sentPerson{Person: "/child", Name: birth.Child.Name.Full(), Fields: presentFields(doc.Child, "child", fields)})
	}
	informantFields := presentFields(doc.Informant, "informant", fields)
	for i, p := range doc.Parents {
		if decision != joinedup.ConsentNotRequired && !joinedup.Covers(ev.Consent.OnBehalf, i) {
			continue
		}
		person := sentPerson{Person: fmt.Sprintf("/parents/%d", i), Fields: presentFields(p, "parents", fields), Resident: i == parent}
		if i < len(birth.Parents) {
			person.Name = birth.Parents[i].Name.Full()
		}
		if birth.Informant.Parent != nil && *birth.Informant.Parent == i {
			person.Fields = append(person.Fields, informantFields...)
			informantFields = nil
		}
		out = append(out, person)
	}
	if len(informantFields) > 0 {
		// Details of the informant alone, such as their name, when no
		// field of the parents is sent or the informant is not a parent.
		person := sentPerson{Person: "/informant", Name: birth.Informant.Name.Full(), Fields: informantFields}
		if p := birth.Informant.Parent; p != nil {
			person.Person, person.Resident = fmt.Sprintf("/parents/%d", *p), *p == parent
		}
		out = append(out, person)
	}
	return out, nil
}

// declaredOrder returns fields in the order of the declared fields they
// lie within or contain, because joinedup.WithinFields sorts them and a
// record reads better in the order the service declared.
func declaredOrder(fields, declared []string) []string {
	rank := func(f string) int {
		for i, d := range declared {
			if f == d || strings.HasPrefix(f, d+".") || strings.HasPrefix(d, f+".") {
				return i
			}
		}
		return len(declared)
	}
	out := slices.Clone(fields)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

// presentFields returns the fields below prefix, such as "parents.name"
// below "parents", whose value obj holds. obj is the projected object at
// prefix. A field that is prefix itself sends the whole object, so it
// selects each member of obj.
func presentFields(obj map[string]any, prefix string, fields []string) []string {
	out := []string{}
	add := func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, f := range fields {
		if f == prefix {
			for _, key := range slices.Sorted(maps.Keys(obj)) {
				add(prefix + "." + key)
			}
			continue
		}
		rest, ok := strings.CutPrefix(f, prefix+".")
		if ok && holds(obj, strings.Split(rest, ".")) {
			add(f)
		}
	}
	return out
}

// holds reports whether obj has a value at the path of member names.
func holds(obj map[string]any, path []string) bool {
	var v any = obj
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[key]; !ok {
			return false
		}
	}
	return true
}

// identity is the National Insurance number and date of birth recorded
// for a resident account, which link it to births. Both are empty when
// none is recorded.
type identity struct {
	nino        string
	dateOfBirth joinedup.Date
}

// identityOf returns the identity recorded for the resident account.
//
// NOTE: which parent a resident is follows from this identity when the
// record is read, so a changed identity takes away that parent's view
// of their own details and their right to withdraw.
func (s *Server) identityOf(ctx context.Context, resident string) (identity, error) {
	nino, dateOfBirth, err := s.Records.Identity(ctx, resident)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return identity{}, nil
	} else if err != nil {
		return identity{}, fmt.Errorf("find identity of resident %s: %w", resident, err)
	}
	return identity{nino: nino, dateOfBirth: dateOfBirth}, nil
}

// parentIn returns the index in birth.Parents of the parent with the
// identity, or -1 when there is none.
func (id identity) parentIn(birth joinedup.BirthRegistration) int {
	return birth.ParentWith(id.nino, id.dateOfBirth)
}

// checkMayWithdraw returns EFORBIDDEN unless the account may withdraw the
// consent given for ev. A resident may withdraw only a consent that covers
// their own details. A parent informant's consent covers no other adult,
// so that is the informant alone, except for consents recorded before that
// rule that cover both parents. Staff are decided by the policies alone.
func (s *Server) checkMayWithdraw(ctx context.Context, account *auth.Account, ev *joinedup.LifeEvent, service joinedup.ServiceID) error {
	if account.Role != policy.RoleResident {
		return nil
	}
	var birth joinedup.BirthRegistration
	if ev.Type == joinedup.EventBirthRegistered {
		if err := json.Unmarshal(ev.Payload, &birth); err != nil {
			return fmt.Errorf("decode life event %s: %w", ev.ID, err)
		}
	}
	id, err := s.identityOf(ctx, account.ID)
	if err != nil {
		return err
	}
	parent := id.parentIn(birth)
	if parent >= 0 && joinedup.Covers(ev.Consent.OnBehalf, parent) {
		return nil
	}
	name, givenBy := s.serviceName(ctx, service), ev.Consent.GivenBy.Full()
	if parent < 0 {
		return withPageTitle(joinedup.Errorf(joinedup.EFORBIDDEN,
			"You cannot withdraw consent for %s because the hub cannot match your identity to a parent in this registration. Ask %s, who gave the consent, to withdraw it.", name, givenBy),
			"Only the parent who gave consent can withdraw it")
	}
	return withPageTitle(joinedup.Errorf(joinedup.EFORBIDDEN,
		"You cannot withdraw consent for %s because %s gave it, and it does not cover your details. Ask %s to withdraw it.", name, givenBy, givenBy),
		"Only the parent who gave consent can withdraw it")
}
