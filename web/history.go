package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
)

// Audit history on a resident's record is read a page at a time, newest
// first, because a parent with many children's events can have more
// entries than one response should carry.
const (
	defaultHistoryLimit = 200
	maxHistoryLimit     = 500
)

// historyPage selects one page of a record's audit history.
type historyPage struct {
	// Before, when above 0, keeps only entries whose sequence number is
	// below it.
	Before uint64
	Limit  int
}

// historyQuery reads the before and limit query parameters of a record.
func historyQuery(q url.Values) (historyPage, error) {
	var fields []joinedup.FieldError
	page := historyPage{Limit: defaultHistoryLimit}
	// An empty value is refused, as the paged lists refuse an empty
	// cursor, rather than read as the first page.
	if q.Has("before") {
		n, err := strconv.ParseUint(q.Get("before"), 10, 63)
		if err != nil || n == 0 {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/before", Message: "Before must be a whole number, 1 or more, such as the nextBefore of the previous page."})
		}
		page.Before = n
	}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxHistoryLimit {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/limit", Message: "Limit must be a whole number from 1 to " + strconv.Itoa(maxHistoryLimit) + "."})
		}
		page.Limit = n
	}
	if len(fields) > 0 {
		return page, joinedup.Invalid("The query has invalid parameters.", fields...)
	}
	return page, nil
}

// hiddenBefore is how long before a hidden use of break glass the
// worker's accesses to the resident are hidden with it.
//
// NOTE: the hour is a judgement, not a rule from elsewhere. A search made
// earlier in the same enquiry stays on the resident's record.
const hiddenBefore = time.Hour

// history returns one page of the audit entries about the resident and
// their children's events, and the sequence number to pass as before for
// the next page, or 0 when there are no older entries. For a resident it
// leaves out entries whose detail contains a hiddenUntil date after today, so
// a page can hold fewer than page.Limit entries and still have a next one.
func (s *Server) history(ctx context.Context, resident string, page historyPage, forResident bool) ([]recordAccess, uint64, error) {
	entries, err := s.Records.History(ctx, resident, page.Before, page.Limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("read audit history: %w", err)
	}
	var next uint64
	if len(entries) > page.Limit {
		entries = entries[:page.Limit]
		next = entries[len(entries)-1].Seq
	}

	today := joinedup.Today(s.Now())
	// A hidden use of break glass hides the worker's own accesses to the
	// resident in the hour before it too, such as the search that found
	// the record, because they belong to the same enquiry.
	var hidden []*Grant
	if forResident {
		grants, err := s.Records.HiddenGrants(ctx, resident)
		if err != nil {
			return nil, 0, fmt.Errorf("read hidden break-glass grants: %w", err)
		}
		hidden = slices.DeleteFunc(grants, func(g *Grant) bool { return !today.Before(g.HiddenUntil) })
	}
	out := []recordAccess{}
	var names map[joinedup.ServiceID]string // service names, read on first use
	for _, e := range entries {
		var detail struct {
			HiddenUntil string             `json:"hiddenUntil"`
			Operation   string             `json:"operation"`
			Service     joinedup.ServiceID `json:"service"`
			Kind        string             `json:"kind"`
			Attempt     int                `json:"attempt"`
			Generation  int                `json:"generation"`
		}
		_ = json.Unmarshal(e.Detail, &detail)
		if forResident && detail.HiddenUntil != "" {
			until, err := joinedup.ParseDate(detail.HiddenUntil)
			if err != nil || today.Before(until) {
				continue
			}
		}
		if slices.ContainsFunc(hidden, func(g *Grant) bool {
			return e.Actor == g.Worker && !e.Time.After(g.IssuedAt) && e.Time.After(g.IssuedAt.Add(-hiddenBefore))
		}) {
			continue
		}
		a := recordAccess{Time: e.Time, Actor: e.Actor, Action: e.Action, Operation: detail.Operation, Subject: e.Subject, Purpose: e.Purpose, Reasons: e.Reasons}
		if a.Reasons == nil {
			a.Reasons = []string{}
		}
		if detail.Service != "" {
			if names == nil && s.Services != nil {
				if names, err = s.serviceNames(ctx); err != nil {
					return nil, 0, err
				}
			}
			a.Service, a.ServiceName = detail.Service, cmp.Or(names[detail.Service], string(detail.Service))
		}
		a.ActionInWords = actionInWords(e.Action, detail.Operation, detail.Kind)
		if e.Action == audit.ActionDisclosure && detail.Attempt > 0 {
			a.Attempt, a.Generation = detail.Attempt, detail.Generation
			a.ActionInWords = attemptInWords(detail.Kind, detail.Attempt, detail.Generation)
		}
		a.ReasonsInWords = make([]string, len(a.Reasons))
		for i, r := range a.Reasons {
			a.ReasonsInWords[i] = s.reasonInWords(r, a.ServiceName)
		}
		if acct, err := s.Records.FindAccount(ctx, e.Actor); err == nil {
			a.Actor, a.Role = acct.Username, string(acct.Role)
		}
		out = append(out, a)
	}
	return out, next, nil
}

