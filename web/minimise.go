package web

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// viewFor returns the part of ev that account may see. A service officer
// sees only what their services were sent: the fields those services
// declared within those their consent decisions recorded, the people the
// informant's consent covers (all parents when one of the services was
// told under a lawful basis), and those services' deliveries, actions and
// consent decisions. Everyone else sees ev as it is.
func (s *Server) viewFor(ctx context.Context, ev *joinedup.LifeEvent) (*joinedup.LifeEvent, error) {
	account, _ := auth.FromContext(ctx)
	if account == nil || account.Role != policy.RoleServiceOfficer {
		return ev, nil
	}

	var fields []string
	for _, id := range account.Services {
		svc, err := s.Services.FindService(ctx, id)
		if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		var consented []string
		for _, d := range ev.Consent.Decisions {
			if d.Service == id {
				consented = d.Fields
			}
		}
		fields = append(fields, joinedup.WithinFields(svc.Fields, consented)...)
	}
	lawfulBasis := slices.ContainsFunc(ev.Consent.Decisions, func(d joinedup.ConsentDecision) bool {
		return d.Decision == joinedup.ConsentNotRequired && slices.Contains(account.Services, d.Service)
	})
	var payload json.RawMessage
	var err error
	if lawfulBasis {
		payload, err = joinedup.Project(ev.Payload, fields)
	} else {
		payload, err = joinedup.ProjectCovered(ev.Payload, fields, ev.Consent.OnBehalf)
	}
	if err != nil {
		return nil, err
	}

	c := *ev
	c.Payload = payload
	if !lawfulBasis {
		c.Consent.OnBehalf = joinedup.CoveredPointers(ev.Consent.OnBehalf)
	}
	c.Deliveries = nil
	for _, d := range ev.Deliveries {
		if slices.Contains(account.Services, d.Service) {
			c.Deliveries = append(c.Deliveries, d)
		}
	}
	if c.Deliveries == nil {
		c.Deliveries = []*joinedup.Delivery{}
	}
	c.Actions = nil
	for _, a := range ev.Actions {
		if slices.Contains(account.Services, a.Service) {
			c.Actions = append(c.Actions, a)
		}
	}
	c.Consent.Decisions = nil
	for _, d := range ev.Consent.Decisions {
		if slices.Contains(account.Services, d.Service) {
			c.Consent.Decisions = append(c.Consent.Decisions, d)
		}
	}
	return &c, nil
}
