package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/linkage"
	"github.com/joinedup/joinedup/policy"
)

// PersonIndex is the hub's person index, which linkage.Persons
// implements.
type PersonIndex interface {
	// Match scores a record against the index without adding it; the
	// result's CandidateID is a person id.
	Match(ctx context.Context, r linkage.Record) (linkage.Result, error)
	// Reviews returns up to limit reviews in a state, oldest first.
	Reviews(ctx context.Context, state linkage.ReviewState, limit int) ([]*linkage.Review, error)
	// Review returns one review, or ENOTFOUND.
	Review(ctx context.Context, id string) (*linkage.Review, error)
	// Decide confirms or rejects an open review, with a reason.
	Decide(ctx context.Context, id string, confirm bool, reason, decidedBy string) (*linkage.Review, error)
	// Record returns a record of the index.
	Record(ctx context.Context, source, recordID string) (*linkage.PersonRecord, error)
}

// comparisonLabels are the names people read for the fields that the
// matcher compares.
var comparisonLabels = map[string]string{
	linkage.FieldGivenName:   "Given name",
	linkage.FieldFamilyName:  "Family name",
	linkage.FieldDateOfBirth: "Date of birth",
	linkage.FieldSex:         "Sex",
	linkage.FieldAddress:     "Address",
	linkage.FieldTown:        "Town",
	linkage.FieldPostcode:    "Postcode",
	linkage.FieldNINO:        "National Insurance number",
	linkage.FieldNHSNumber:   "NHS number",
	linkage.FieldEmail:       "Email address",
}

// comparisonLabel returns the label of a compared field.
func comparisonLabel(field string) string { return textOr(comparisonLabels, field) }

// personIndex is the policy resource of the whole person index.
var personIndex = policy.Resource{Kind: policy.KindPersonIndex, ID: "all"}

// matchResult is the body of the response to POST /api/v1/persons/match.
type matchResult struct {
	Decision    linkage.Decision          `json:"decision"`
	PersonID    string                    `json:"personId,omitempty"`
	Weight      float64                   `json:"weight"`
	Probability float64                   `json:"probability"`
	Fields      []linkage.FieldComparison `json:"fields"`
}

// decidePersons decides whether the caller may read or write the person
// index. A caller who may not gets EFORBIDDEN. Handlers call it before
// they check the request, so that such a caller learns nothing from those
// checks.
func (s *Server) decidePersons(r *http.Request, action policy.Action) (policy.Decision, error) {
	if s.Persons == nil {
		return policy.Decision{}, joinedup.Errorf(joinedup.ENOTFOUND, "The person index is not enabled on this hub.")
	}
	account := principalOf(r)
	d, _, err := s.decide(r.Context(), account, action, personIndex, purposeOf(account.Role))
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", personIndex.Kind, "action", action, "request_id", requestID(r.Context()))
		if action == policy.ActionRead {
			return d, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not match records against the person index. Registrars and operators can.")
		}
		return d, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not review possible matches in the person index. Operators can.")
	}
	return d, nil
}

// recordPersons records an access to the person index that decidePersons
// allowed with d.
func (s *Server) recordPersons(r *http.Request, d policy.Decision, detail map[string]any) error {
	account := principalOf(r)
	detail["route"] = r.Pattern
	return s.record(r.Context(), access{account: account, action: audit.ActionAccess, subject: "person-index",
		purpose: purposeOf(account.Role), reasons: d.Reasons, detail: detail})
}

