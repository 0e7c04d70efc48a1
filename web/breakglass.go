package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

type breakGlassView struct {
	Resident string
	MaxHours int
	Reason   string
	Hours    string
	Hidden   dateValue
}

// mayBreakGlass reports whether the signed-in account may obtain a
// break-glass grant for resident id, an existing resident's account.
func (s *Server) mayBreakGlass(r *http.Request, id string) bool {
	account := principalOf(r)
	if account.Role != policy.RoleSocialWorker {
		return false
	}
	resident, err := s.Records.FindAccount(r.Context(), id)
	if err != nil || resident.Role != policy.RoleResident {
		return false
	}
	d, _, err := s.decide(r.Context(), account, policy.ActionBreakGlass, policy.Resource{Kind: policy.KindRecord, ID: id, Subject: id}, policy.PurposeSafeguarding)
	return err == nil && d.Allowed
}

// mayReadRecord reports whether the signed-in account may read the record
// of the resident id without breaking the glass. Nothing is recorded in
// the audit log, because the record itself records its reads.
func (s *Server) mayReadRecord(r *http.Request, id string) bool {
	account := principalOf(r)
	resident, err := s.Records.FindAccount(r.Context(), id)
	if err != nil || resident.Role != policy.RoleResident {
		return false
	}
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, policy.Resource{Kind: policy.KindRecord, ID: id, Subject: id}, purposeOf(account.Role))
	return err == nil && d.Allowed
}

// breakGlass issues a break-glass grant for the resident's record with the
// stated reason and duration, stores it for review, records it in the
// audit log and opens the record.
// maxHiddenYears bounds how far ahead an access may be hidden from the
// resident; the review page shows every date set.
const maxHiddenYears = 2

