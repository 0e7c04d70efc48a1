package web

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// birthForm is the birth registration form as the user typed it. Input
// names are the JSON Pointers of the registration with "/" replaced by
// "-", such as "child-name-given", so that a field error from the domain
// finds its input.
type birthForm struct {
	ChildGiven, ChildFamily, ChildSex, ChildPlace string
	ChildDOB                                      dateValue
	Parents                                       [2]parentForm
	InformantGiven, InformantFamily               string
	InformantCapacity                             string
	InformantParent                               string // "0" or "1" for a parent on the form, "none" for neither
	Services                                      []string
}

type parentForm struct {
	Role, Given, Family, NINO string
	DOB                       dateValue
	Lines                     []string // as addressLines returns them
	Town, Postcode, UPRN      string
}

// blank reports whether nothing was typed for the parent. A role alone
// does not count, because a radio button once chosen cannot be cleared,
// and a registrar who chose one by mistake could otherwise not register a
// single parent.
func (p parentForm) blank() bool {
	return p.Given == "" && p.Family == "" && p.NINO == "" && p.DOB == dateValue{} &&
		strings.Join(p.Lines, "") == "" && p.Town == "" && p.Postcode == "" && p.UPRN == ""
}

type dateValue struct{ Day, Month, Year string }

func parseBirthForm(v url.Values) birthForm {
	f := birthForm{
		ChildGiven:        v.Get("child-name-given"),
		ChildFamily:       v.Get("child-name-family"),
		ChildSex:          v.Get("child-sex"),
		ChildDOB:          dateFrom(v, "child-dateOfBirth"),
		ChildPlace:        v.Get("child-placeOfBirth"),
		InformantGiven:    v.Get("informant-name-given"),
		InformantFamily:   v.Get("informant-name-family"),
		InformantCapacity: v.Get("informant-capacity"),
		InformantParent:   v.Get("informant-parent"),
		Services:          v["consent-services"],
	}
	for i := range f.Parents {
		at := "parents-" + strconv.Itoa(i) + "-"
		f.Parents[i] = parentForm{
			Role:     v.Get(at + "role"),
			Given:    v.Get(at + "name-given"),
			Family:   v.Get(at + "name-family"),
			DOB:      dateFrom(v, at+"dateOfBirth"),
			NINO:     v.Get(at + "nationalInsuranceNumber"),
			Lines:    addressLines(v, at+"address-lines-"),
			Town:     v.Get(at + "address-town"),
			Postcode: v.Get(at + "address-postcode"),
			UPRN:     v.Get(at + "address-uprn"),
		}
	}
	return f
}

// addressLines returns the answers of one parent's address line inputs,
// which are named prefix followed by a number from 0 written without
// leading zeros, such as "parents-0-address-lines-3". The form shows two,
// but reads as many as are sent, so that it accepts and rejects the same
// addresses as the API. The lines are returned in the order of their
// numbers, and a missing number is skipped rather than read as a blank
// line, so a number sent cannot make the list longer than the inputs
// sent. The errors of a line, and its input on the page shown again, are
// numbered by its place in the list. Reading stops after one line more than joinedup.MaxAddressLines
// that is not blank, which is enough for the domain to reject the
// address, so that the page that shows the lines again stays small.
func addressLines(v url.Values, prefix string) []string {
	type line struct{ number, answer string }
	var sent []line
	for name, answers := range v {
		number, ok := strings.CutPrefix(name, prefix)
		if ok && len(answers) > 0 && isLineNumber(number) {
			sent = append(sent, line{number, answers[0]})
		}
	}
	// Numbers without leading zeros sort by length, then digit by digit.
	slices.SortFunc(sent, func(a, b line) int {
		return cmp.Or(cmp.Compare(len(a.number), len(b.number)), strings.Compare(a.number, b.number))
	})

	lines := make([]string, 0, len(sent))
	filled := 0
	for _, l := range sent {
		if filled > joinedup.MaxAddressLines {
			break
		}
		lines = append(lines, l.answer)
		if !blankLine(l.answer) {
			filled++
		}
	}
	return lines
}

