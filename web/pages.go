package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

//go:embed templates
var templateFiles embed.FS

// staticFiles contains the pages' own styles and scripts and, once
// scripts/copy-assets has run, GOV.UK Frontend and axe-core in vendor/.
//
//go:embed static
var staticFiles embed.FS

// frontendFiles are the GOV.UK Frontend files under static/ that every
// page loads. scripts/copy-assets copies them in, so a build made without
// `make assets` lacks them.
var frontendFiles = []string{
	"vendor/govuk-frontend/govuk-frontend.min.css",
	"vendor/govuk-frontend/govuk-frontend.min.js",
}

// StaticFiles returns the files that the hub serves under /static/, as
// embedded in the binary.
func StaticFiles() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic("open embedded static files: " + err.Error())
	}
	return sub
}

// MissingFrontend returns the GOV.UK Frontend files that static, a tree
// such as StaticFiles returns, lacks. Pages served without them have no
// styles.
func MissingFrontend(static fs.FS) []string {
	var missing []string
	for _, name := range frontendFiles {
		if _, err := fs.Stat(static, name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// pageTemplates contains one template set per page, each made of the layout,
// the shared partials and the page itself.
var pageTemplates = mustParsePages(
	"start.html", "error.html", "birth-form.html", "birth-confirmation.html",
	"track-form.html", "track.html", "life-events.html", "life-event.html", "deliveries.html",
	"sign-in.html", "notices.html", "resident.html", "residents.html", "break-glass.html", "break-glass-reviews.html",
	"person-reviews.html", "withdraw-consent.html", "staff-withdraw-consent.html",
)

func mustParsePages(names ...string) map[string]*template.Template {
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		t := template.New(name).Funcs(templateFuncs)
		pages[name] = template.Must(t.ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", "templates/"+name))
	}
	return pages
}

var templateFuncs = template.FuncMap{
	"londonTime":      londonTime,
	"longDate":        longDate,
	"recordDate":      recordDate,
	"consentAsked":    consentAsked,
	"stateTag":        stateTag,
	"stateLabel":      stateLabel,
	"comparisonLabel": comparisonLabel,
	"errorFor":        errorFor,
	"decisionTag":     decisionTag,
	"decisionLabel":   decisionLabel,
	"navItem":         newNavItem,
	"inc":             func(i int) int { return i + 1 },
	// count writes n with the singular or the plural noun, as in
	// "1 resident" and "2 residents".
	"count":      countText,
	"pagination": newPagination,
	"dateInput": func(id, label string, value dateValue, message string, hint ...string) dateField {
		return dateField{ID: id, Label: label, Value: value, Error: message, Hint: strings.Join(hint, " ")}
	},
	// dateExample writes the date months from today in London as the date
	// fields take it, such as "5 3 2027", for the hint of a field that
	// needs a future date.
	"dateExample": func(months int) string {
		d := joinedup.Today(time.Now()).AddDate(0, months, 0)
		return fmt.Sprintf("%d %d %d", d.Day, d.Month, d.Year)
	},

	"publicLabel":      publicLabel,
	"consentFieldList": consentFieldList,
	// stateInSentence writes a delivery state as a word within a
	// sentence, such as "dead-lettered".

	"purposeText":   purposeText,
	"actorText":     actorText,
	"eventTypeText": eventTypeText,
	// lines splits text that may hold line breaks, such as a break-glass
	// reason, so that a page shows each line on its own.
	"lines": func(text string) []string { return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") },
	"deliveryTable": func(rows []deliveryRow, caption, state, back string) deliveryTableView {
		return deliveryTableView{Rows: rows, Caption: caption, State: state, Back: back}
	},
}

type deliveryTableView struct {
	Rows    []deliveryRow
	Caption string
	State   string // the list's state filter, kept across a replay
	// Back is the page that a Replay button returns to, which shows the
	// table, or empty for the list of deliveries in the replayed state.
	Back string
}

// canReplay reports whether an operator may send a delivery in state
// again. Only dead-lettered and failed deliveries can be replayed.
func canReplay(state joinedup.DeliveryState) bool {
	return state == joinedup.StateDeadLettered || state == joinedup.StateFailed
}

type navItem struct {
	Href, Text string
	Current    bool
}

func newNavItem(current, key, href, text string) navItem {
	return navItem{Href: href, Text: text, Current: current == key}
}

// page is the data that every page template receives. Errors feed the
// error summary and the inline errors, and when there are any the title
// starts with "Error: ".
type page struct {
	Title  string
	Nav    string // the current item of the service navigation
	Errors []formError
	Data   any

	// Account is the signed-in account, which render sets. The
	// navigation shows the pages of its role and a sign-out button.
	Account *auth.Account
}

// Role reports whether the signed-in account has one of roles.
func (p page) Role(roles ...string) bool {
	return p.Account != nil && slices.Contains(roles, string(p.Account.Role))
}

// formError is one error shown on a page: the JSON Pointer of the field
// it belongs to, the id of the input that the error summary links to, and
// the message. An error about no one field has no Field and no Href. Its
// summary item links to URL, another page, or is plain text when URL is
// empty.
type formError struct {
	Field   string
	Href    string
	URL     string
	Message string
}

// Navigation items of the service navigation.
const (
	navBirths     = "births"
	navTrack      = "track"
	navLifeEvents = "life-events"
	navDeliveries = "deliveries"
	navResidents  = "residents"
	navReviews    = "reviews"
	navNotices    = "notices"
	navPersons    = "persons"
)

// render writes the named page with the given status. Rendering into a
// buffer first means a template error becomes a clean 500 rather than
// half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Account = principalOf(r)
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.Logger.ErrorContext(r.Context(), "render page failed", "page", name, "error", err, "request_id", requestID(r.Context()))
		http.Error(w, "Internal error. Quote the request id "+requestID(r.Context())+" if you report it.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	Status    int
	Detail    string
	Fields    []joinedup.FieldError // what is wrong with each part of the request
	RequestID string

	// NextHref and NextText are the link that ends the page. Without
	// them, the page links to the start page.
	NextHref, NextText string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, title, detail string, fields []joinedup.FieldError) {
	data := errorPage{Status: status, Detail: detail, Fields: fields, RequestID: requestID(r.Context())}
	// A page refused for the options in its address, such as a list
	// given an unknown service, links to itself without them.
	if r.Method == http.MethodGet && status == http.StatusUnprocessableEntity && r.URL.RawQuery != "" {
		data.NextHref, data.NextText = r.URL.Path, "Open this page again without the options in its address"
	}
	// An error from a form links back to the page that holds the form.
	if r.Method == http.MethodPost {
		if back := s.formPage(r.URL.Path); back != "" {
			data.NextHref, data.NextText = back, "Go back to the page you came from"
			if title == formUnreadTitle {
				data.NextText = "Go back to the form"
			}
		}
	}
	if r.URL.Path == pathSignIn || strings.HasPrefix(r.URL.Path, pathSignIn+"/") {
		data.NextHref = signInAgainPath(r)
		if title != formUnreadTitle {
			data.NextText = "Go to the sign-in page"
		}
	}
	s.render(w, r, status, "error.html", page{Title: title, Data: data})
}

// signInAgainPath returns the sign-in page for an error page of a sign-in
// request, with the request's next when every next it gives, in the query
// or the posted form, is the same path on this hub. When they differ, none
// is kept, because the sign-in page could not tell which one was meant.
func signInAgainPath(r *http.Request) string {
	if r.URL.Path != pathSignIn {
		return pathSignIn
	}
	nexts := append(slices.Clone(r.URL.Query()["next"]), r.PostForm["next"]...)
	if len(nexts) == 0 || slices.ContainsFunc(nexts, func(v string) bool { return v != nexts[0] }) {
		return pathSignIn
	}
	next := safeNext(nexts[0])
	if next == "" {
		return pathSignIn
	}
	return pathSignIn + "?" + url.Values{"next": {next}}.Encode()
}

// formPage returns the page that holds the form posted to path: path
// itself, or the nearest path above it, that a GET of a page serves, such
// as /residents/{id} for /residents/{id}/break-glass. It returns "" when
// no page but the start page serves one.
func (s *Server) formPage(path string) string {
	if s.mux == nil {
		return ""
	}
	for p := path; p != "" && p != "/"; p = p[:strings.LastIndexByte(p, '/')] {
		_, pattern := s.mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: p}})
		if strings.HasPrefix(pattern, "GET /") && !strings.HasSuffix(pattern, "/") && !strings.HasPrefix(pattern, "GET /api/") && !pagesNeedingQuery[pattern] {
			return p
		}
	}
	return ""
}

// pagesNeedingQuery are the pages that show nothing without the query
// of the link to them, so an error page cannot link back to them.
var pagesNeedingQuery = map[string]bool{
	"GET /residents/{id}/consent":            true,
	"GET /operator/life-events/{id}/consent": true,
}

// staticHandler serves the files under static/. A directory, which the
// file server would list, and a path that names no file, such as one with
// "..", get the pages' 404.
func (s *Server) staticHandler() http.Handler {
	sub := StaticFiles()
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		// Stat rejects a name that fs.ValidPath rejects, such as "../go.mod".
		if info, err := fs.Stat(sub, name); err != nil || info.IsDir() {
			s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "There is no page or resource at this address."))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func (s *Server) startPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "start.html", page{Title: "Tell public services about a birth once"})
}

