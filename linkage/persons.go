package linkage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

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

	// Matched, when set on a record being added, is the record it matched.
	// The store reads that record's current person in the same
	// transaction, so a merge made meanwhile by another node is followed.
	Matched *RecordKey
}

// RecordKey names one holder's record.
type RecordKey struct {
	Source   string `json:"source"`
	RecordID string `json:"recordId"`
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
	// AddPersonRecords stores records in order and opens the review at
	// each record's index where it is not nil, all in one transaction.
	// Each record joins the person of its Matched, which may be a record
	// stored before it in the same call, or its PersonID, or else a new
	// person, and its PersonID and AddedAt are set. A record already
	// stored is ECONFLICT, and an error stores none.
	AddPersonRecords(ctx context.Context, records []*PersonRecord, reviews []*Review) error
	// LockPersons returns once no other hub node sharing the store holds
	// the lock of the person index, and holds it until unlock is called.
	// Persons holds it from reading other nodes' records until its own are
	// stored, so that two nodes never both start a person for one record
	// each of the same new person. A store that only one process opens
	// may return at once.
	LockPersons(ctx context.Context) (unlock func(), err error)
	// ListPersonRecordsSince returns the records added at or after since,
	// oldest first, or every record for the zero time.
	ListPersonRecordsSince(ctx context.Context, since time.Time) ([]PersonRecord, error)
	// FindPersonRecord returns one record, or ENOTFOUND.
	FindPersonRecord(ctx context.Context, source, recordID string) (*PersonRecord, error)
	// DecidePersonReview confirms or rejects an open review in one
	// transaction. Confirming merges the record's person into the
	// candidate's: every record of the one moves to the other.
	DecidePersonReview(ctx context.Context, id string, confirm bool, reason, decidedBy string) (*Review, error)
	// ListPersonReviews returns up to limit reviews in the given state,
	// oldest first; an empty state lists every state.
	ListPersonReviews(ctx context.Context, state ReviewState, limit int) ([]*Review, error)
	// FindPersonReview returns one review, or ENOTFOUND.
	FindPersonReview(ctx context.Context, id string) (*Review, error)
}

// Persons recognises people across holders: each record added is matched
// against every record before it and linked to the same person only on a
// "match" decision. A "possible" match starts a new person and opens a
// review. It is safe for concurrent use.
//
// The index is in memory. Before each Resolve it reads the records that
// other hub nodes added to the shared store since it last looked, and the
// store links a matched record to its candidate's current person, so
// nodes see one another's records and merges. The store's LockPersons
// lock is held from that read until the new records are stored, so a
// node never resolves a record without the records that other nodes
// stored before it.
type Persons struct {
	store PersonStore
	model *Model
	index *Index

	mu          sync.Mutex // serialises this node's resolutions, which the store's lock serialises across nodes
	indexed     map[string]bool
	loadedUntil time.Time // added_at of the newest record read from the store
}

