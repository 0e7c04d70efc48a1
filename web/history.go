package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/joinedup/joinedup"
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
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil || n == 0 {
			fields = append(fields, joinedup.FieldError{Field: "/before", Message: "Before must be a whole number, 1 or more, such as the nextBefore of the previous page."})
		}
		page.Before = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryLimit {
			fields = append(fields, joinedup.FieldError{Field: "/limit", Message: "Limit must be a whole number from 1 to " + strconv.Itoa(maxHistoryLimit) + "."})
		}
		page.Limit = n
	}
	if len(fields) > 0 {
		return page, joinedup.Invalid("The query has invalid parameters.", fields...)
	}
	return page, nil
}

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
	out := []recordAccess{}
	var names map[joinedup.ServiceID]string // service names, read on first use
	for _, e := range entries {
		var detail struct {
			HiddenUntil string             `json:"hiddenUntil"`
			Operation   string             `json:"operation"`
			Service     joinedup.ServiceID `json:"service"`
		}
		_ = json.Unmarshal(e.Detail, &detail)
		if forResident && detail.HiddenUntil != "" {
			until, err := joinedup.ParseDate(detail.HiddenUntil)
			if err != nil || today.Before(until) {
				continue
			}
		}
		a := recordAccess{Time: e.Time, Actor: e.Actor, Action: e.Action, Operation: detail.Operation, Subject: e.Subject, Purpose: e.Purpose, Reasons: e.Reasons}
		if a.Reasons == nil {
			a.Reasons = []string{}
		}
		a.ReasonsInWords = make([]string, len(a.Reasons))
		for i, r := range a.Reasons {
			a.ReasonsInWords[i] = r
			if s.Policies != nil {
				if reason := s.Policies.Reason(r); reason != "" {
					a.ReasonsInWords[i] = reason
				}
			}
		}
		if detail.Service != "" && s.Services != nil {
			if names == nil {
				names, err = s.serviceNames(ctx)
				if err != nil {
					return nil, 0, err
				}
			}
			a.Service = names[detail.Service]
			if a.Service == "" {
				a.Service = string(detail.Service)
			}
		}
		if acct, err := s.Records.FindAccount(ctx, e.Actor); err == nil {
			a.Actor, a.Role = acct.Username, string(acct.Role)
		}
		out = append(out, a)
	}
	return out, next, nil
}