// londonTime formats t in Europe/London the way GOV.UK writes times, such
// as "4 December 2026 at 8:30pm".
func londonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(joinedup.London).Format("2 January 2006 at 3:04pm")
}

// longDate formats a date such as "4 December 2026".
func longDate(d joinedup.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.In(time.UTC).Format("2 January 2006")
}

// recordDate returns a date of birth from a holder's record in the long
// form when it is a full date such as 1989-02-03. Such records can contain
// partial or mistyped dates, which it returns unchanged.
func recordDate(s string) string {
	d, err := joinedup.ParseDate(s)
	if err != nil {
		return s
	}
	return longDate(d)
}

// consentAsked reports whether the informant was asked for consent for
// any service: an informant who is not a parent is not asked.
func consentAsked(c joinedup.Consent) bool {
	return slices.ContainsFunc(c.Decisions, func(d joinedup.ConsentDecision) bool {
		return d.Decision != joinedup.ConsentNotAsked && d.Decision != joinedup.ConsentNotRequired
	})
}

// stateTag returns the GOV.UK tag modifier class for a delivery state.
func stateTag(state joinedup.DeliveryState) string {
	switch state {
	case joinedup.StatePending:
		return "govuk-tag--grey"
	case joinedup.StateActed:
		return "govuk-tag--green"
	case joinedup.StateRetrying:
		return "govuk-tag--yellow"
	case joinedup.StateFailed:
		return "govuk-tag--red"
	case joinedup.StateDeadLettered:
		return "govuk-tag--orange"
	case joinedup.StateWithdrawn:
		return "govuk-tag--purple"
	}
	return "" // delivered: the default blue tag
}