// isLineNumber reports whether s is a number written as the form writes
// the numbers of its address lines: decimal digits, without a sign or
// leading zeros.
func isLineNumber(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// blankLine reports whether the domain drops the address line as blank:
// it is blank once in NFC and trimmed, as BirthRegistration.Normalize
// stores it.
func blankLine(l string) bool {
	return strings.TrimSpace(norm.NFC.String(l)) == ""
}

func dateFrom(v url.Values, id string) dateValue {
	return dateValue{
		Day:   strings.TrimSpace(v.Get(id + "-day")),
		Month: strings.TrimSpace(v.Get(id + "-month")),
		Year:  strings.TrimSpace(v.Get(id + "-year")),
	}
}

// monthNumber returns the number of a month written as a word, in full or
// as its first three letters or more, in any case: "November", "nov".
func monthNumber(s string) (int, error) {
	s = strings.ToLower(s)
	for m := time.January; m <= time.December; m++ {
		name := strings.ToLower(m.String())
		if s == name || (len(s) >= 3 && strings.HasPrefix(name, s)) {
			return int(m), nil
		}
	}
	return 0, fmt.Errorf("unknown month %q", s)
}

// parseDate reads a GOV.UK date input. All three parts empty is the zero
// Date and no error, so the domain's "Enter …" message applies. With an
// error it also returns the part it is about, "day", "month" or "year",
// or "" for the date as a whole, so that the error summary can link to
// that input.
func parseDate(d dateValue, what string) (joinedup.Date, string, string) {
	if d == (dateValue{}) {
		return joinedup.Date{}, "", ""
	}
	var missing []string
	first := ""
	for _, part := range []struct{ name, value string }{{"day", d.Day}, {"month", d.Month}, {"year", d.Year}} {
		if part.value == "" {
			missing = append(missing, "a "+part.name)
			if first == "" {
				first = part.name
			}
		}
	}
	if len(missing) > 0 {
		return joinedup.Date{}, fmt.Sprintf("%s must include %s", what, strings.Join(missing, " and ")), first
	}
	day, errDay := strconv.Atoi(d.Day)
	month, errMonth := strconv.Atoi(d.Month)
	if errMonth != nil {
		month, errMonth = monthNumber(d.Month)
	}
	year, errYear := strconv.Atoi(d.Year)
	switch {
	case errDay != nil:
		return joinedup.Date{}, what + " must be a real date, with the day and year as numbers", "day"
	case errMonth != nil:
		return joinedup.Date{}, what + " must be a real date, with the month as a number or a name, such as 3 or March", "month"
	case errYear != nil:
		return joinedup.Date{}, what + " must be a real date, with the day and year as numbers", "year"
	case len(d.Year) != 4:
		return joinedup.Date{}, what + " must include a year with 4 numbers", "year"
	}
	date, err := joinedup.ParseDate(fmt.Sprintf("%04d-%02d-%02d", year, month, day))
	if err != nil {
		return joinedup.Date{}, what + " must be a real date", ""
	}
	return date, "", ""
}

// registration turns the form into a registration. A parent section left
// blank is skipped, so parentIndex maps each parent of the registration to
// its section on the form. Form values that cannot be read, such as
// an impossible date or no choice of informant, are returned as
// inputErrors by JSON Pointer into the registration. Their messages count
// the parents by their section on the form.
func (f birthForm) registration() (reg joinedup.BirthRegistration, parentIndex []int, inputErrors []joinedup.FieldError) {
	reg.Child = joinedup.Child{
		Name:         joinedup.Name{Given: f.ChildGiven, Family: f.ChildFamily},
		Sex:          f.ChildSex,
		PlaceOfBirth: f.ChildPlace,
	}
	var msg, part string
	if reg.Child.DateOfBirth, msg, part = parseDate(f.ChildDOB, "The child’s date of birth"); msg != "" {
		inputErrors = append(inputErrors, joinedup.FieldError{Field: datePointer("/child/dateOfBirth", part), Message: msg})
	}

	for i, p := range f.Parents {
		if p.blank() {
			continue
		}
		n := len(reg.Parents)
		parent := joinedup.Parent{
			Role:                    p.Role,
			Name:                    joinedup.Name{Given: p.Given, Family: p.Family},
			NationalInsuranceNumber: p.NINO,
			Address: joinedup.Address{
				Lines:    slices.Clone(p.Lines),
				Town:     p.Town,
				Postcode: p.Postcode,
				UPRN:     p.UPRN,
			},
		}
		if parent.DateOfBirth, msg, part = parseDate(p.DOB, fmt.Sprintf("The date of birth of parent %d", i+1)); msg != "" {
			inputErrors = append(inputErrors, joinedup.FieldError{Field: datePointer(fmt.Sprintf("/parents/%d/dateOfBirth", n), part), Message: msg})
		}
		reg.Parents = append(reg.Parents, parent)
		parentIndex = append(parentIndex, i)
	}

	reg.Informant = joinedup.Informant{
		Name:     joinedup.Name{Given: f.InformantGiven, Family: f.InformantFamily},
		Capacity: f.InformantCapacity,
	}
	switch f.InformantParent {
	case "none":
	case "0", "1":
		// A parent section that was left blank has no index, so point
		// past the end and let validation report it.
		section, _ := strconv.Atoi(f.InformantParent)
		index := len(reg.Parents)
		if at := slices.Index(parentIndex, section); at >= 0 {
			index = at
		}
		reg.Informant.Parent = &index
	default:
		inputErrors = append(inputErrors, joinedup.FieldError{Field: "/informant/parent", Message: "Select which parent is the informant, or select Neither"})
	}

	for _, id := range f.Services {
		reg.Consent.Services = append(reg.Consent.Services, joinedup.ServiceID(id))
	}
	reg.Consent.Purpose = joinedup.PurposeTellUsOnce
	return reg, parentIndex, inputErrors
}

// formErrors turns field errors of a registration into errors on the
// form: pointers to parents are moved to the parent's section on the form,
// and each error links to the first input of its field.
func formErrors(fields []joinedup.FieldError, parentIndex []int) []formError {
	out := make([]formError, 0, len(fields))
	for _, fe := range fields {
		pointer := fe.Field
		if rest, ok := strings.CutPrefix(pointer, "/parents/"); ok {
			n, tail, _ := strings.Cut(rest, "/")
			if i, err := strconv.Atoi(n); err == nil && i < len(parentIndex) {
				pointer = "/parents/" + strconv.Itoa(parentIndex[i])
				if tail != "" {
					pointer += "/" + tail
				}
			}
		}
		out = append(out, formError{Field: pointer, Href: inputID(pointer), Message: fe.Message})
	}
	return out
}

// parentNumber matches the number of a parent in a message of the domain,
// such as "parent 1" in "Given names of parent 1 must be …", or "Parent 1"
// at the start of a sentence.
var parentNumber = regexp.MustCompile(`\b[Pp]arent [0-9]+\b`)

// numberParentsAsOnForm rewrites the messages of the domain's field errors
// about parents and the informant, which count the parents of the
// registration, to count them by their section on the form instead. The
// two differ when the Parent 1 section is left blank, because the form's
// Parent 2 is then the registration's parent 1. Pointers are left as they
// are, for formErrors to move. Other messages can quote a service's name
// or id, so they are not rewritten.
func numberParentsAsOnForm(fields []joinedup.FieldError, parentIndex []int) []joinedup.FieldError {
	out := make([]joinedup.FieldError, len(fields))
	for i, fe := range fields {
		if strings.HasPrefix(fe.Field, "/parents/") || strings.HasPrefix(fe.Field, "/informant/") {
			fe.Message = parentNumber.ReplaceAllStringFunc(fe.Message, func(match string) string {
				word, number, _ := strings.Cut(match, " ")
				n, err := strconv.Atoi(number)
				if err != nil || n < 1 || n > len(parentIndex) {
					return match
				}
				return word + " " + strconv.Itoa(parentIndex[n-1]+1)
			})
		}
		out[i] = fe
	}
	return out
}

// inputID returns the id of the first input of the field at pointer.
func inputID(pointer string) string {
	id := strings.ReplaceAll(strings.TrimPrefix(pointer, "/"), "/", "-")
	switch {
	case pointer == "/parents":
		return "parents-0-role"
	case strings.HasPrefix(pointer, "/consent/services"):
		return "consent-services"
	case strings.HasSuffix(pointer, "/name"):
		return id + "-given"
	case strings.HasSuffix(pointer, "/dateOfBirth"), pointer == "/hidden":
		// A date's error goes to its day, the first of its inputs.
		return id + "-day"
	case strings.HasSuffix(pointer, "/address/lines"):
		return id + "-0"
	}
	return id
}

// datePointer returns the pointer of a date's error: the date's own, or
// below it the part that is wrong, such as "/child/dateOfBirth/year". The
// page marks that input and the error summary links to it.
func datePointer(pointer, part string) string {
	if part == "" {
		return pointer
	}
	return pointer + "/" + part
}

// mergeErrors returns the errors in reading the form and the domain's
// errors for every other field, so that "must be a real date" wins over
// "Enter the date", in the order of the fields on the form, as the GOV.UK
// error summary lists them.
func mergeErrors(inputErrors, domain []joinedup.FieldError) []joinedup.FieldError {
	out := slices.Clone(inputErrors)
	for _, fe := range domain {
		if !slices.ContainsFunc(inputErrors, func(d joinedup.FieldError) bool {
			return d.Field == fe.Field || strings.HasPrefix(d.Field, fe.Field+"/")
		}) {
			out = append(out, fe)
		}
	}
	slices.SortStableFunc(out, func(a, b joinedup.FieldError) int {
		sa, fa := formPosition(a.Field)
		sb, fb := formPosition(b.Field)
		if sa != sb {
			return sa - sb
		}
		return fa - fb
	})
	return out
}

// formFields is the order of the fields within each section of the birth
// form, as paths below the section's pointer.
var formFields = []string{"role", "name/given", "name/family", "name", "sex", "dateOfBirth", "placeOfBirth",
	"nationalInsuranceNumber", "address/lines", "address/town", "address/postcode", "address/uprn", "address",
	"capacity", "parent", "services"}

// formPosition returns the section and the field of the birth form that
// pointer names: the child, each parent, the informant, then the consent.
func formPosition(pointer string) (section, field int) {
	var rest string
	switch {
	case strings.HasPrefix(pointer, "/child"):
		section, rest = 0, strings.TrimPrefix(pointer, "/child")
	case strings.HasPrefix(pointer, "/parents"):
		rest = strings.TrimPrefix(pointer, "/parents")
		n, after, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
		index, _ := strconv.Atoi(n)
		section, rest = 1+index, "/"+after
	case strings.HasPrefix(pointer, "/informant"):
		section, rest = 100, strings.TrimPrefix(pointer, "/informant")
	default:
		section, rest = 101, strings.TrimPrefix(pointer, "/consent")
	}
	rest = strings.TrimPrefix(rest, "/")
	for i, f := range formFields {
		if rest == f || strings.HasPrefix(rest, f+"/") {
			return section, i
		}
	}
	return section, len(formFields)
}

func (s *Server) birthForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authorizeBirthRegistration(r); err != nil {
		s.fail(w, r, err)
		return
	}
	services, err := s.birthServices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "birth-form.html", page{
		Title: "Register a birth",
		Nav:   navBirths,
		Data:  newBirthFormView(birthForm{}, nil, services),
	})
}

