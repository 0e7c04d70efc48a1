package web

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// identity is the National Insurance number and date of birth recorded
// for a resident account, which link it to births. Both are empty when
// none is recorded.
type identity struct {
	nino        string
	dateOfBirth joinedup.Date
}

// identityOf returns the identity recorded for the resident account.
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