// matchPerson scores one record against the person index.
func (s *Server) matchPerson(w http.ResponseWriter, r *http.Request) {
	d, err := s.decidePersons(r, policy.ActionRead)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rec linkage.Record
	if err := decodeBody(w, r, personRecordSchema, &rec); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recordPersons(r, d, map[string]any{"operation": "match"}); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Persons.Match(r.Context(), rec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := matchResult{Decision: res.Decision, PersonID: res.CandidateID, Weight: res.Weight, Probability: res.Probability, Fields: res.Fields}
	if out.Fields == nil {
		out.Fields = []linkage.FieldComparison{}
	}
	writeJSON(w, http.StatusOK, out)
}

// review is a review of the person index as the API and the page show it.
type review struct {
	ID          string                    `json:"id"`
	State       linkage.ReviewState       `json:"state"`
	Record      linkage.RecordKey         `json:"record"`
	Candidate   linkage.RecordKey         `json:"candidate"`
	Weight      float64                   `json:"weight"`
	Probability float64                   `json:"probability"`
	Fields      []linkage.FieldComparison `json:"fields"`
	Reason      string                    `json:"reason,omitempty"`
	DecidedBy   string                    `json:"decidedBy,omitempty"`
	CreatedAt   string                    `json:"createdAt"`
	DecidedAt   string                    `json:"decidedAt,omitempty"`
}

func toReview(v *linkage.Review) review {
	out := review{
		ID: v.ID, State: v.State, Weight: v.Weight, Probability: v.Probability, Fields: v.Fields,
		Record:    linkage.RecordKey{Source: v.Source, RecordID: v.RecordID},
		Candidate: linkage.RecordKey{Source: v.CandidateSource, RecordID: v.CandidateRecordID},
		Reason:    v.Reason, DecidedBy: v.DecidedBy, CreatedAt: v.CreatedAt.UTC().Format(timeFormat),
	}
	if !v.DecidedAt.IsZero() {
		out.DecidedAt = v.DecidedAt.UTC().Format(timeFormat)
	}
	if out.Fields == nil {
		out.Fields = []linkage.FieldComparison{}
	}
	return out
}

const timeFormat = "2006-01-02T15:04:05.999999Z07:00"

// reviewState reads the state filter of a review list, open by default.
func reviewState(r *http.Request) (linkage.ReviewState, error) {
	switch st := linkage.ReviewState(r.URL.Query().Get("state")); st {
	case "":
		return linkage.ReviewOpen, nil
	case linkage.ReviewOpen, linkage.ReviewConfirmed, linkage.ReviewRejected:
		return st, nil
	default:
		return "", joinedup.Invalid("Unknown review state.",
			joinedup.FieldError{In: joinedup.InQuery, Field: "/state", Message: "state must be open, confirmed or rejected"})
	}
}

// listPersonReviews lists reviews of the person index.
func (s *Server) listPersonReviews(w http.ResponseWriter, r *http.Request) {
	d, err := s.decidePersons(r, policy.ActionWrite)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := onlyParams(r.URL.Query(), "state"); err != nil {
		s.fail(w, r, err)
		return
	}
	state, err := reviewState(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recordPersons(r, d, map[string]any{"operation": "list reviews"}); err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Persons.Reviews(r.Context(), state, 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]review, len(list))
	for i, v := range list {
		items[i] = toReview(v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// reviewDecision is the body of a decision on a review.
type reviewDecision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// decidePersonReview confirms or rejects a review through the API.
func (s *Server) decidePersonReview(w http.ResponseWriter, r *http.Request) {
	if _, err := s.decidePersons(r, policy.ActionWrite); err != nil {
		s.fail(w, r, err)
		return
	}
	var body reviewDecision
	if err := decodeBody(w, r, reviewDecisionSchema, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.decideReview(r, r.PathValue("id"), body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toReview(v))
}

// decideReview checks and records one decision on a review. The caller
// is authorised before the decision is checked.
func (s *Server) decideReview(r *http.Request, id string, body reviewDecision) (*linkage.Review, error) {
	d, err := s.decidePersons(r, policy.ActionWrite)
	if err != nil {
		return nil, err
	}
	// Both fields are checked, so that every error shows at once.
	var fields []joinedup.FieldError
	if body.Decision != "confirm" && body.Decision != "reject" {
		fields = append(fields, joinedup.FieldError{Field: "/decision", Message: "Select whether the records are the same person"})
	}
	reason, err := linkage.CheckReviewReason(body.Reason)
	fields = append(fields, joinedup.ErrorFields(err)...)
	if len(fields) > 0 {
		return nil, joinedup.Invalid("The decision is invalid.", fields...)
	}
	if err := s.recordPersons(r, d, map[string]any{"operation": "decide review", "review": id, "decision": body.Decision}); err != nil {
		return nil, err
	}
	return s.Persons.Decide(r.Context(), id, body.Decision == "confirm", reason, principalOf(r).ID)
}

// reviewsPageView is the data of the person index review page.
type reviewsPageView struct {
	State   linkage.ReviewState
	Reviews []reviewRow
	Decided string
	Errors  map[string]string
}

// reviewRow is one review with both records, for a person to compare.
type reviewRow struct {
	Review    review
	Record    *linkage.Record
	Candidate *linkage.Record
	// DecidedBy is the user name of the account that decided the review.
	DecidedBy string
}

// personReviewsPage lists the reviews of the person index, with both
// records side by side and a form to confirm or reject each open one.
func (s *Server) personReviewsPage(w http.ResponseWriter, r *http.Request) {
	s.renderPersonReviews(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderPersonReviews(w http.ResponseWriter, r *http.Request, status int, errs []formError, fieldErrs map[string]string) {
	d, err := s.decidePersons(r, policy.ActionWrite)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	state, err := reviewState(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.recordPersons(r, d, map[string]any{"operation": "list reviews"}); err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Persons.Reviews(r.Context(), state, 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view := reviewsPageView{State: state, Errors: fieldErrs}
	// The banner names a review from the address, so it shows only for a
	// review that exists and is decided.
	if id := r.URL.Query().Get("decided"); id != "" {
		if v, err := s.Persons.Review(r.Context(), id); err == nil && v.State != linkage.ReviewOpen {
			view.Decided = id
		}
	}
	for _, v := range list {
		row := reviewRow{Review: toReview(v)}
		row.DecidedBy = row.Review.DecidedBy
		if row.DecidedBy != "" {
			if a, err := s.Records.FindAccount(r.Context(), row.DecidedBy); err == nil {
				row.DecidedBy = a.Username
			}
		}
		if rec, err := s.Persons.Record(r.Context(), v.Source, v.RecordID); err == nil {
			row.Record = &rec.Record
		}
		if rec, err := s.Persons.Record(r.Context(), v.CandidateSource, v.CandidateRecordID); err == nil {
			row.Candidate = &rec.Record
		}
		view.Reviews = append(view.Reviews, row)
	}
	title := "Possible matches"
	s.render(w, r, status, "person-reviews.html", page{Title: title, Nav: navPersons, Errors: errs, Data: view})
}

// decidePersonReviewForm takes a decision from the review page.
func (s *Server) decidePersonReviewForm(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	id := r.PathValue("id")
	body := reviewDecision{Decision: r.PostForm.Get("decision"), Reason: r.PostForm.Get("reason")}
	_, err := s.decideReview(r, id, body)
	if joinedup.ErrorCode(err) == joinedup.EINVALID {
		var errs []formError
		fields := map[string]string{}
		for _, fe := range joinedup.ErrorFields(err) {
			name := strings.TrimPrefix(fe.Field, "/")
			errs = append(errs, formError{Field: name, Href: name + "-" + id, Message: fe.Message})
			fields[id+"/"+name] = fe.Message
		}
		s.renderPersonReviews(w, r, http.StatusUnprocessableEntity, errs, fields)
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator/persons/reviews?"+url.Values{"decided": {id}}.Encode(), http.StatusSeeOther)
}
