package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/policy"
)

// defaultNoticeLimit is how many of a service's notices a page or a
// response shows when the request names no limit.
const defaultNoticeLimit = maxPageSize

// noticesPage is one page of the notices a service received, newest
// first: its deliveries of life events, withdrawal notices and due
// actions.
type noticesPage struct {
	Service    *joinedup.Service
	Deliveries []*joinedup.Delivery
	// Page is the page as the store returned it. Its Total counts every
	// notice of the service, including those the account may not see,
	// so that the offsets stay those of the whole list.
	Page  joinedup.DeliveryPage
	Limit int
}

// serviceNotices returns the page of the notices of the service in the
// path that the offset and limit query parameters choose. The policies
// decide on the service's notices as a whole and then on each delivery,
// and each delivery shown is recorded. The query is checked after the
// first decision, as the other lists of one record or service check
// theirs, so a caller who may not read the notices gets 403 whatever the
// query.
func (s *Server) serviceNotices(r *http.Request) (*noticesPage, error) {
	ctx := r.Context()
	account := principalOf(r)
	id := joinedup.ServiceID(r.PathValue("id"))
	svc, err := s.Services.FindService(ctx, id)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %s.", quoteInput(string(id)))
	} else if err != nil {
		return nil, err
	}
	purpose := purposeOf(account.Role)
	d, _, err := s.decide(ctx, account, policy.ActionRead, policy.Resource{Kind: policy.KindNotices, ID: string(svc.ID), Service: svc.ID, Organisation: svc.Organisation}, purpose)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		// Staff may list the services, so a service that exists is no
		// secret and a denied read is 403 rather than 404.
		s.Logger.InfoContext(ctx, "access denied", "account_id", account.ID, "kind", policy.KindNotices, "service", svc.ID, "request_id", requestID(ctx))
		return nil, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not read the notices of service %q. Only the officers of that service can.", svc.ID)
	}

	q := r.URL.Query()
	if err := onlyParams(q, "offset", "after", "before", "limit"); err != nil {
		return nil, err
	}
	f := joinedup.DeliveryFilter{Service: svc.ID, NewestFirst: true}
	if fields := readDeliveryPage(q, noticesList(svc.ID), defaultNoticeLimit, &f); len(fields) > 0 {
		return nil, joinedup.Invalid("The query has invalid parameters.", fields...)
	}

	page, err := s.Records.ServiceDeliveries(ctx, f)
	if err != nil {
		return nil, err
	}
	notices := &noticesPage{Service: svc, Limit: f.Limit}
	notices.Page, notices.Deliveries, err = s.fillDeliveries(r, f, page, s.Records.ServiceDeliveries,
		func(r *http.Request, delivery *joinedup.Delivery) (*joinedup.Delivery, *access, error) {
			res := deliveryResource(delivery)
			decision, _, err := s.decide(ctx, account, policy.ActionRead, res, purpose)
			if err != nil || !decision.Allowed {
				return nil, nil, err
			}
			return delivery, &access{
				account: account, action: audit.ActionAccess, subject: res.Subject, purpose: purpose, reasons: append(slices.Clip(d.Reasons), decision.Reasons...),
				detail: map[string]any{"resource": "Delivery:" + res.ID, "operation": "list", "route": r.Pattern, "service": svc.ID},
			}, nil
		})
	if err != nil {
		return nil, err
	}
	return notices, nil
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request) {
	notices, err := s.serviceNotices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newDeliveryList(notices.Page, noticesList(notices.Service.ID), notices.Deliveries, notices.Limit))
}

type noticesView struct {
	Service *joinedup.Service
	Rows    []deliveryRow
	Caption string
	Pager   pager
	Limit   int
}

func (s *Server) noticesPage(w http.ResponseWriter, r *http.Request) {
	notices, err := s.serviceNotices(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.deliveryRows(r, notices.Deliveries)
	if err == nil {
		err = s.addEventLinks(r, rows)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}

	svc := notices.Service
	v := noticesView{Service: svc, Rows: rows, Limit: notices.Limit}
	v.Pager = newCursorPager(notices.Page, len(rows), deliveryCursor(noticesList(svc.ID)), func(name, cursor string) string {
		q := url.Values{}
		if name != "" {
			q.Set(name, cursor)
		}
		q.Set("limit", strconv.Itoa(notices.Limit))
		return "/services/" + url.PathEscape(string(svc.ID)) + "/notices?" + q.Encode()
	})
	v.Caption = v.Pager.caption("Received", "newest first")
	s.render(w, r, http.StatusOK, "notices.html", page{Title: "Received by " + svc.Name, Nav: navNotices, Data: v})
}