// OpenPersons loads the records in s into an index scored with m, or with
// DefaultModel when m is nil.
func OpenPersons(ctx context.Context, s PersonStore, m *Model) (*Persons, error) {
	p := &Persons{store: s, model: m, index: NewIndex(m), indexed: make(map[string]bool)}
	if err := p.refresh(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// refresh adds to the index the records stored since the last refresh.
// Records stored in the same microsecond as the newest one read are read
// again and skipped.
func (p *Persons) refresh(ctx context.Context) error {
	records, err := p.store.ListPersonRecordsSince(ctx, p.loadedUntil)
	if err != nil {
		return fmt.Errorf("load person index: %w", err)
	}
	for _, r := range records {
		if err := p.addToIndex(r); err != nil {
			return fmt.Errorf("load person index: %w", err)
		}
	}
	return nil
}

// indexKey is the id of a holder's record in the index, unique across
// holders.
func indexKey(source, recordID string) string { return source + "\x1f" + recordID }

func (p *Persons) addToIndex(r PersonRecord) error {
	key := indexKey(r.Source, r.Record.ID)
	if r.AddedAt.After(p.loadedUntil) {
		p.loadedUntil = r.AddedAt
	}
	if p.indexed[key] {
		return nil
	}
	rec := r.Record
	rec.ID = key
	if err := p.index.Add(rec); err != nil {
		return err
	}
	p.indexed[key] = true
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
	res, err := p.ResolveAll(ctx, source, []Record{r})
	if err != nil {
		return nil, err
	}
	if res[0] == nil {
		return nil, joinedup.Errorf(joinedup.ECONFLICT, "Record %q of %s is already in the person index.", r.ID, source)
	}
	return res[0], nil
}

// ResolveAll adds records held by source to the index, in order, as
// Resolve adds one, and stores them in one transaction. Each record is
// matched against the index and the records before it in the call. The
// resolution of a record the index already holds is nil. An error from
// the store adds none of the records, and may be ECONFLICT when another
// hub node stored one of them meanwhile.
func (p *Persons) ResolveAll(ctx context.Context, source string, records []Record) ([]*Resolution, error) {
	return p.resolveAll(ctx, source, records, false)
}

// ResolveDistinct resolves records as ResolveAll does, for records that
// are of different people, such as the child and the parents of one
// registration: none of them is matched to another, or opens a review
// with another.
func (p *Persons) ResolveDistinct(ctx context.Context, source string, records []Record) ([]*Resolution, error) {
	return p.resolveAll(ctx, source, records, true)
}

func (p *Persons) resolveAll(ctx context.Context, source string, records []Record, distinct bool) ([]*Resolution, error) {
	if source == "" || strings.Contains(source, "\x1f") {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Invalid source %q: the holder id is missing.", source)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, err := p.store.LockPersons(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolve person records: %w", err)
	}
	defer unlock()
	if err := p.refresh(ctx); err != nil {
		return nil, err
	}

	out := make([]*Resolution, len(records))
	var stored []*PersonRecord
	var reviews []*Review
	var added []int
	for i, r := range records {
		key := indexKey(source, r.ID)
		if p.indexed[key] {
			continue
		}
		var except func(string) bool
		if distinct {
			except = func(id string) bool {
				return slices.ContainsFunc(records, func(o Record) bool { return indexKey(source, o.ID) == id })
			}
		}
		res, pr := p.resolution(source, r, except)
		// A later record of the call is matched against this one, so it
		// joins the index now and leaves it again if the store fails.
		rec := r
		rec.ID = key
		if err := p.index.Add(rec); err != nil {
			p.unindex(ctx, source, stored)
			return nil, fmt.Errorf("index person record: %w", err)
		}
		p.indexed[key] = true
		out[i] = res
		stored, reviews, added = append(stored, pr), append(reviews, res.Review), append(added, i)
	}
	if len(stored) == 0 {
		return out, nil
	}
	if err := p.store.AddPersonRecords(ctx, stored, reviews); err != nil {
		p.unindex(ctx, source, stored)
		return nil, fmt.Errorf("store person records: %w", err)
	}
	for j, pr := range stored {
		out[added[j]].PersonID = pr.PersonID
		if pr.AddedAt.After(p.loadedUntil) {
			p.loadedUntil = pr.AddedAt
		}
	}
	return out, nil
}

// resolution matches r, held by source, against the index, passing over
// the records that except reports, and returns its resolution and the
// person record to store, without storing it.
func (p *Persons) resolution(source string, r Record, except func(id string) bool) (*Resolution, *PersonRecord) {
	result := p.index.MatchExcept(r, except)
	res := &Resolution{Result: result}
	pr := &PersonRecord{Source: source, Record: r, LinkedBy: LinkedNew, Weight: result.Weight}
	candSource, candRecord, _ := strings.Cut(result.CandidateID, "\x1f")
	switch result.Decision {
	case Match:
		pr.LinkedBy = LinkedMatch
		pr.Matched = &RecordKey{Source: candSource, RecordID: candRecord}
	case Possible:
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
	return res, pr
}

// unindex takes records of source, the last ones added to the index, out
// of it again after the store refused them. Should the index hold a
// record added after them, it is rebuilt from the store instead, and a
// failure of that read leaves the rest for the next refresh.
func (p *Persons) unindex(ctx context.Context, source string, records []*PersonRecord) {
	for i := len(records) - 1; i >= 0; i-- {
		key := indexKey(source, records[i].Record.ID)
		if !p.index.removeLast(key) {
			p.index, p.indexed, p.loadedUntil = NewIndex(p.model), make(map[string]bool), time.Time{}
			_ = p.refresh(ctx)
			return
		}
		delete(p.indexed, key)
	}
}

// Decide confirms or rejects an open review with a reason, which is
// required. Confirming merges the record's person into the candidate's.
func (p *Persons) Decide(ctx context.Context, reviewID string, confirm bool, reason, decidedBy string) (*Review, error) {
	reason, err := CheckReviewReason(reason)
	if err != nil {
		return nil, err
	}
	return p.store.DecidePersonReview(ctx, reviewID, confirm, reason, decidedBy)
}

// MaxReviewReason bounds the reason for a decision on a review, in
// characters.
const MaxReviewReason = 1000

// CheckReviewReason returns the reason for a decision on a review as it
// is stored: trimmed, composed (NFC) and with each CRLF as one line
// break. A reason that is empty, longer than MaxReviewReason or contains
// control or invisible characters returns EINVALID naming /reason.
func CheckReviewReason(reason string) (string, error) {
	reason = norm.NFC.String(strings.TrimSpace(strings.ReplaceAll(reason, "\r\n", "\n")))
	var problem string
	switch {
	case reason == "":
		problem = "Enter why the records are or are not the same person"
	case utf8.RuneCountInString(reason) > MaxReviewReason:
		problem = fmt.Sprintf("The reason must be %d characters or fewer", MaxReviewReason)
	default:
		problem = joinedup.FreeTextProblem("The reason", reason)
	}
	if problem != "" {
		return "", joinedup.Invalid("The decision is invalid.", joinedup.FieldError{Field: "/reason", Message: problem})
	}
	return reason, nil
}

// PersonOf returns the person that the record of source belongs to, or
// ENOTFOUND.
func (p *Persons) PersonOf(ctx context.Context, source, recordID string) (string, error) {
	r, err := p.store.FindPersonRecord(ctx, source, recordID)
	if err != nil {
		return "", err
	}
	return r.PersonID, nil
}

// Match scores r against the index without adding it. The result's
// CandidateID is the candidate's person id, or empty when nothing matched.
func (p *Persons) Match(ctx context.Context, r Record) (Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.refresh(ctx); err != nil {
		return Result{}, err
	}
	result := p.index.Match(r)
	if result.CandidateID == "" {
		return result, nil
	}
	source, recordID, _ := strings.Cut(result.CandidateID, "\x1f")
	person, err := p.store.FindPersonRecord(ctx, source, recordID)
	if err != nil {
		return Result{}, fmt.Errorf("find candidate record: %w", err)
	}
	result.CandidateID = person.PersonID
	return result, nil
}

// Review returns one review, or ENOTFOUND.
func (p *Persons) Review(ctx context.Context, id string) (*Review, error) {
	return p.store.FindPersonReview(ctx, id)
}

// Reviews returns up to limit reviews in the given state, oldest first.
func (p *Persons) Reviews(ctx context.Context, state ReviewState, limit int) ([]*Review, error) {
	return p.store.ListPersonReviews(ctx, state, limit)
}

// Record returns the record that source holds with the given id, as the
// index has it.
func (p *Persons) Record(ctx context.Context, source, recordID string) (*PersonRecord, error) {
	return p.store.FindPersonRecord(ctx, source, recordID)
}
