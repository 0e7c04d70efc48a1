package linkage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
)

// PersonRecord is one holder's record in the person index, with the
// person it is linked to.
type PersonRecord struct {
	Source   string // the holder, such as a service id
	Record   Record
	PersonID string
	LinkedBy LinkReason // the reason the record belongs to the person
	Weight   float64
	AddedAt  time.Time
}

// LinkReason is the reason a record belongs to its person.
type LinkReason string

// Link reasons.
const (
	LinkedNew    LinkReason = "new"    // no candidate matched, so the record started a person
	LinkedMatch  LinkReason = "match"  // the matcher decided "match"
	LinkedReview LinkReason = "review" // a person confirmed a possible match
)

// Review is a possible match waiting for, or given, a person's decision:
// whether the record at Source/RecordID is the same person as the
// candidate record.
type Review struct {
	ID                   string
	Source, RecordID     string
	CandidateSource      string
	CandidateRecordID    string
	Weight               float64
	Probability          float64
	Fields               []FieldComparison
	State                ReviewState
	Reason, DecidedBy    string
	CreatedAt, DecidedAt time.Time
}

// ReviewState is the state of a review.
type ReviewState string

// Review states.
const (
	ReviewOpen      ReviewState = "open"
	ReviewConfirmed ReviewState = "confirmed" // the two persons were merged into the candidate's
	ReviewRejected  ReviewState = "rejected"  // the record stays a person of its own
)

// PersonStore keeps the person index and the review queue. store.DB
// implements it on SQLite and PostgreSQL.
type PersonStore interface {
	// AddPersonRecord stores r, with a new person when r.PersonID is
	// empty (setting r.PersonID), and review when it is not nil, in one
	// transaction. A record already stored is ECONFLICT.
	AddPersonRecord(ctx context.Context, r *PersonRecord, review *Review) error
	// ListPersonRecords returns every record in the index.
	ListPersonRecords(ctx context.Context) ([]PersonRecord, error)
	// DecidePersonReview confirms or rejects an open review in one
	// transaction. Confirming merges the record's person into the
	// candidate's: every record of the one moves to the other.
	DecidePersonReview(ctx context.Context, id string, confirm bool, reason, decidedBy string) (*Review, error)
}

// Persons recognises people across holders: each record added is matched
// against every record before it and linked to the same person only on a
// "match" decision. A "possible" match starts a new person and opens a
// review. It is safe for concurrent use.
//
// NOTE: the index is in memory and loaded when Persons opens. Several hub
// nodes sharing one database each see the records they added themselves
// and those present when they opened, but not those another node adds
// later.
type Persons struct {
	store PersonStore
	index *Index

	mu     sync.Mutex // serialises Resolve, so one person is not created twice
	person map[string]string
}

// OpenPersons loads the records in s into an index scored with m, or with
// DefaultModel when m is nil.
func OpenPersons(ctx context.Context, s PersonStore, m *Model) (*Persons, error) {
	records, err := s.ListPersonRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("load person index: %w", err)
	}
	p := &Persons{store: s, index: NewIndex(m), person: make(map[string]string, len(records))}
	for _, r := range records {
		if err := p.addToIndex(r); err != nil {
			return nil, fmt.Errorf("load person index: %w", err)
		}
	}
	return p, nil
}

// indexKey is the id of a holder's record in the index, unique across
// holders.
func indexKey(source, recordID string) string { return source + "\x1f" + recordID }

func (p *Persons) addToIndex(r PersonRecord) error {
	key := indexKey(r.Source, r.Record.ID)
	rec := r.Record
	rec.ID = key
	if err := p.index.Add(rec); err != nil {
		return err
	}
	p.person[key] = r.PersonID
	return nil
}

// Resolution is the outcome of adding a record: the person it belongs to
// and, for a possible match, the review opened.
type Resolution struct {
	PersonID string
	Result   Result
	Review   *Review
}

// Resolve adds the record r held by source to the index and returns the
// person it belongs to. The record joins an existing person only when the
// matcher decides "match". A "possible" match starts a new person and
// opens a review with the candidate. A record the index already holds is
// ECONFLICT.
func (p *Persons) Resolve(ctx context.Context, source string, r Record) (*Resolution, error) {
	if source == "" || strings.Contains(source, "\x1f") {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Invalid source %q: want a non-empty holder id", source)
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	key := indexKey(source, r.ID)
	if _, ok := p.person[key]; ok {
		return nil, joinedup.Errorf(joinedup.ECONFLICT, "Record %q of %s is already in the person index", r.ID, source)
	}
	result := p.index.Match(r)
	res := &Resolution{Result: result}
	pr := &PersonRecord{Source: source, Record: r, LinkedBy: LinkedNew, Weight: result.Weight}
	switch result.Decision {
	case Match:
		pr.PersonID = p.person[result.CandidateID]
		pr.LinkedBy = LinkedMatch
	case Possible:
		candSource, candRecord, _ := strings.Cut(result.CandidateID, "\x1f")
		res.Review = &Review{
			ID:                joinedup.NewID("rev"),
			Source:            source,
			RecordID:          r.ID,
			CandidateSource:   candSource,
			CandidateRecordID: candRecord,
			Weight:            result.Weight,
			Probability:       result.Probability,
			Fields:            result.Fields,
			State:             ReviewOpen,
		}
	}
	if err := p.store.AddPersonRecord(ctx, pr, res.Review); err != nil {
		return nil, fmt.Errorf("store person record: %w", err)
	}
	if err := p.addToIndex(*pr); err != nil {
		return nil, fmt.Errorf("index person record: %w", err)
	}
	res.PersonID = pr.PersonID
	return res, nil
}

// Decide confirms or rejects an open review with a reason, which is
// required. Confirming merges the record's person into the candidate's.
func (p *Persons) Decide(ctx context.Context, reviewID string, confirm bool, reason, decidedBy string) (*Review, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, joinedup.Invalid("Give a reason for the decision",
			joinedup.FieldError{Field: "/reason", Message: "Enter why the records are or are not the same person"})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	rv, err := p.store.DecidePersonReview(ctx, reviewID, confirm, reason, decidedBy)
	if err != nil {
		return nil, err
	}
	if confirm {
		from := p.person[indexKey(rv.Source, rv.RecordID)]
		to := p.person[indexKey(rv.CandidateSource, rv.CandidateRecordID)]
		for key, id := range p.person {
			if id == from {
				p.person[key] = to
			}
		}
	}
	return rv, nil
}

// PersonOf returns the person that the record of source belongs to, or
// ENOTFOUND.
func (p *Persons) PersonOf(source, recordID string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.person[indexKey(source, recordID)]
	if !ok {
		return "", joinedup.Errorf(joinedup.ENOTFOUND, "Record %q of %s is not in the person index", recordID, source)
	}
	return id, nil
}
