package lifeevent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/linkage"
)

// RegistrationSource is the holder name under which the people of each
// registration are added to the person index. Their record ids are the
// life event's id and a JSON Pointer: "evt_…/child", "evt_…/parents/0".
const RegistrationSource = "registration"

// recogniseInterval is how often Recognise looks for registrations whose
// people are not yet in the person index, such as those accepted just
// before a crash or by another hub node that stopped.
const recogniseInterval = 30 * time.Second

// sweepMargin is how far before the start of a complete sweep the next
// one looks again. A registration's time is taken in its transaction, so
// one that commits after a sweep began can carry an earlier time. The
// margin also covers hub nodes whose clocks disagree by less than it.
const sweepMargin = time.Minute

// Recognise adds the people of each registration to the person index,
// until ctx ends: those of registrations made in this process as they
// arrive, and, when it starts and every recogniseInterval, any that are
// still missing. A possible match opens a review; nothing below the
// match threshold is linked.
func (s *Service) Recognise(ctx context.Context) {
	tick := time.NewTicker(recogniseInterval)
	defer tick.Stop()
	// The first sweep reads every registration; each sweep that finds
	// none left behind lets the next start shortly before it did.
	var since time.Time
	sweep := func() {
		start := s.now()
		if err := s.recogniseMissing(ctx, since); err != nil {
			if ctx.Err() == nil {
				s.logger.Error("recognise people of registrations", "error", err)
			}
			return
		}
		since = start.Add(-sweepMargin)
	}
	sweep()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			sweep()
		case ev := <-s.arrived:
			if err := s.recogniseEvent(ctx, ev); err != nil && ctx.Err() == nil {
				s.logger.Error("recognise people of registration", "event_id", ev.ID, "error", err)
			}
		}
	}
}

// recogniseMissing recognises the people of registrations made at or
// after since that have none in the person index yet.
func (s *Service) recogniseMissing(ctx context.Context, since time.Time) error {
	for {
		events, err := s.db.ListUnrecognisedEvents(ctx, RegistrationSource, since, 100)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if err := s.recogniseEvent(ctx, ev); err != nil {
				return err
			}
		}
		if len(events) < 100 {
			return nil
		}
	}
}

// recogniseEvent resolves the child and the parents of one registration,
// storing them in one transaction. A record already in the index is
// skipped, so repeating it is harmless. When another hub node stored one
// of them meanwhile, they are resolved one at a time instead, so that the
// others are still stored.
func (s *Service) recogniseEvent(ctx context.Context, ev *joinedup.LifeEvent) error {
	if s.Persons == nil || ev.Type != joinedup.EventBirthRegistered {
		return nil
	}
	var r joinedup.BirthRegistration
	if err := json.Unmarshal(ev.Payload, &r); err != nil {
		return fmt.Errorf("decode registration %s: %w", ev.ID, err)
	}
	records := []linkage.Record{personRecord(fmt.Sprintf("%s/child", ev.ID), r.Child.Name, r.Child.DateOfBirth, r.Child.Sex, "", nil)}
	for i, p := range r.Parents {
		address := p.Address
		records = append(records, personRecord(fmt.Sprintf("%s/parents/%d", ev.ID, i), p.Name, p.DateOfBirth, "", p.NationalInsuranceNumber, &address))
	}
	// The child's record carries no address: the parents' address and
	// family name would otherwise outweigh a different given name and date
	// of birth, and every newborn would look like a possible match for a
	// parent. The child and the parents of one registration are different
	// people, so none of them is matched to another.
	resolved, err := s.Persons.ResolveDistinct(ctx, RegistrationSource, records)
	if joinedup.ErrorCode(err) == joinedup.ECONFLICT {
		resolved = make([]*linkage.Resolution, len(records))
		for i, rec := range records {
			resolved[i], err = s.Persons.Resolve(ctx, RegistrationSource, rec)
			if err != nil && joinedup.ErrorCode(err) != joinedup.ECONFLICT {
				return err
			}
		}
	} else if err != nil {
		return err
	}
	for i, res := range resolved {
		if res != nil {
			s.logger.Debug("person recognised", "event_id", ev.ID, "record_id", records[i].ID, "person_id", res.PersonID,
				"decision", string(res.Result.Decision), "review_opened", res.Review != nil)
		}
	}
	return nil
}

func personRecord(id string, n joinedup.Name, dob joinedup.Date, sex, nino string, a *joinedup.Address) linkage.Record {
	r := linkage.Record{ID: id, GivenName: n.Given, FamilyName: n.Family, DateOfBirth: dob.String(), Sex: sex, NINO: nino}
	if a != nil {
		r.AddressLines, r.Town, r.Postcode, r.UPRN = a.Lines, a.Town, a.Postcode, a.UPRN
	}
	return r
}
