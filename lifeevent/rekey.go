package lifeevent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/joinedup/joinedup"
)

// rekeyBatch is the number of births RekeyBirths reads at a time.
const rekeyBatch = 500

// RekeyBirths recomputes, from its stored registration, the dedupe key of
// every birth stored with a key that begins with
// joinedup.LegacyBirthKeyPrefix. Without it, a birth registered before
// names were folded would not be found as a duplicate of the same birth
// registered now. It returns the number of keys replaced.
//
// A birth can fold to a key that another birth has, because the two are
// one birth registered twice in two spellings. The other keeps the key,
// and this birth's key is cleared, so that a third registration is still
// refused. Births are rekeyed in id order, which is the order they were
// registered in, so of two births with legacy keys the earlier keeps the
// key. Each cleared key is logged as a warning with both references, so
// that a person can check which services received the birth twice.
//
// It is safe to run from several hub processes at once, because a key is
// replaced only while it still has its legacy value.
//
// NOTE: a hub of an older version that shares the database keeps writing
// legacy keys, and a duplicate of such a birth is refused only after the
// next start of a current hub recomputes its key.
func (s *Service) RekeyBirths(ctx context.Context) (int, error) {
	var after joinedup.EventID
	replaced := 0
	for {
		events, err := s.db.ListLegacyKeyedEvents(ctx, after, rekeyBatch)
		if err != nil {
			return replaced, fmt.Errorf("list births with legacy dedupe keys: %w", err)
		}
		if len(events) == 0 {
			return replaced, nil
		}
		for _, ev := range events {
			after = ev.ID
			ok, err := s.rekeyBirth(ctx, ev)
			if err != nil {
				return replaced, err
			}
			if ok {
				replaced++
			}
		}
	}
}

// rekeyBirth replaces the legacy dedupe key of one birth and reports
// whether it did.
func (s *Service) rekeyBirth(ctx context.Context, ev *joinedup.LifeEvent) (bool, error) {
	var r joinedup.BirthRegistration
	if err := json.Unmarshal(ev.Payload, &r); err != nil {
		// NOTE: such a birth keeps its legacy key, which a new
		// registration never has, so its duplicates are not refused.
		s.logger.Error("recompute dedupe key: decode stored registration", "event_id", ev.ID, "error", err)
		return false, nil
	}
	key := r.Normalize().DedupeKey()

	err := s.db.ReplaceDedupeKey(ctx, ev.ID, ev.DedupeKey, key)
	switch joinedup.ErrorCode(err) {
	case "":
		return true, nil
	case joinedup.ECONFLICT:
	default:
		return false, fmt.Errorf("replace dedupe key of %s: %w", ev.ID, err)
	}

	first, ferr := s.db.FindReferenceByDedupeKey(ctx, key)
	if ferr != nil {
		return false, fmt.Errorf("find the birth with the dedupe key of %s: %w", ev.ID, ferr)
	}
	if err := s.db.ReplaceDedupeKey(ctx, ev.ID, ev.DedupeKey, ""); err != nil {
		return false, fmt.Errorf("clear dedupe key of %s: %w", ev.ID, err)
	}
	s.logger.Warn("birth registered twice, so its services may have received it twice",
		"event_id", ev.ID, "reference", ev.Reference, "first_reference", first)
	return false, nil
}
