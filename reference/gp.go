package reference

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference/population"
)

// gpPractice is a GP practice's patient list. A baby born to a registered
// patient is added to the list with a practice id of its own. The people
// table is the patient list, and its ids are the practice ids.
type gpPractice struct{ s *service }

func (g gpPractice) schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS registrations (
			patient_id    TEXT PRIMARY KEY REFERENCES people (id),
			parent_id     TEXT NOT NULL REFERENCES people (id),
			delivery_id   TEXT NOT NULL UNIQUE,
			registered_at BIGINT NOT NULL
		)`,
	}
}

func (g gpPractice) seedFamilies(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error {
	return seedFamiliesAsHouseholds(ctx, tx, s, families)
}

func (g gpPractice) seedResidents(ctx context.Context, tx *sql.Tx, s *service, people []population.Person) error {
	return seedHouseholdsOfOne(ctx, tx, s, people, nil)
}

func (g gpPractice) birth(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration, parent person) (joinedup.Outcome, error) {
	patient, err := g.s.insertPerson(ctx, tx, childPerson(b), parent.household, "child")
	if err != nil {
		return joinedup.Outcome{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registrations (patient_id, parent_id, delivery_id, registered_at)
		VALUES ($1, $2, $3, $4)`, patient, parent.id, string(e.Delivery), g.s.now().UnixMicro()); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("register patient: %w", err)
	}
	return joinedup.Outcome{
		Status:    joinedup.OutcomeActed,
		Summary:   "Added to the patient list.",
		Reference: patient,
		Detail:    detail(map[string]any{"practiceId": patient}),
	}, nil
}

// withdraw removes the baby from the patient list.
func (g gpPractice) withdraw(ctx context.Context, tx *sql.Tx, w connector.ConsentWithdrawn) (joinedup.Outcome, error) {
	var patient string
	err := tx.QueryRowContext(ctx, `SELECT patient_id FROM registrations WHERE delivery_id = $1`, string(w.DeliveryID)).Scan(&patient)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "No patient record rested on this registration."}, nil
	} else if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find registration: %w", err)
	}
	for _, stmt := range []string{
		`DELETE FROM registrations WHERE patient_id = $1`,
		`DELETE FROM people WHERE id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, stmt, patient); err != nil {
			return joinedup.Outcome{}, fmt.Errorf("remove patient: %w", err)
		}
	}
	return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Removed from the patient list.", Reference: patient}, nil
}