func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	id := r.PathValue("id")
	if s.mayReadRecord(r, id) {
		// The worker can open the record already, as its allocated worker
		// or under a grant that is still running, so none is issued.
		http.Redirect(w, r, "/residents/"+url.PathEscape(id)+"?access=already-open", http.StatusSeeOther)
		return
	}
	if !s.mayBreakGlass(r, id) {
		s.fail(w, r, errHidden("resident record"))
		return
	}
	account := principalOf(r)
	view := breakGlassView{
		Resident: id, MaxHours: int(policy.MaxBreakGlassDuration / time.Hour),
		Reason: r.PostForm.Get("reason"), Hours: strings.TrimSpace(r.PostForm.Get("hours")), Hidden: dateFrom(r.PostForm, "hidden"),
	}

	hours, err := strconv.Atoi(view.Hours)
	if err != nil {
		hours = 0
	}
	var hidden joinedup.Date
	var fields []joinedup.FieldError
	if view.Hidden != (dateValue{}) {
		today := joinedup.Today(s.Now())
		var message string
		// The date input reads as the birth form's do, so a month may be a
		// name, such as March.
		if hidden, message, _ = parseDate(view.Hidden, "The date"); message != "" {
			fields = append(fields, joinedup.FieldError{Field: "/hidden", Message: message + ", or leave the date empty"})
		} else if !hidden.After(today) || hidden.After(today.AddDate(maxHiddenYears, 0, 0)) {
			fields = append(fields, joinedup.FieldError{Field: "/hidden",
				Message: fmt.Sprintf("The date must be after today and within %d years, or leave it empty", maxHiddenYears)})
		}
	}
	grant, d, err := s.Policies.GrantBreakGlass(account.Principal(), id, view.Reason, s.Now(), time.Duration(hours)*time.Hour)
	if err != nil && joinedup.ErrorCode(err) != joinedup.EINVALID {
		s.fail(w, r, err)
		return
	}
	fields = append(fields, joinedup.ErrorFields(err)...)
	if len(fields) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "break-glass.html", page{
			Title: "You have no access to this record", Errors: formErrors(fields, nil), Data: view,
		})
		return
	}

	stored := &Grant{Grant: *grant, HiddenUntil: hidden}
	if err := s.Records.SaveGrant(r.Context(), stored); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Logger.WarnContext(r.Context(), "break glass used", "account_id", account.ID, "grant_id", grant.ID, "request_id", requestID(r.Context()))
	if err := s.record(r.Context(), access{
		account: account, action: audit.ActionBreakGlass, subject: id, purpose: policy.PurposeSafeguarding, reasons: append(d.Reasons, grant.Reason),
		detail: grantDetail(map[string]any{"expiresAt": grant.ExpiresAt.Format(time.RFC3339)}, stored),
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/residents/"+url.PathEscape(id), http.StatusSeeOther)
}

type residentsView struct {
	Query   string
	Results []residentResult
}

type residentResult struct {
	Account    *auth.Account
	BreakGlass bool // the record opens only with break glass
	// Grant is the break-glass grant the record opens with now, if any.
	Grant *policy.Grant
}

// maxSearchResults is how many residents a search shows.
const maxSearchResults = 20

// searchResidents finds residents by user name or National Insurance
// number. A result is listed when the policies let the social worker read
// the record or obtain a break-glass grant for it, and each listed result
// is recorded as an access.
func (s *Server) searchResidents(w http.ResponseWriter, r *http.Request) {
	account := principalOf(r)
	view := residentsView{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if view.Query != "" {
		found, err := s.Records.SearchResidents(r.Context(), view.Query, maxSearchResults)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var accesses []access
		for _, resident := range found {
			res := policy.Resource{Kind: policy.KindRecord, ID: resident.ID, Subject: resident.ID}
			d, grant, err := s.decide(r.Context(), account, policy.ActionRead, res, purposeOf(account.Role))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			result := residentResult{Account: resident}
			if grant != nil {
				result.Grant = &grant.Grant
			}
			if !d.Allowed {
				if d, _, err = s.decide(r.Context(), account, policy.ActionBreakGlass, res, policy.PurposeSafeguarding); err != nil {
					s.fail(w, r, err)
					return
				}
				if !d.Allowed {
					continue
				}
				result.BreakGlass = true
			}
			view.Results = append(view.Results, result)
			accesses = append(accesses, access{
				account: account, action: audit.ActionAccess, subject: resident.ID, purpose: purposeOf(account.Role), reasons: d.Reasons,
				detail: grantDetail(map[string]any{"resource": "Record:" + resident.ID, "operation": "search", "route": r.Pattern}, grant),
			})
		}
		if err := s.record(r.Context(), accesses...); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "residents.html", page{Title: "Find a resident", Nav: navResidents, Data: view})
}

type reviewsView struct {
	Grants []*Grant
	Names  map[string]string
	// Uses are the descriptions of the grants, by id, that the Sign off
	// buttons and the banner show: who opened whose record and when.
	Uses     map[string]string
	Reviewed string
	// ErrorFor is the grant whose sign-off was refused, with the Note
	// sent and the Error that refused it.
	ErrorFor, Note, Error string
}

// describeUses returns, for each grant by its id, who opened whose record
// and when, with the account names in names where they are known. Grants
// that these words do not tell apart also get their place in the list,
// so that each Sign off button's text is unique on the page.
func describeUses(grants []*Grant, names map[string]string) map[string]string {
	nameOf := func(id string) string { return cmp.Or(names[id], id) }
	uses := make(map[string]string, len(grants))
	count := map[string]int{}
	for _, g := range grants {
		use := fmt.Sprintf("%s opening the record of %s on %s", nameOf(g.Worker), nameOf(g.Resident), londonTime(g.IssuedAt))
		uses[g.ID] = use
		count[use]++
	}
	for i, g := range grants {
		if count[uses[g.ID]] > 1 {
			uses[g.ID] += fmt.Sprintf(", number %d in the list", i+1)
		}
	}
	return uses
}

// breakGlassReviews lists every break-glass grant for a data protection
// officer to review.
func (s *Server) breakGlassReviews(w http.ResponseWriter, r *http.Request) {
	s.showReviews(w, r, http.StatusOK, reviewsView{Reviewed: r.URL.Query().Get("reviewed")})
}

// showReviews lists every break-glass grant with view's banner or error,
// and records the list in the audit log.
func (s *Server) showReviews(w http.ResponseWriter, r *http.Request, status int, view reviewsView) {
	account := principalOf(r)
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, policy.Resource{Kind: policy.KindBreakGlassReview, ID: "all"}, purposeOf(account.Role))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !d.Allowed {
		s.fail(w, r, joinedup.Errorf(joinedup.EFORBIDDEN, "Only a data protection officer can review break-glass use."))
		return
	}
	grants, err := s.Records.ListGrants(r.Context(), 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	var accesses []access
	for _, g := range grants {
		for _, id := range []string{g.Worker, g.Resident, g.ReviewedBy} {
			if a, err := s.Records.FindAccount(r.Context(), id); err == nil {
				names[id] = a.Username
			}
		}
		// The entry is about the resident, so it stays hidden from them
		// as long as the grant does.
		accesses = append(accesses, access{
			account: account, action: audit.ActionAccess, subject: g.Resident, purpose: policy.PurposeAudit, reasons: d.Reasons,
			detail: grantDetail(map[string]any{"resource": "BreakGlassReview:" + g.ID, "operation": "list", "route": r.Pattern}, g),
		})
	}
	if err := s.record(r.Context(), accesses...); err != nil {
		s.fail(w, r, err)
		return
	}
	view.Grants, view.Names, view.Uses = grants, names, describeUses(grants, names)
	// The banner names a grant from the address, so it shows only for a
	// grant that exists and is signed off.
	if view.Reviewed != "" {
		if g, err := s.Records.FindGrant(r.Context(), view.Reviewed); err != nil || g.ReviewedBy == "" {
			view.Reviewed = ""
		}
	}
	p := page{Title: "Break-glass use to review", Nav: navReviews, Data: view}
	if view.Error != "" {
		p.Errors = []formError{{Field: "/note", Href: "note-" + view.ErrorFor, Message: view.Error}}
	}
	s.render(w, r, status, "break-glass-reviews.html", p)
}

// maxReviewNote bounds a review note, in characters, as
// policy.MaxBreakGlassReason bounds the reason it reviews.
const maxReviewNote = policy.MaxBreakGlassReason

// reviewBreakGlass signs off one use of break glass with a note. The
// no-self-review policy stops a reviewer signing off their own grant. A
// note that is empty, too long or contains control or invisible characters
// gets 422 and changes nothing.
func (s *Server) reviewBreakGlass(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	account := principalOf(r)
	grant, err := s.Records.FindGrant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := policy.Resource{Kind: policy.KindBreakGlassReview, ID: grant.ID, Subject: grant.Resident, Worker: grant.Worker}
	d, _, err := s.decide(r.Context(), account, policy.ActionWrite, res, purposeOf(account.Role))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !d.Allowed {
		s.fail(w, r, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not review this use of break glass."))
		return
	}
	// A browser sends each line break as CRLF, which counts as one
	// character, as the reader sees it.
	note := norm.NFC.String(strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("note"), "\r\n", "\n")))
	problem := joinedup.FreeTextProblem("The review note", note)
	if note == "" {
		problem = "Enter what you checked about this use of break glass"
	} else if utf8.RuneCountInString(note) > maxReviewNote {
		problem = fmt.Sprintf("The review note must be %d characters or fewer", maxReviewNote)
	}
	if problem != "" {
		s.showReviews(w, r, http.StatusUnprocessableEntity, reviewsView{ErrorFor: grant.ID, Note: r.PostForm.Get("note"), Error: problem})
		return
	}
	if err := s.Records.ReviewGrant(r.Context(), grant.ID, account.ID, note, s.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.record(r.Context(), access{
		account: account, action: audit.ActionBreakGlassReviewed, subject: grant.Resident, purpose: policy.PurposeAudit, reasons: d.Reasons,
		detail: grantDetail(map[string]any{"grant": grant.ID, "note": note}, grant),
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/dpo/break-glass?"+url.Values{"reviewed": {grant.ID}}.Encode(), http.StatusSeeOther)
}