// registrationReasons gives in words the reasons that the hub records
// when a birth is registered, which name no service.
var registrationReasons = map[string]string{
	audit.ReasonInformantChose: "The informant chose this when the birth was registered.",
	audit.ReasonNotAParent:     "The informant is not a parent, so could not consent.",
	audit.ReasonLawRequires:    "The law requires the service to be told, so the informant was not asked.",
}

// reasonInWords returns a stored reason as a sentence a resident can
// read: an access policy's @reason, or a reason the hub records when it
// sends a service a notice, with the service named as service. Any other
// reason, such as one a social worker typed for break glass, is returned
// unchanged.
func (s *Server) reasonInWords(reason, service string) string {
	if s.Policies != nil {
		if text := s.Policies.Reason(reason); text != "" {
			return text
		}
	}
	kind, named := audit.ParseReason(reason)
	if kind == audit.ReasonRegistration {
		return registrationReasons[reason]
	}
	if service == "" {
		return reason
	}
	switch kind {
	case audit.ReasonConsentGiven:
		return "The informant consented to " + service + " being told."
	case audit.ReasonConsentWithdrawn:
		return "Consent to tell " + service + " was withdrawn, so nothing more is shared with it."
	case audit.ReasonWithdrawalNotice:
		return "Consent to tell " + service + " was withdrawn, so the hub sends it a notice of the withdrawal."
	case audit.ReasonActionDue:
		return service + " asked to be reminded of this."
	case audit.ReasonLawfulBasis:
		return "The law requires " + service + " to be told: " + strings.TrimSuffix(named, ".") + "."
	}
	return reason
}

// operationTexts names what an access did, as a resident reads it.
var operationTexts = map[string]string{
	"read":             "Record viewed",
	"read progress":    "Progress of a life event viewed",
	"search":           "Found in a search",
	"list":             "Included in a list that staff viewed",
	"list progress":    "Progress included in a list that staff viewed",
	"register":         "Life event registered",
	"match":            "Compared with other records of people",
	"list reviews":     "Possible matches listed",
	"decide review":    "Possible match decided",
	"replay":           "Notice sent again",
	"withdraw-consent": "Consent changed",
}

// actionInWords returns an audit entry's action in words. An access is
// named by its operation, and a disclosure by the kind of notice sent.
func actionInWords(action, operation, kind string) string {
	switch {
	case action == audit.ActionAccess && operationTexts[operation] != "":
		return operationTexts[operation]
	case action == audit.ActionDisclosure && kind == joinedup.EventConsentWithdrawn:
		return "Notice of a withdrawal sent to a service, or an attempt made to send it"
	case action == audit.ActionDisclosure && kind == joinedup.EventActionDue:
		return "Service reminded of an action it planned"
	case action == audit.ActionAccess && operation != "":
		return actionText(action) + " (" + operation + ")"
	}
	return actionText(action)
}

// attemptInWords names one attempt at a disclosure by its number, so that
// several attempts to send the same notice do not read as several
// disclosures. generation counts the replays by staff before the attempt,
// each of which numbers its attempts from 1 again.
func attemptInWords(kind string, attempt, generation int) string {
	action := "send details to a service"
	switch kind {
	case joinedup.EventConsentWithdrawn:
		action = "tell a service that consent was withdrawn"
	case joinedup.EventActionDue:
		action = "remind a service of an action it planned"
	}
	text := "Attempt " + strconv.Itoa(attempt) + " to " + action
	if generation > 0 {
		text += ", in resend " + strconv.Itoa(generation) + " by staff"
	}
	return text
}
