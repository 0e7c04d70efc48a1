package web

import (
	"net/http"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/policy"
)

// maxNotices is how many of a service's notices a page or a response
// shows, newest first.
const maxNotices = 100

// serviceNotices returns the notices the service in the path received,
// newest first: its deliveries of life events, withdrawal notices and due
// actions. The policies decide on the service's notices as a whole and
// then on each delivery, and each delivery shown is recorded.
func (s *Server) serviceNotices(r *http.Request) (*joinedup.Service, []*joinedup.Delivery, error) {
	ctx := r.Context()
	account := principalOf(r)
	svc, err := s.Services.FindService(ctx, joinedup.ServiceID(r.PathValue("id")))
	if err != nil {
		return nil, nil, err
	}
	purpose := purposeOf(account.Role)
	d, _, err := s.decide(ctx, account, policy.ActionRead, policy.Resource{Kind: policy.KindNotices, ID: string(svc.ID), Service: svc.ID, Organisation: svc.Organisation}, purpose)
	if err != nil {
		return nil, nil, err
	}
	if !d.Allowed {
		// Staff may list the services, so a service that exists is no
		// secret and a denied read is 403 rather than 404.
		s.Logger.InfoContext(ctx, "access denied", "account_id", account.ID, "kind", policy.KindNotices, "service", svc.ID, "request_id", requestID(ctx))
		return nil, nil, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not read the notices of service %q. Only the officers of that service can.", svc.ID)
	}

	deliveries, err := s.Records.ServiceDeliveries(ctx, svc.ID, maxNotices)
	if err != nil {
		return nil, nil, err
	}
	var shown []*joinedup.Delivery
	var accesses []access
	for _, delivery := range deliveries {
		res := deliveryResource(delivery)
		decision, _, err := s.decide(ctx, account, policy.ActionRead, res, purpose)
		if err != nil {
			return nil, nil, err
		}
		if !decision.Allowed {
			continue
		}
		shown = append(shown, delivery)
		accesses = append(accesses, access{
			account: account, action: audit.ActionAccess, subject: res.Subject, purpose: purpose, reasons: append(d.Reasons, decision.Reasons...),
			detail: map[string]any{"resource": "Delivery:" + res.ID, "operation": "list", "route": r.Pattern, "service": svc.ID},
		})
	}
	return svc, shown, s.record(ctx, bySubject(accesses)...)
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) {
	_, deliveries, err := s.serviceNotices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The query is checked after access, as the other lists of one
	// record or service check theirs.
	if err := onlyParams(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	if deliveries == nil {
		deliveries = []*joinedup.Delivery{}
	}
	writeJSON(w, http.StatusOK, deliveryList{Items: deliveries, Total: len(deliveries), Limit: maxNotices})
}

type noticesView struct {
	Service *joinedup.Service
	Rows    []deliveryRow
}

func (s *Server) noticesPage(w http.ResponseWriter, r *http.Request) {
	svc, deliveries, err := s.serviceNotices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.deliveryRows(r, deliveries)
	if err == nil {
		err = s.addEventLinks(r, rows)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "notices.html", page{
		Title: "Received by " + svc.Name, Nav: navNotices, Data: noticesView{Service: svc, Rows: rows},
	})
}