// birthServices returns the connected services that take births, which
// the informant may agree to tell.
func (s *Server) birthServices(r *http.Request) ([]*joinedup.Service, error) {
	all, err := s.Services.ListServices(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var births []*joinedup.Service
	for _, svc := range all {
		if svc.Takes(joinedup.EventBirthRegistered) {
			births = append(births, svc)
		}
	}
	return births, nil
}

// maxFormBytes is the largest birth form body read. It is far above what
// any valid form needs, so that a form with an over-long answer, such as
// text pasted by mistake, is still read: the page then shows a field error
// with every other answer kept. Only a larger body loses the answers, with
// a 413 page. The bound also limits the memory that one request can take.
const maxFormBytes = 1 << 20

func (s *Server) submitBirth(w http.ResponseWriter, r *http.Request) {
	d, err := s.authorizeBirthRegistration(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	values, err := readForm(w, r, maxFormBytes, "consent-services")
	if joinedup.ErrorCode(err) == joinedup.ETOOLARGE {
		s.renderFormTooLarge(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	services, err := s.birthServices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	form := parseBirthForm(values)
	var offered bool
	form.Services, offered = offeredServices(form.Services, services)
	reg, parentIndex, inputErrors := form.registration()
	if !offered {
		inputErrors = append(inputErrors, joinedup.FieldError{Field: "/consent/services",
			Message: "One of the services selected is no longer offered. Check the services selected and send the form again"})
	}

	var fields []joinedup.FieldError
	if len(inputErrors) > 0 {
		// Show every error at once: check the rest of the form too.
		checked, err := reg.Check(joinedup.Today(s.Now()))
		offeredByID := map[joinedup.ServiceID]*joinedup.Service{}
		for _, svc := range services {
			offeredByID[svc.ID] = svc
		}
		domain := slices.Concat(joinedup.ErrorFields(err), checked.CheckConsentServices(offeredByID))
		fields = mergeErrors(inputErrors, numberParentsAsOnForm(domain, parentIndex))
	} else {
		event, _, err := s.registerBirth(r, d, reg)
		if err == nil {
			// Post/Redirect/Get, so that reloading the confirmation does
			// not send the form again.
			http.Redirect(w, r, confirmationPath(event.ID), http.StatusSeeOther)
			return
		}
		if joinedup.ErrorCode(err) == joinedup.ECONFLICT {
			errs := []formError{s.duplicateBirthError(r, err)}
			s.render(w, r, http.StatusConflict, "birth-form.html", page{
				Title:  "Register a birth",
				Nav:    navBirths,
				Errors: errs,
				Data:   newBirthFormView(form, errs, services),
			})
			return
		}
		if joinedup.ErrorCode(err) != joinedup.EINVALID {
			s.fail(w, r, err)
			return
		}
		fields = numberParentsAsOnForm(joinedup.ErrorFields(err), parentIndex)
	}

	errs := formErrors(fields, parentIndex)
	s.render(w, r, http.StatusUnprocessableEntity, "birth-form.html", page{
		Title:  "Register a birth",
		Nav:    navBirths,
		Errors: errs,
		Data:   newBirthFormView(form, errs, services),
	})
}

// duplicateBirthError returns the error summary item for a registration
// that conflict rejected as a birth already registered. The item names the
// existing registration's reference number and links to its confirmation
// page when the signed-in account may open it, or else to its tracking
// page.
func (s *Server) duplicateBirthError(r *http.Request, conflict error) formError {
	var duplicate *joinedup.DuplicateBirth
	if !errors.As(conflict, &duplicate) {
		return formError{Message: joinedup.ErrorMessage(conflict)}
	}
	reference := duplicate.Reference
	item := formError{
		Message: "This birth is already registered with reference number " + reference,
		URL:     "/track/" + url.PathEscape(reference),
	}
	existing, err := s.LifeEvents.FindLifeEventByReference(r.Context(), reference)
	if err == nil && s.mayOpenConfirmation(r, existing) {
		item.URL = confirmationPath(existing.ID)
	}
	return item
}

// mayOpenConfirmation reports whether the signed-in account would be shown
// the confirmation page of ev, as birthConfirmation decides it. It records
// nothing, because nothing of ev is shown.
func (s *Server) mayOpenConfirmation(r *http.Request, ev *joinedup.LifeEvent) bool {
	if ev.Type != joinedup.EventBirthRegistered || s.authorizeRegistrar(r, ev) != nil {
		return false
	}
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return false
	}
	account := principalOf(r)
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purposeOf(account.Role))
	return err == nil && d.Allowed
}

// offeredServices returns the ids in chosen that name one of the offered
// services, and whether every id in chosen does. A browser sends only the
// form's own checkboxes, so any other id is of a service that has gone
// since the form was loaded, or is forged. It is dropped here rather than
// named in an error, because the page would show it again, whatever its
// length. An offered id sent twice is kept twice, so that the domain
// rejects it as listed twice, as it does through the API.
func offeredServices(chosen []string, offered []*joinedup.Service) (offeredIDs []string, allOffered bool) {
	allOffered = true
	for _, id := range chosen {
		if slices.ContainsFunc(offered, func(svc *joinedup.Service) bool { return string(svc.ID) == id }) {
			offeredIDs = append(offeredIDs, id)
		} else {
			allOffered = false
		}
	}
	return offeredIDs, allOffered
}

// renderFormTooLarge renders the 413 page for a birth form larger than
// maxFormBytes, which could be neither registered nor shown again. The
// page links back to a new form.
func (s *Server) renderFormTooLarge(w http.ResponseWriter, r *http.Request) {
	s.Logger.WarnContext(r.Context(), "request rejected", "code", joinedup.ETOOLARGE, "status", http.StatusRequestEntityTooLarge,
		"method", r.Method, "route", r.Pattern, "limit_bytes", maxFormBytes, "request_id", requestID(r.Context()))
	s.render(w, r, http.StatusRequestEntityTooLarge, "error.html", page{
		Title: "The form was too large to accept",
		Nav:   navBirths,
		Data: errorPage{
			Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("Together the answers were larger than %s bytes (%d MiB), about a million letters and digits, "+
				"so nothing was registered and the answers could not be kept. "+
				"This usually means that a large amount of text was pasted into an answer by mistake. Enter the answers again.",
				groupThousands(maxFormBytes), maxFormBytes>>20),
			RequestID: requestID(r.Context()),
			NextHref:  "/births/new",
			NextText:  "Go back to the birth registration form",
		},
	})
}

// groupThousands formats n, which must not be negative, with a comma
// between each group of three digits, as in "1,048,576".
func groupThousands(n int) string {
	digits := strconv.Itoa(n)
	for i := len(digits) - 3; i > 0; i -= 3 {
		digits = digits[:i] + "," + digits[i:]
	}
	return digits
}

type confirmationView struct {
	Event   *joinedup.LifeEvent
	Receipt *joinedup.ConsentReceipt
	Covers  []string // the people whose data the consent covers, by name
	// Sent lists, for each service told, whose details it receives and
	// which, as the delivery chooses them.
	Sent       map[joinedup.ServiceID][]sentPerson
	ReceiptURL template.URL
	TrackURL   string
}

// sentToServices returns, for each service of receipt that is told of
// event, whose details it receives and which: the people the consent
// covers, or every parent for a service told under a lawful basis.
func sentToServices(event *joinedup.LifeEvent, receipt *joinedup.ConsentReceipt) (map[joinedup.ServiceID][]sentPerson, error) {
	var birth joinedup.BirthRegistration
	if err := json.Unmarshal(event.Payload, &birth); err != nil {
		return nil, fmt.Errorf("decode life event %s: %w", event.ID, err)
	}
	out := map[joinedup.ServiceID][]sentPerson{}
	for _, svc := range receipt.Services {
		if svc.Decision != joinedup.ConsentGiven && svc.Decision != joinedup.ConsentNotRequired {
			continue
		}
		people, err := sentAbout(event, birth, svc.Fields, svc.Decision, -1)
		if err != nil {
			return nil, err
		}
		out[svc.Service] = people
	}
	return out, nil
}

// consentCovers names the people that the receipt's onBehalfOf pointers
// designate in the registration: "Ada Lovelace (child)". A pointer that
// names no one in the registration is shown as it is.
func consentCovers(payload json.RawMessage, pointers []string) []string {
	var reg joinedup.BirthRegistration
	_ = json.Unmarshal(payload, &reg) // an unreadable payload shows the pointers
	out := make([]string, 0, len(pointers))
	for _, p := range pointers {
		person := p
		if p == "/child" && reg.Child.Name.Full() != "" {
			person = reg.Child.Name.Full() + " (child)"
		}
		if index, ok := strings.CutPrefix(p, "/parents/"); ok {
			if i, err := strconv.Atoi(index); err == nil && i >= 0 && i < len(reg.Parents) {
				person = reg.Parents[i].Name.Full() + " (" + reg.Parents[i].Role + ")"
			}
		}
		out = append(out, person)
	}
	return out
}

// confirmationPath returns the path of the confirmation page of a
// registered birth.
func confirmationPath(id joinedup.EventID) string {
	return "/births/" + url.PathEscape(string(id))
}

// birthConfirmation shows the reference number and the consent receipt of
// a registered birth, to an account that may register births for the
// organisation that registered it and may read its life event. Any other
// account, and an id that is not a birth, gets 404.
func (s *Server) birthConfirmation(w http.ResponseWriter, r *http.Request) {
	event, err := s.LifeEvents.FindLifeEvent(r.Context(), joinedup.EventID(r.PathValue("id")))
	if err == nil && event.Type != joinedup.EventBirthRegistered {
		err = joinedup.Errorf(joinedup.ENOTFOUND, "There is no birth with that id.")
	}
	if err == nil {
		err = s.authorizeRegistrar(r, event)
	}
	if err == nil {
		err = s.authorizeEvent(r, event, policy.ActionRead, nil)
	}
	var receipt *joinedup.ConsentReceipt
	if err == nil {
		receipt, err = s.LifeEvents.ReceiptFor(r.Context(), event)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.nameController(r.Context(), event, receipt)
	s.renderConfirmation(w, r, event, receipt)
}

// authorizeRegistrar returns ENOTFOUND unless the signed-in account may
// register births for the organisation that registered ev. The
// confirmation page is the registrar's: it shows the whole consent
// receipt, every service's decision included, which a service's own
// officer may not see.
func (s *Server) authorizeRegistrar(r *http.Request, ev *joinedup.LifeEvent) error {
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return err
	}
	d, err := s.decideRegistration(r, res.Organisation)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return errHidden("birth")
	}
	return nil
}

// renderConfirmation renders the confirmation page of a registered birth.
func (s *Server) renderConfirmation(w http.ResponseWriter, r *http.Request, event *joinedup.LifeEvent, receipt *joinedup.ConsentReceipt) {
	receiptJSON, err := json.MarshalIndent(receipt, "", "  ")
	if err != nil {
		s.fail(w, r, fmt.Errorf("encode consent receipt: %w", err))
		return
	}
	sent, err := sentToServices(event, receipt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "birth-confirmation.html", page{
		Title: "Birth registered",
		Nav:   navBirths,
		Data: confirmationView{
			Event:   event,
			Receipt: receipt,
			Covers:  consentCovers(event.Payload, receipt.OnBehalfOf),
			Sent:    sent,
			// The receipt is a download the informant keeps. It is
			// built here from JSON the hub encoded, so it is a safe URL.
			ReceiptURL: template.URL("data:application/json;base64," + base64.StdEncoding.EncodeToString(receiptJSON)),
			TrackURL:   "/track/" + url.PathEscape(event.Reference),
		},
	})
}

// maxShownAnswerLength is the number of characters of an answer that the
// form shows again after an error. It keeps the page small when an answer
// holds a large paste, which maxFormBytes lets through. It is above every
// length limit of a birth registration, so an answer cut to it is most
// often still over its limit and keeps its error.
//
// NOTE: the limits count an answer once trimmed and in NFC, so a cut
// answer that is mostly white space, or accents typed as separate
// characters, can be within its limit when it is sent again.
const maxShownAnswerLength = 1000

// shownAnswerNote is added to the hint of an answer cut to
// maxShownAnswerLength.
var shownAnswerNote = britishEnglish.Sprintf("Only the first %d characters of the answer are shown.", maxShownAnswerLength)

// shownAnswer returns the first maxShownAnswerLength characters of value,
// and whether that cut anything off.
func shownAnswer(value string) (string, bool) {
	n := 0
	for i := range value {
		if n == maxShownAnswerLength {
			return value[:i], true
		}
		n++
	}
	return value, false
}

// Views of the form fields that the templates render.
type (
	inputField struct {
		ID, Section, Label, Hint, Value, Error, Class, Autocomplete string
		Spellcheck                                                  bool

		cut bool // whether Value is the answer cut to maxShownAnswerLength
	}
	dateField struct {
		ID, Section, Label, Error, Autocomplete string
		// ErrorPart is the input the error is about, "day", "month" or
		// "year", or empty when it is about the whole date.
		ErrorPart string
		Hint      string // "For example, 27 3 2026" when empty
		Value     dateValue
	}
	choiceField struct {
		ID, Section, Label, Value, Error string
		Options                          []option
	}
	option struct{ Value, Text string }
)

type birthFormView struct {
	ChildGiven, ChildFamily, ChildPlace inputField
	ChildSex                            choiceField
	ChildDOB                            dateField
	Parents                             [2]parentView
	InformantGiven, InformantFamily     inputField
	InformantCapacity, InformantParent  choiceField
	Services                            []serviceChoice
	Statutory                           []serviceChoice // services told under a lawful basis, whatever the choice
	ServicesError                       string
}

type parentView struct {
	Number                                                  int
	Role                                                    choiceField
	Given, Family, NINO, Line1, Line2, Town, Postcode, UPRN inputField
	DOB                                                     dateField
	// MoreLines are the address lines after the second that are not
	// blank, which only a request made outside the form can send.
	MoreLines []inputField
}

type serviceChoice struct {
	ID, Name, Purpose string
	Fields            []string
	Checked           bool
	// LawfulBasis, when set, means the service is told whatever the
	// informant chooses, so the form states the basis instead of asking.
	LawfulBasis string
}

func newBirthFormView(f birthForm, errs []formError, services []*joinedup.Service) birthFormView {
	text := func(pointer, label, value string) inputField {
		shown, cut := shownAnswer(value)
		return inputField{ID: inputID(pointer), Section: sectionOf(pointer), Label: label, Value: shown, Error: errorFor(errs, pointer), cut: cut}
	}
	date := func(pointer, label string, value dateValue) dateField {
		// A part of a date long enough to be cut holds no date, so it
		// is cut without a note.
		value.Day, _ = shownAnswer(value.Day)
		value.Month, _ = shownAnswer(value.Month)
		value.Year, _ = shownAnswer(value.Year)
		f := dateField{ID: strings.TrimSuffix(inputID(pointer), "-day"), Section: sectionOf(pointer), Label: label, Value: value, Error: errorFor(errs, pointer)}
		for _, e := range errs {
			if part, ok := strings.CutPrefix(e.Field, pointer+"/"); ok {
				f.ErrorPart = part
				break
			}
		}
		return f
	}
	choice := func(pointer, label, value string, options []option) choiceField {
		return choiceField{ID: inputID(pointer), Section: sectionOf(pointer), Label: label, Value: value, Error: errorFor(errs, pointer), Options: options}
	}

	v := birthFormView{
		ChildGiven:  text("/child/name/given", "Given names", f.ChildGiven),
		ChildFamily: text("/child/name/family", "Family name", f.ChildFamily),
		ChildSex: choice("/child/sex", "Sex", f.ChildSex, []option{
			{"female", "Female"}, {"male", "Male"}, {"indeterminate", "Indeterminate"},
		}),
		ChildDOB:        date("/child/dateOfBirth", "Date of birth", f.ChildDOB),
		ChildPlace:      text("/child/placeOfBirth", "Place of birth", f.ChildPlace),
		InformantGiven:  text("/informant/name/given", "Given names", f.InformantGiven),
		InformantFamily: text("/informant/name/family", "Family name", f.InformantFamily),
		InformantCapacity: choice("/informant/capacity", "Capacity", f.InformantCapacity, []option{
			{"mother", "Mother"}, {"father", "Father"}, {"parent", "Parent"}, {"other", "Other"},
		}),
		InformantParent: choice("/informant/parent", "Which parent is the informant?", f.InformantParent, []option{
			{"0", "Parent 1"}, {"1", "Parent 2"}, {"none", "Neither"},
		}),
		ServicesError: errorFor(errs, "/consent/services"),
	}
	// A name error without a part names the whole name: show it on the
	// given names, where the error summary links.
	if v.ChildGiven.Error == "" {
		v.ChildGiven.Error = exactError(errs, "/child/name")
	}
	if v.InformantGiven.Error == "" {
		v.InformantGiven.Error = exactError(errs, "/informant/name")
	}

	for i, p := range f.Parents {
		at := "/parents/" + strconv.Itoa(i)
		pv := parentView{
			Number: i + 1,
			Role: choice(at+"/role", "Role", p.Role, []option{
				{"mother", "Mother"}, {"father", "Father"}, {"parent", "Parent"},
			}),
			Given:    text(at+"/name/given", "Given names", p.Given),
			Family:   text(at+"/name/family", "Family name", p.Family),
			DOB:      date(at+"/dateOfBirth", "Date of birth", p.DOB),
			NINO:     text(at+"/nationalInsuranceNumber", "National Insurance number (optional)", p.NINO),
			Line1:    text(at+"/address/lines/0", "Address line 1", lineAt(p.Lines, 0)),
			Line2:    text(at+"/address/lines/1", "Address line 2 (optional)", lineAt(p.Lines, 1)),
			Town:     text(at+"/address/town", "Town or city (optional)", p.Town),
			Postcode: text(at+"/address/postcode", "Postcode", p.Postcode),
			UPRN:     text(at+"/address/uprn", "Unique Property Reference Number (UPRN, optional)", p.UPRN),
		}
		for n := 2; n < len(p.Lines); n++ {
			if !blankLine(p.Lines[n]) {
				label := fmt.Sprintf("Address line %d (optional)", n+1)
				pv.MoreLines = append(pv.MoreLines, text(at+"/address/lines/"+strconv.Itoa(n), label, p.Lines[n]))
			}
		}
		if pv.Given.Error == "" {
			pv.Given.Error = exactError(errs, at+"/name")
		}
		if pv.Line1.Error == "" {
			pv.Line1.Error = exactError(errs, at+"/address/lines")
		}
		if i == 0 && pv.Role.Error == "" {
			pv.Role.Error = exactError(errs, "/parents")
		}
		pv.Given.Autocomplete, pv.Family.Autocomplete = "off", "off"
		pv.DOB.Hint = "For example, 27 3 1990"
		pv.NINO.Hint, pv.NINO.Class, pv.NINO.Spellcheck = "It’s on the National Insurance card or a letter about benefits, tax or pensions. For example, "+joinedup.ExampleNINO+".", "govuk-input--width-10", true
		pv.Postcode.Class, pv.Postcode.Autocomplete = "govuk-input--width-10", "postal-code"
		pv.Town.Class = "govuk-!-width-two-thirds"
		pv.UPRN.Class, pv.UPRN.Hint = "govuk-input--width-20", "Up to 12 digits, if known."
		v.Parents[i] = pv
	}
	v.ChildPlace.Hint = "The hospital or address where the child was born."
	for _, f := range v.textFields() {
		if f.cut {
			f.Hint = strings.TrimSpace(f.Hint + " " + shownAnswerNote)
		}
	}

	for _, svc := range services {
		choice := serviceChoice{
			ID:          string(svc.ID),
			Name:        svc.Name,
			Purpose:     svc.Purpose,
			Fields:      svc.Fields,
			Checked:     slices.Contains(f.Services, string(svc.ID)),
			LawfulBasis: svc.LawfulBasis,
		}
		if choice.LawfulBasis != "" {
			v.Statutory = append(v.Statutory, choice)
			continue
		}
		v.Services = append(v.Services, choice)
	}
	return v
}

// textFields returns every text input of the form.
func (v *birthFormView) textFields() []*inputField {
	fields := []*inputField{&v.ChildGiven, &v.ChildFamily, &v.ChildPlace, &v.InformantGiven, &v.InformantFamily}
	for i := range v.Parents {
		p := &v.Parents[i]
		fields = append(fields, &p.Given, &p.Family, &p.NINO, &p.Line1, &p.Line2, &p.Town, &p.Postcode, &p.UPRN)
		for j := range p.MoreLines {
			fields = append(fields, &p.MoreLines[j])
		}
	}
	return fields
}

// lineAt returns the address line at index n, or "" when there is none.
func lineAt(lines []string, n int) string {
	if n < len(lines) {
		return lines[n]
	}
	return ""
}

// sectionOf returns the form section of the field at pointer, such as
// "Parent 2" for "/parents/1/name/given".
func sectionOf(pointer string) string {
	switch {
	case strings.HasPrefix(pointer, "/child/"):
		return "Child"
	case strings.HasPrefix(pointer, "/informant/"):
		return "Informant"
	case strings.HasPrefix(pointer, "/parents/"):
		n, _, _ := strings.Cut(strings.TrimPrefix(pointer, "/parents/"), "/")
		if i, err := strconv.Atoi(n); err == nil {
			return "Parent " + strconv.Itoa(i+1)
		}
	}
	return ""
}

// exactError returns the message for exactly the field at pointer.
func exactError(errs []formError, pointer string) string {
	for _, e := range errs {
		if e.Field == pointer {
			return e.Message
		}
	}
	return ""
}