// stateLabel returns a delivery state as shown on a tag.
func stateLabel(state joinedup.DeliveryState) string {
	switch state {
	case joinedup.StatePending:
		return "Pending"
	case joinedup.StateDelivered:
		return "Delivered"
	case joinedup.StateActed:
		return "Acted"
	case joinedup.StateRetrying:
		return "Retrying"
	case joinedup.StateFailed:
		return "Failed"
	case joinedup.StateDeadLettered:
		return "Dead-lettered"
	case joinedup.StateWithdrawn:
		return "Withdrawn"
	}
	return string(state)
}

// publicStateLabel returns a delivery state as the pages for parents and
// residents show it on a tag, in plain words rather than the state names
// that staff pages and the API use.
// publicLabel returns publicStateLabel(state), except for a dead-lettered
// delivery that an attempt may have reached. The service may then hold
// the details, as when it responded without a valid outcome, so the label
// does not say that it was not reached.
func publicLabel(state joinedup.DeliveryState, reached bool) string {
	if state == joinedup.StateDeadLettered && reached {
		return "Sent, not confirmed"
	}
	return publicStateLabel(state)
}

func publicStateLabel(state joinedup.DeliveryState) string {
	switch state {
	case joinedup.StatePending:
		return "Waiting to send"
	case joinedup.StateDelivered:
		return "Received"
	case joinedup.StateActed:
		return "Done"
	case joinedup.StateRetrying:
		return "Trying again"
	case joinedup.StateFailed:
		// The service received the details but reported that it could
		// not do what it does with them, such as when it keeps them for
		// a person to check.
		return "Received, not completed"
	case joinedup.StateDeadLettered:
		return "Not reached"
	case joinedup.StateWithdrawn:
		// An attempt may have reached the service before the withdrawal,
		// so the label says only that sending stopped.
		return "Stopped: consent withdrawn"
	}
	return string(state)
}

func decisionTag(decision string) string {
	switch decision {
	case joinedup.ConsentGiven:
		return "govuk-tag--green"
	case joinedup.ConsentWithdrawn:
		return "govuk-tag--purple"
	}
	return "govuk-tag--grey"
}

// decisionLabel returns a consent decision as shown on a tag. The API
// keeps the decision codes.
func decisionLabel(decision string) string {
	switch decision {
	case joinedup.ConsentGiven:
		return "Given"
	case joinedup.ConsentRefused:
		return "Refused"
	case joinedup.ConsentWithdrawn:
		return "Withdrawn"
	case joinedup.ConsentNotRequired:
		return "Told by law"
	case joinedup.ConsentNotAsked:
		return "Not asked: the informant is not a parent"
	}
	return decision
}

