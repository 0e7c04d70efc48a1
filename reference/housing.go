package reference

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference/population"
)

// housingBenefit is a council's Housing Benefit and Council Tax Reduction.
// It responds to a birth with "accepted" and reports the recalculated award by
// signed callback, as a council whose recalculations run in batches would,
// so the story exercises that half of the protocol. The award is a means
// test: the household's applicable amount is an
// allowance for its adults plus one for each child, and each award is cut
// by a taper on weekly income above that amount.
//
// The tapers are 65% for Housing Benefit and 20% for Council Tax
// Reduction. NOTE: the allowances are round figures chosen for this
// reference service, not the statutory amounts, so its awards illustrate
// a recalculation and are not what a claimant would get.
type housingBenefit struct{ s *service }

// Means-test figures, in pence a week.
const (
	allowanceSingle = 9_000
	allowanceCouple = 14_000
	allowanceChild  = 8_500
	taperHB         = 65 // percent of excess income
	taperCTR        = 20
)

// household holds the figures of a household's award.
type household struct {
	id         string
	adults     int
	children   int
	income     int64
	rent       int64
	councilTax int64
}

// award returns the weekly Housing Benefit and Council Tax Reduction for h.
func (h household) award() (hb, ctr int64) {
	applicable := int64(allowanceSingle)
	if h.adults > 1 {
		applicable = allowanceCouple
	}
	applicable += int64(h.children) * allowanceChild
	excess := max(0, h.income-applicable)
	hb = max(0, h.rent-excess*taperHB/100)
	ctr = max(0, h.councilTax-excess*taperCTR/100)
	return hb, ctr
}

func (h housingBenefit) schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS households (
			id                 TEXT PRIMARY KEY,
			adults             INTEGER NOT NULL,
			children           INTEGER NOT NULL,
			weekly_income      BIGINT NOT NULL,
			weekly_rent        BIGINT NOT NULL,
			weekly_council_tax BIGINT NOT NULL,
			hb_award           BIGINT NOT NULL,
			ctr_award          BIGINT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS award_changes (
			id           TEXT PRIMARY KEY,
			household_id TEXT NOT NULL REFERENCES households (id),
			delivery_id  TEXT NOT NULL UNIQUE,
			child_id     TEXT NOT NULL,
			hb_before    BIGINT NOT NULL,
			ctr_before   BIGINT NOT NULL,
			hb_after     BIGINT NOT NULL,
			ctr_after    BIGINT NOT NULL,
			state        TEXT NOT NULL DEFAULT 'applied'
		)`,
	}
}

func (h housingBenefit) seedFamilies(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error {
	for _, f := range families {
		id, err := s.nextID(ctx, tx, "household", "HB")
		if err != nil {
			return err
		}
		if _, _, err := s.seedFamily(ctx, tx, f, id); err != nil {
			return err
		}
		hh := household{id: id, adults: len(f.Parents), children: len(f.Children),
			income: f.WeeklyIncome, rent: f.WeeklyRent, councilTax: f.WeeklyCouncilTax}
		if err := h.insertHousehold(ctx, tx, hh); err != nil {
			return err
		}
	}
	return nil
}

// seedResidents stores each resident as a household of one, with figures
// derived from the resident's id so that they are the same on every load.
func (h housingBenefit) seedResidents(ctx context.Context, tx *sql.Tx, s *service, people []population.Person) error {
	return seedHouseholdsOfOne(ctx, tx, s, people, func(id, _ string, p population.Person) error {
		sum := fnv.New64a()
		sum.Write([]byte(p.ID))
		v := int64(sum.Sum64() % 1_000_000)
		return h.insertHousehold(ctx, tx, household{id: id, adults: 1,
			income: v % 40_000, rent: 9_000 + v%11_000, councilTax: 2_500 + v%2_000})
	})
}

func (h housingBenefit) insertHousehold(ctx context.Context, tx *sql.Tx, hh household) error {
	hb, ctr := hh.award()
	if _, err := tx.ExecContext(ctx, `INSERT INTO households (id, adults, children, weekly_income, weekly_rent,
		weekly_council_tax, hb_award, ctr_award) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		hh.id, hh.adults, hh.children, hh.income, hh.rent, hh.councilTax, hb, ctr); err != nil {
		return fmt.Errorf("insert household: %w", err)
	}
	return nil
}

