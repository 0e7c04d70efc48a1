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

// childBenefit is HMRC's Child Benefit. A family's claim pays the eldest-
// child rate for its first child and the additional-child rate for each
// further one.
type childBenefit struct{ s *service }

// childBenefitRates are the weekly Child Benefit rates by tax year (6 April
// to 5 April), in pence: the eldest-child rate and the rate for each
// additional child.
var childBenefitRates = []struct {
	taxYear    int // the calendar year in which the tax year starts
	eldest     int64
	additional int64
}{
	{2024, 2560, 1695},
	{2025, 2605, 1725},
	{2026, 2705, 1790},
}

// childBenefitRate returns the rates for the tax year that contains d, or
// the latest rates held when that year has none.
// NOTE: the rates are held up to 2026–27, so a claim for a later tax year
// is made at the 2026–27 rates, and its summary names them.
func childBenefitRate(d joinedup.Date) (taxYear int, eldest, additional int64) {
	year := d.Year
	if d.Month < time.April || (d.Month == time.April && d.Day < 6) {
		year--
	}
	for _, r := range childBenefitRates {
		if r.taxYear == year {
			return r.taxYear, r.eldest, r.additional
		}
	}
	latest := childBenefitRates[len(childBenefitRates)-1]
	if year < childBenefitRates[0].taxYear {
		latest = childBenefitRates[0]
	}
	return latest.taxYear, latest.eldest, latest.additional
}

// taxYearName returns the name of the tax year that starts in year, such as
// "2025–26".
func taxYearName(year int) string {
	return fmt.Sprintf("%d–%02d", year, (year+1)%100)
}

func (c childBenefit) schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS claims (
			id          TEXT PRIMARY KEY,
			claimant_id TEXT NOT NULL REFERENCES people (id),
			household_id TEXT NOT NULL,
			started_on  TEXT NOT NULL,
			delivery_id TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX IF NOT EXISTS claims_household ON claims (household_id)`,
		`CREATE TABLE IF NOT EXISTS claim_children (
			claim_id    TEXT NOT NULL REFERENCES claims (id),
			child_id    TEXT NOT NULL REFERENCES people (id),
			rate        TEXT NOT NULL,
			weekly_rate BIGINT NOT NULL,
			tax_year    INTEGER NOT NULL,
			delivery_id TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (claim_id, child_id)
		)`,
		`CREATE INDEX IF NOT EXISTS claim_children_delivery ON claim_children (delivery_id)`,
	}
}

// seedFamilies stores every family, and a claim for each family with
// children, the eldest child first.
func (c childBenefit) seedFamilies(ctx context.Context, tx *sql.Tx, s *service, families []population.Family) error {
	for _, f := range families {
		household, err := s.nextID(ctx, tx, "household", "FAM")
		if err != nil {
			return err
		}
		parents, children, err := s.seedFamily(ctx, tx, f, household)
		if err != nil {
			return err
		}
		if len(children) == 0 {
			continue
		}
		claim, err := c.startClaim(ctx, tx, parents[0], household, "2024-04-06", "")
		if err != nil {
			return err
		}
		for i, child := range children {
			if err := c.addChild(ctx, tx, claim, child, i == 0, joinedup.Date{Year: 2024, Month: time.April, Day: 6}, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// seedResidents stores each resident as a household of one, with no claim.
func (c childBenefit) seedResidents(ctx context.Context, tx *sql.Tx, s *service, people []population.Person) error {
	return seedHouseholdsOfOne(ctx, tx, s, people, nil)
}

func (c childBenefit) birth(ctx context.Context, tx *sql.Tx, e *connector.Event, b joinedup.BirthRegistration, parent person) (joinedup.Outcome, error) {
	if b.Child.DateOfBirth.IsZero() {
		return joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "No claim started: the child’s date of birth was not sent."}, nil
	}

	child, err := c.s.insertPerson(ctx, tx, childPerson(b), parent.household, "child")
	if err != nil {
		return joinedup.Outcome{}, err
	}

	var claim string
	err = tx.QueryRowContext(ctx, `SELECT id FROM claims WHERE household_id = $1 ORDER BY id LIMIT 1`, parent.household).Scan(&claim)
	existing := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
		claim, err = c.startClaim(ctx, tx, parent.id, parent.household, b.Child.DateOfBirth.String(), string(e.Delivery))
		if err != nil {
			return joinedup.Outcome{}, err
		}
	case err != nil:
		return joinedup.Outcome{}, fmt.Errorf("find claim: %w", err)
	}

	// A child is paid for at the rates of the tax year in which the claim
	// is made, which for a child born before 6 April may be the year after
	// the birth.
	claimedOn := joinedup.Today(c.s.now())
	isEldest := !existing
	if existing {
		if isEldest, err = c.takeEldestRate(ctx, tx, claim, b.Child.DateOfBirth, claimedOn); err != nil {
			return joinedup.Outcome{}, err
		}
	}
	if err := c.addChild(ctx, tx, claim, child, isEldest, claimedOn, e.Delivery); err != nil {
		return joinedup.Outcome{}, err
	}

	taxYear, eldest, additional := childBenefitRate(claimedOn)
	rate, rateName, summary := eldest, "eldest", "Child Benefit claim started at %s a week, the %s rate for an %s child."
	switch {
	case existing && isEldest:
		summary = "Added to the family’s Child Benefit claim at %s a week, the %s rate for an %s child, which this child now is."
	case existing:
		rate, rateName, summary = additional, "additional", "Added to the family’s Child Benefit claim at %s a week, the %s rate for an %s child."
	}
	return joinedup.Outcome{
		Status:    joinedup.OutcomeActed,
		Summary:   fmt.Sprintf(summary, pounds(rate), taxYearName(taxYear), rateName),
		Reference: claim,
		Detail: detail(map[string]any{
			"claim":      claim,
			"rate":       rateName,
			"weeklyRate": pounds(rate),
			"taxYear":    taxYearName(taxYear),
		}),
	}, nil
}

// takeEldestRate reports whether a child born on born is older than the
// child who has the eldest-child rate on claim. If so, that child moves to
// the additional-child rate, because only the eldest child on a claim gets
// the higher rate.
func (c childBenefit) takeEldestRate(ctx context.Context, tx *sql.Tx, claim string, born, claimedOn joinedup.Date) (bool, error) {
	var eldestID, eldestBorn string
	err := tx.QueryRowContext(ctx, `SELECT p.id, p.date_of_birth FROM claim_children cc JOIN people p ON p.id = cc.child_id
		WHERE cc.claim_id = $1 AND cc.rate = 'eldest'`, claim).Scan(&eldestID, &eldestBorn)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("find eldest child on claim: %w", err)
	case eldestBorn == "" || born.String() >= eldestBorn:
		// A child whose date of birth the records lack keeps the rate.
		return false, nil
	}
	taxYear, _, additional := childBenefitRate(claimedOn)
	if _, err := tx.ExecContext(ctx, `UPDATE claim_children SET rate = 'additional', weekly_rate = $1, tax_year = $2
		WHERE claim_id = $3 AND child_id = $4`, additional, taxYear, claim, eldestID); err != nil {
		return false, fmt.Errorf("move eldest child to the additional rate: %w", err)
	}
	return true, nil
}

func (c childBenefit) startClaim(ctx context.Context, tx *sql.Tx, claimant, household, startedOn, delivery string) (string, error) {
	id, err := c.s.nextID(ctx, tx, "claim", "CHB")
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO claims (id, claimant_id, household_id, started_on, delivery_id)
		VALUES ($1, $2, $3, $4, $5)`, id, claimant, household, startedOn, delivery); err != nil {
		return "", fmt.Errorf("start claim: %w", err)
	}
	return id, nil
}