// eventTypeText returns a life event type in words, such as "Birth
// registration" for birth.registered, or the type itself when it has none.
func eventTypeText(eventType string) string { return textOr(eventTypeTexts, eventType) }

var eventTypeTexts = map[string]string{
	joinedup.EventBirthRegistered: "Birth registration",
}

// purposeText returns the informant-facing description of a consent
// purpose, or the purpose code itself when it has none.
func purposeText(purpose string) string { return textOr(purposeTexts, purpose) }

// purposeTexts describes the purposes of consents and of accesses.
var purposeTexts = map[string]string{
	joinedup.PurposeTellUsOnce:    "Tell us once: telling the services chosen about the birth, so the family does not have to",
	policy.PurposeRegistration:    "Registering a life event",
	policy.PurposeSocialCare:      "Social care",
	policy.PurposeSafeguarding:    "Keeping someone safe",
	policy.PurposeServiceDelivery: "Providing a service",
	policy.PurposeOperations:      "Running the hub",
	policy.PurposeAudit:           "Checking how records are used",
	policy.PurposeSubjectAccess:   "Seeing one’s own record",
	policy.PurposeConsent:         "Managing consent",
}

// actionTexts names the actions of audit entries as a resident reads
// them on their record.
var actionTexts = map[string]string{
	audit.ActionDisclosure:         "Details sent to a service, or an attempt made to send them",
	audit.ActionAccess:             "Record used",
	audit.ActionConsentGiven:       "Consent given",
	audit.ActionConsentRefused:     "Consent refused",
	audit.ActionConsentNotAsked:    "Consent not asked",
	audit.ActionConsentWithdrawn:   "Consent withdrawn",
	audit.ActionBreakGlass:         "Emergency access granted",
	audit.ActionBreakGlassReviewed: "Emergency access reviewed",
	audit.ActionLawfulBasis:        "Service told by law",
	actionSignIn:                   "Signed in",
	actionSignOut:                  "Signed out",
}

// actionText returns an audit entry's action in words, or the action
// itself when it has none.
func actionText(action string) string { return textOr(actionTexts, action) }

// actorText names who made an audit entry: a staff member or resident by
// user name and role in words, the hub itself, or a system that used the
// hub's API token.
func actorText(actor, role string) string {
	switch {
	case role != "":
		return actor + " (" + strings.ReplaceAll(role, "-", " ") + ")"
	case actor == "hub":
		return "The hub"
	case actor == tokenAccountID:
		return "A connected system, with the hub’s API token"
	}
	return actor
}

// textOr returns the text that texts gives for code, or code itself when
// texts has none.
func textOr(texts map[string]string, code string) string {
	if text, ok := texts[code]; ok {
		return text
	}
	return code
}

// fieldLabels names the payload fields that services declare, as the
// informant reads them when asked for consent. A service told on consent
// receives the details of the parents that the consent covers, which are
// the informant's alone, so the parents' fields are named as the
// informant's.
var fieldLabels = map[string]string{
	"child.name":                      "child’s name",
	"child.sex":                       "child’s sex",
	"child.dateOfBirth":               "child’s date of birth",
	"child.placeOfBirth":              "place of birth",
	"parents.role":                    "informant’s role as a parent",
	"parents.name":                    "informant’s name",
	"parents.dateOfBirth":             "informant’s date of birth",
	"parents.nationalInsuranceNumber": "informant’s National Insurance number",
	"parents.address":                 "informant’s address",
	"parents.address.lines":           "informant’s address",
	"parents.address.town":            "informant’s town",
	"parents.address.postcode":        "informant’s postcode",
	"parents.address.uprn":            "informant’s property reference number (UPRN)",
	"informant.name":                  "informant’s name",
	"informant.capacity":              "informant’s relationship to the child",
	"informant.parent":                "which parent the informant is",
}

// fieldLabel returns the readable name of a declared payload field, or the
// dotted path itself when it has none.
func fieldLabel(path string) string {
	if label, ok := fieldLabels[path]; ok {
		return label
	}
	return path
}

// consentFieldList lists in words the declared fields that a service
// told on consent receives, each named once, as in "child’s name and
// informant’s name".
func consentFieldList(fields []string) string {
	var labels []string
	for _, f := range fields {
		if label := fieldLabel(f); !slices.Contains(labels, label) {
			labels = append(labels, label)
		}
	}
	return joinWords(labels, "")
}

// errorFor returns the first message for the field at pointer or any field
// inside it, or "".
func errorFor(errs []formError, pointer string) string {
	for _, e := range errs {
		if e.Field == pointer || strings.HasPrefix(e.Field, pointer+"/") {
			return e.Message
		}
	}
	return ""
}
