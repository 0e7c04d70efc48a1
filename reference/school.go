package reference

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference/population"
)

// primarySchool is a primary school's pupil planning. It records each
// child born to a family in its records in the Reception intake the child
// will join, and asks the hub to remind it to call the parents about the
// nursery unit a year before. The people table holds the families in the
// school's catchment area.
type primarySchool struct{ s *service }

// ActionNurseryContact is the deferred action that the school requests.
const ActionNurseryContact = "nursery-contact"

// receptionIntake returns 1 September of the year in which a child born
// on dob starts Reception: the first 1 September after the fourth
// birthday. A child born on 1 September turns four on the first day of the
// school year, which is not after the birthday, so starts a year later.
func receptionIntake(dob joinedup.Date) joinedup.Date {
	year := dob.Year + 4
	if dob.Month >= time.September {
		year++
	}
	return joinedup.Date{Year: year, Month: time.September, Day: 1}
}

// nurseryContact returns the date to call the parents about the nursery
// unit: 1 September after the third birthday, a year before Reception.
func nurseryContact(dob joinedup.Date) joinedup.Date {
	intake := receptionIntake(dob)
	intake.Year--
	return intake
}

func (p primarySchool) schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS pupils (
			id            TEXT PRIMARY KEY,
			delivery_id   TEXT NOT NULL UNIQUE,
			household_id  TEXT NOT NULL,
			parent_id     TEXT NOT NULL REFERENCES people (id),
			given_name    TEXT NOT NULL,
			family_name   TEXT NOT NULL,
			date_of_birth TEXT NOT NULL,
			intake        TEXT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS nursery_contacts (
			delivery_id TEXT PRIMARY KEY,
			pupil_id    TEXT NOT NULL,
			due         TEXT NOT NULL,
			state       TEXT NOT NULL,
			called_at   BIGINT NOT NULL DEFAULT 0
		)`,
	}
}

func (p primarySchool) seedFamilies(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error {
	return seedFamiliesAsHouseholds(ctx, tx, s, families)
}

func (p primarySchool) seedResidents(ctx context.Context, tx *sql.Tx, s *service, people []population.Person) error {
	return seedHouseholdsOfOne(ctx, tx, s, people, nil)
}

func (p primarySchool) birth(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration, parent person) (joinedup.Outcome, error) {
	dob := b.Child.DateOfBirth
	if dob.IsZero() {
		return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Not recorded: the child’s date of birth was not sent."}, nil
	}
	intake, contact := receptionIntake(dob), nurseryContact(dob)

	pupil, err := p.s.nextID(ctx, tx, "pupil", "PUP")
	if err != nil {
		return joinedup.Outcome{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pupils (id, delivery_id, household_id, parent_id, given_name,
		family_name, date_of_birth, intake) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		pupil, string(e.Delivery), parent.household, parent.id, b.Child.Name.Given, b.Child.Name.Family,
		dob.String(), intake.String()); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("record pupil: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO nursery_contacts (delivery_id, pupil_id, due, state)
		VALUES ($1, $2, $3, 'planned')`, string(e.Delivery), pupil, contact.String()); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("plan nursery contact: %w", err)
	}

	return joinedup.Outcome{
		Status:    joinedup.OutcomeActed,
		Summary:   fmt.Sprintf("Recorded for the Reception class starting in September %d.", intake.Year),
		Reference: pupil,
		Detail: detail(map[string]any{
			"pupil":          pupil,
			"intake":         intake.String(),
			"academicYear":   fmt.Sprintf("%d to %d", intake.Year, intake.Year+1),
			"nurseryContact": contact.String(),
		}),
		Deferred: []joinedup.DeferredRequest{{
			Action:  ActionNurseryContact,
			Due:     contact,
			Summary: "Call the parents about a place in the nursery unit.",
		}},
	}, nil
}

// actionDue records the call to the parents about the nursery unit.
func (p primarySchool) actionDue(ctx context.Context, tx *sql.Tx, a connector.ActionDue, now time.Time) (joinedup.Outcome, error) {
	if a.Action != ActionNurseryContact {
		return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: fmt.Sprintf("The school has no action called %q.", a.Action)}, nil
	}

	var pupil, state string
	err := tx.QueryRowContext(ctx, `SELECT pupil_id, state FROM nursery_contacts WHERE delivery_id = $1`, string(a.DeliveryID)).Scan(&pupil, &state)
	if errors.Is(err, sql.ErrNoRows) || state == "cancelled" {
		return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "No call made: the child is not in pupil planning."}, nil
	} else if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find nursery contact: %w", err)
	}

	if _, err := tx.ExecContext(ctx, `UPDATE nursery_contacts SET state = 'called', called_at = $1 WHERE delivery_id = $2`,
		now.UnixMicro(), string(a.DeliveryID)); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("record nursery contact: %w", err)
	}
	return joinedup.Outcome{
		Status:    joinedup.OutcomeActed,
		Summary:   "The school office called the parents about the nursery unit.",
		Reference: pupil,
	}, nil
}

// withdraw removes the child from pupil planning and cancels the planned
// call, keeping only the fact that a call was cancelled.
func (p primarySchool) withdraw(ctx context.Context, tx *sql.Tx, w connector.ConsentWithdrawn) (joinedup.Outcome, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM pupils WHERE delivery_id = $1`, string(w.DeliveryID))
	if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("remove pupil: %w", err)
	}
	removed, err := res.RowsAffected()
	if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("remove pupil: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE nursery_contacts SET state = 'cancelled' WHERE delivery_id = $1 AND state = 'planned'`,
		string(w.DeliveryID)); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("cancel nursery contact: %w", err)
	}

	if removed == 0 {
		return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "No pupil planning record rested on this registration."}, nil
	}
	return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Removed from pupil planning and the nursery call cancelled."}, nil
}