func (h housingBenefit) findHousehold(ctx context.Context, tx *sql.Tx, id string) (household, int64, int64, error) {
	hh := household{id: id}
	var hb, ctr int64
	err := tx.QueryRowContext(ctx, `SELECT adults, children, weekly_income, weekly_rent, weekly_council_tax, hb_award, ctr_award
		FROM households WHERE id = $1`, id).Scan(&hh.adults, &hh.children, &hh.income, &hh.rent, &hh.councilTax, &hb, &ctr)
	return hh, hb, ctr, err
}

// recalculate stores the award for hh and returns it.
func (h housingBenefit) recalculate(ctx context.Context, tx *sql.Tx, hh household) (hb, ctr int64, err error) {
	hb, ctr = hh.award()
	if _, err := tx.ExecContext(ctx, `UPDATE households SET children = $1, hb_award = $2, ctr_award = $3 WHERE id = $4`,
		hh.children, hb, ctr, hh.id); err != nil {
		return 0, 0, fmt.Errorf("update award: %w", err)
	}
	return hb, ctr, nil
}

func (h housingBenefit) birth(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration, parent person) (joinedup.Outcome, error) {
	hh, hbBefore, ctrBefore, err := h.findHousehold(ctx, tx, parent.household)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Recorded for manual review: the parent has no Housing Benefit claim."}, nil
	} else if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find household: %w", err)
	}

	child, err := h.s.insertPerson(ctx, tx, childPerson(b), hh.id, "child")
	if err != nil {
		return joinedup.Outcome{}, err
	}
	hh.children++
	hb, ctr, err := h.recalculate(ctx, tx, hh)
	if err != nil {
		return joinedup.Outcome{}, err
	}

	change, err := h.s.nextID(ctx, tx, "change", "AC")
	if err != nil {
		return joinedup.Outcome{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO award_changes (id, household_id, delivery_id, child_id,
		hb_before, ctr_before, hb_after, ctr_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		change, hh.id, string(e.Delivery), child, hbBefore, ctrBefore, hb, ctr); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("record award change: %w", err)
	}

	recalculated := joinedup.Outcome{
		Status: joinedup.OutcomeActed,
		Summary: fmt.Sprintf("Housing Benefit and Council Tax Reduction recalculated for a household of %d: %s and %s a week.",
			hh.adults+hh.children, pounds(hb), pounds(ctr)),
		Reference: change,
		Detail: detail(map[string]any{
			"household":                 hh.id,
			"householdSize":             hh.adults + hh.children,
			"housingBenefitBefore":      pounds(hbBefore),
			"housingBenefit":            pounds(hb),
			"councilTaxReductionBefore": pounds(ctrBefore),
			"councilTaxReduction":       pounds(ctr),
		}),
	}
	if err := h.s.queueCallback(ctx, tx, e.Delivery, recalculated); err != nil {
		return joinedup.Outcome{}, err
	}
	return joinedup.Outcome{
		Status:    joinedup.OutcomeAccepted,
		Summary:   "Received: the council will recalculate the household’s Housing Benefit and Council Tax Reduction.",
		Reference: change,
	}, nil
}

// withdraw takes the child out of the household and recalculates the
// award without them.
func (h housingBenefit) withdraw(ctx context.Context, tx *sql.Tx, w connector.ConsentWithdrawn) (joinedup.Outcome, error) {
	var change, householdID, child string
	err := tx.QueryRowContext(ctx, `SELECT id, household_id, child_id FROM award_changes
		WHERE delivery_id = $1 AND state = 'applied'`, string(w.DeliveryID)).Scan(&change, &householdID, &child)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "No Housing Benefit change rested on this registration."}, nil
	} else if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find award change: %w", err)
	}

	hh, _, _, err := h.findHousehold(ctx, tx, householdID)
	if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find household: %w", err)
	}
	hh.children = max(0, hh.children-1)
	hb, ctr, err := h.recalculate(ctx, tx, hh)
	if err != nil {
		return joinedup.Outcome{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE award_changes SET state = 'withdrawn' WHERE id = $1`, change); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("withdraw award change: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM people WHERE id = $1`, child); err != nil {
		return joinedup.Outcome{}, fmt.Errorf("remove child: %w", err)
	}

	return joinedup.Outcome{
		Status: joinedup.OutcomeActed,
		Summary: fmt.Sprintf("Housing Benefit and Council Tax Reduction recalculated without this child: %s and %s a week.",
			pounds(hb), pounds(ctr)),
		Reference: change,
	}, nil
}