func (c childBenefit) addChild(ctx context.Context, tx *sql.Tx, claim, child string, eldest bool, claimedOn joinedup.Date, delivery joinedup.DeliveryID) error {
	taxYear, eldestRate, additionalRate := childBenefitRate(claimedOn)
	rate, name := additionalRate, "additional"
	if eldest {
		rate, name = eldestRate, "eldest"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO claim_children (claim_id, child_id, rate, weekly_rate, tax_year, delivery_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, claim, child, name, rate, taxYear, string(delivery)); err != nil {
		return fmt.Errorf("add child to claim: %w", err)
	}
	return nil
}

// withdraw takes the child off the claim and removes the record of the
// child. A claim started for this child alone is closed.
func (c childBenefit) withdraw(ctx context.Context, tx *sql.Tx, w connector.ConsentWithdrawn) (joinedup.Outcome, error) {
	var claim, child string
	err := tx.QueryRowContext(ctx, `SELECT claim_id, child_id FROM claim_children WHERE delivery_id = $1`, string(w.DeliveryID)).Scan(&claim, &child)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "No Child Benefit record rested on this registration."}, nil
	} else if err != nil {
		return joinedup.Outcome{}, fmt.Errorf("find claim: %w", err)
	}

	for _, stmt := range []struct {
		sql string
		arg string
	}{
		{`DELETE FROM claim_children WHERE delivery_id = $1`, string(w.DeliveryID)},
		{`DELETE FROM people WHERE id = $1`, child},
		{`DELETE FROM claims WHERE delivery_id = $1
			AND NOT EXISTS (SELECT 1 FROM claim_children WHERE claim_id = claims.id)`, string(w.DeliveryID)},
	} {
		if _, err := tx.ExecContext(ctx, stmt.sql, stmt.arg); err != nil {
			return joinedup.Outcome{}, fmt.Errorf("withdraw claim: %w", err)
		}
	}
	return joinedup.Outcome{
		Status:    joinedup.OutcomeActed,
		Summary:   "Child Benefit for this child stopped and the record removed.",
		Reference: claim,
	}, nil
}
