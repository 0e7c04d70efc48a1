package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/linkage"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

var (
	heldByCouncil = linkage.Record{
		ID: "ct-4471", GivenName: "Siobhán", FamilyName: "O’Neill-Byrne", DateOfBirth: "1984-03-27",
		AddressLines: []string{"14 Kirkgate"}, Town: "Otley", Postcode: "LS21 3HJ",
	}
	heldBySchool = linkage.Record{
		ID: "pupil-88", GivenName: "Siobhan", FamilyName: "O'Neill Byrne", DateOfBirth: "1984-03-27",
		AddressLines: []string{"14 Kirkgate"}, Postcode: "LS21 3HJ",
	}
)

func TestPersonRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return at }

		first := &linkage.PersonRecord{Source: "council-tax", Record: heldByCouncil, LinkedBy: linkage.LinkedNew, Weight: -3.5}
		if err := db.AddPersonRecord(ctx, first, nil); err != nil {
			t.Fatalf("AddPersonRecord(new person): %v", err)
		}
		if first.PersonID == "" {
			t.Fatal("AddPersonRecord did not set the new person id")
		}
		second := &linkage.PersonRecord{Source: "school", Record: heldBySchool, PersonID: first.PersonID, LinkedBy: linkage.LinkedMatch, Weight: 31.25}
		if err := db.AddPersonRecord(ctx, second, nil); err != nil {
			t.Fatalf("AddPersonRecord(existing person): %v", err)
		}

		got, err := db.FindPersonRecord(ctx, "school", "pupil-88")
		if err != nil {
			t.Fatalf("FindPersonRecord: %v", err)
		}
		want := &linkage.PersonRecord{Source: "school", Record: heldBySchool, PersonID: first.PersonID, LinkedBy: linkage.LinkedMatch, Weight: 31.25, AddedAt: at}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindPersonRecord mismatch (-want +got):\n%s", diff)
		}

		all, err := db.ListPersonRecords(ctx)
		if err != nil {
			t.Fatalf("ListPersonRecords: %v", err)
		}
		if len(all) != 2 {
			t.Errorf("ListPersonRecords returned %d records, want 2", len(all))
		}
		ofPerson, err := db.ListRecordsOfPerson(ctx, first.PersonID)
		if err != nil {
			t.Fatalf("ListRecordsOfPerson: %v", err)
		}
		if len(ofPerson) != 2 {
			t.Errorf("ListRecordsOfPerson returned %d records, want 2", len(ofPerson))
		}

		errs := []struct {
			name string
			err  error
			want string
		}{
			{"same record twice", db.AddPersonRecord(ctx, &linkage.PersonRecord{Source: "school", Record: heldBySchool, LinkedBy: linkage.LinkedNew}, nil), joinedup.ECONFLICT},
			{"unknown person", db.AddPersonRecord(ctx, &linkage.PersonRecord{Source: "school", Record: linkage.Record{ID: "pupil-89"}, PersonID: "per_missing", LinkedBy: linkage.LinkedMatch}, nil), joinedup.EINVALID},
			{"record not found", func() error { _, err := db.FindPersonRecord(ctx, "school", "pupil-1"); return err }(), joinedup.ENOTFOUND},
			{"person not found", func() error { _, err := db.ListRecordsOfPerson(ctx, "per_missing"); return err }(), joinedup.ENOTFOUND},
		}
		for _, e := range errs {
			if got := joinedup.ErrorCode(e.err); got != e.want {
				t.Errorf("%s: error %v has code %q, want %q", e.name, e.err, got, e.want)
			}
		}
	})
}

func TestPersonReviews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		candidate := &linkage.PersonRecord{Source: "council-tax", Record: heldByCouncil, LinkedBy: linkage.LinkedNew}
		if err := db.AddPersonRecord(ctx, candidate, nil); err != nil {
			t.Fatal(err)
		}
		review := func(id, recordID string) *linkage.Review {
			return &linkage.Review{
				ID: id, Source: "school", RecordID: recordID, CandidateSource: "council-tax", CandidateRecordID: "ct-4471",
				Weight: 4.5, Probability: 0.957,
				Fields: []linkage.FieldComparison{{Field: "family_name", Level: "one_edit", Weight: 6.9}},
			}
		}
		for _, id := range []string{"1", "2"} {
			rec := heldBySchool
			rec.ID = "pupil-" + id
			r := &linkage.PersonRecord{Source: "school", Record: rec, LinkedBy: linkage.LinkedNew}
			if err := db.AddPersonRecord(ctx, r, review("rev-"+id, rec.ID)); err != nil {
				t.Fatalf("AddPersonRecord with review: %v", err)
			}
		}

		open, err := db.ListPersonReviews(ctx, linkage.ReviewOpen, 10)
		if err != nil {
			t.Fatalf("ListPersonReviews: %v", err)
		}
		if len(open) != 2 {
			t.Fatalf("ListPersonReviews(open) returned %d reviews, want 2", len(open))
		}
		if diff := cmp.Diff(review("rev-1", "pupil-1").Fields, open[0].Fields); diff != "" {
			t.Errorf("review fields mismatch (-want +got):\n%s", diff)
		}

		if _, err := db.DecidePersonReview(ctx, "rev-1", true, "", "amina.okafor"); joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Errorf("decide without a reason = %v, want EINVALID", err)
		}
		confirmed, err := db.DecidePersonReview(ctx, "rev-1", true, "Same pupil: the parent confirmed by phone", "amina.okafor")
		if err != nil {
			t.Fatalf("confirm review: %v", err)
		}
		if confirmed.State != linkage.ReviewConfirmed || confirmed.DecidedBy != "amina.okafor" {
			t.Errorf("confirmed review = %+v, want state confirmed by amina.okafor", confirmed)
		}
		moved, err := db.FindPersonRecord(ctx, "school", "pupil-1")
		if err != nil {
			t.Fatal(err)
		}
		if moved.PersonID != candidate.PersonID || moved.LinkedBy != linkage.LinkedReview {
			t.Errorf("confirmed record has person %s linked by %s, want %s linked by review", moved.PersonID, moved.LinkedBy, candidate.PersonID)
		}
		if _, err := db.DecidePersonReview(ctx, "rev-1", false, "Changed my mind", "amina.okafor"); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("decide twice = %v, want ECONFLICT", err)
		}

		if _, err := db.DecidePersonReview(ctx, "rev-2", false, "Different dates of arrival at the school", "amina.okafor"); err != nil {
			t.Fatalf("reject review: %v", err)
		}
		kept, err := db.FindPersonRecord(ctx, "school", "pupil-2")
		if err != nil {
			t.Fatal(err)
		}
		if kept.PersonID == candidate.PersonID {
			t.Errorf("rejected record was linked to the candidate's person %s", kept.PersonID)
		}
		if _, err := db.FindPersonReview(ctx, "rev-9"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("FindPersonReview(missing) = %v, want ENOTFOUND", err)
		}
		left, err := db.ListPersonReviews(ctx, linkage.ReviewOpen, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("%d reviews still open, want 0", len(left))
		}
	})
}

// TestPersonsSurviveRestart resolves records through linkage.Persons,
// closes the store, opens it again and checks that the index still
// recognises the person.
func TestPersonsSurviveRestart(t *testing.T) {
	backends := map[string]func(t *testing.T) func() *store.DB{
		"sqlite": func(t *testing.T) func() *store.DB {
			path := filepath.Join(t.TempDir(), "joinedup.db")
			return func() *store.DB {
				db, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
		},
		"postgres": func(t *testing.T) func() *store.DB {
			url := storetest.PostgresURL(t)
			return func() *store.DB {
				db, err := postgres.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
		},
	}
	for name, backend := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			open := backend(t)

			db := open()
			persons, err := linkage.OpenPersons(ctx, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			first, err := persons.Resolve(ctx, "council-tax", heldByCouncil)
			if err != nil {
				t.Fatalf("Resolve(first): %v", err)
			}
			if first.Result.Decision != linkage.None {
				t.Errorf("first record decision = %s, want none in an empty index", first.Result.Decision)
			}
			db.Close()

			db = open()
			defer db.Close()
			persons, err = linkage.OpenPersons(ctx, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			second, err := persons.Resolve(ctx, "school", heldBySchool)
			if err != nil {
				t.Fatalf("Resolve(after restart): %v", err)
			}
			if second.PersonID != first.PersonID {
				t.Errorf("after restart the record joined person %s (decision %s), want %s", second.PersonID, second.Result.Decision, first.PersonID)
			}
			if _, err := persons.Resolve(ctx, "school", heldBySchool); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
				t.Errorf("Resolve(same record again) = %v, want ECONFLICT", err)
			}
		})
	}
}

// TestPersonsPossibleMatchGoesToReview checks that a possible match is
// never linked: it starts a new person and opens a review, and only a
// confirmed review merges the two.
func TestPersonsPossibleMatchGoesToReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		persons, err := linkage.OpenPersons(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		twin := linkage.Record{ID: "hb-1", GivenName: "Amelia", FamilyName: "Okonkwo", DateOfBirth: "2019-06-14", AddressLines: []string{"3 Mill Lane"}, Town: "Leeds", Postcode: "LS6 2QT"}
		other := twin
		other.ID, other.GivenName = "hb-2", "Olivia"
		a, err := persons.Resolve(ctx, "housing-benefit", twin)
		if err != nil {
			t.Fatal(err)
		}
		b, err := persons.Resolve(ctx, "housing-benefit", other)
		if err != nil {
			t.Fatal(err)
		}
		if b.Result.Decision != linkage.Possible || b.Review == nil {
			t.Fatalf("twin decision = %s with review %v, want possible with a review", b.Result.Decision, b.Review)
		}
		if b.PersonID == a.PersonID {
			t.Fatalf("twin linked to person %s automatically", a.PersonID)
		}
		if _, err := persons.Decide(ctx, b.Review.ID, false, "", "amina.okafor"); joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Errorf("Decide without a reason = %v, want EINVALID", err)
		}
		if _, err := persons.Decide(ctx, b.Review.ID, true, "Checked: the same child registered twice", "amina.okafor"); err != nil {
			t.Fatalf("Decide: %v", err)
		}
		got, err := persons.PersonOf(ctx, "housing-benefit", "hb-2")
		if err != nil {
			t.Fatal(err)
		}
		if got != a.PersonID {
			t.Errorf("after confirmation hb-2 belongs to %s, want %s", got, a.PersonID)
		}
	})
}

func TestPersonRecordMatched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		start := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		setClock := testClock(db, start)

		first := &linkage.PersonRecord{Source: "council-tax", Record: heldByCouncil, LinkedBy: linkage.LinkedNew}
		if err := db.AddPersonRecord(ctx, first, nil); err != nil {
			t.Fatal(err)
		}
		setClock(start.Add(time.Minute))
		second := &linkage.PersonRecord{Source: "school", Record: heldBySchool, LinkedBy: linkage.LinkedMatch,
			Matched: &linkage.RecordKey{Source: "council-tax", RecordID: "ct-4471"}}
		if err := db.AddPersonRecord(ctx, second, nil); err != nil {
			t.Fatalf("AddPersonRecord(matched): %v", err)
		}
		if second.PersonID != first.PersonID {
			t.Errorf("matched record joined person %s, want %s", second.PersonID, first.PersonID)
		}

		unknown := &linkage.PersonRecord{Source: "school", Record: linkage.Record{ID: "pupil-90"}, LinkedBy: linkage.LinkedMatch,
			Matched: &linkage.RecordKey{Source: "council-tax", RecordID: "ct-0"}}
		if err := db.AddPersonRecord(ctx, unknown, nil); joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Errorf("AddPersonRecord(unknown match) = %v, want EINVALID", err)
		}

		since, err := db.ListPersonRecordsSince(ctx, start.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(since) != 1 || since[0].Record.ID != "pupil-88" {
			t.Errorf("ListPersonRecordsSince = %d records, want only pupil-88", len(since))
		}
	})
}

// twoNodes opens two Persons on db, as two hub nodes sharing a store do.
func twoNodes(t *testing.T, db *store.DB) (a, b *linkage.Persons) {
	t.Helper()
	var err error
	if a, err = linkage.OpenPersons(context.Background(), db, nil); err != nil {
		t.Fatal(err)
	}
	if b, err = linkage.OpenPersons(context.Background(), db, nil); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestPersonsTwoNodes runs two Persons on one store, as two hub nodes
// sharing a database do, and checks that each finds the other's records
// and follows its merges.
func TestPersonsTwoNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		nodeA, nodeB := twoNodes(t, db)

		first, err := nodeA.Resolve(ctx, "council-tax", heldByCouncil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := nodeB.Resolve(ctx, "school", heldBySchool)
		if err != nil {
			t.Fatal(err)
		}
		if second.PersonID != first.PersonID {
			t.Errorf("node B linked the record to %s (decision %s), want node A's person %s", second.PersonID, second.Result.Decision, first.PersonID)
		}

		// A possible match resolved on node A, confirmed there, is
		// followed by node B when it links a later record to it.
		twin := linkage.Record{ID: "hb-1", GivenName: "Amelia", FamilyName: "Okonkwo", DateOfBirth: "2019-06-14", AddressLines: []string{"3 Mill Lane"}, Town: "Leeds", Postcode: "LS6 2QT"}
		other := twin
		other.ID, other.GivenName = "hb-2", "Olivia"
		a, err := nodeA.Resolve(ctx, "housing-benefit", twin)
		if err != nil {
			t.Fatal(err)
		}
		b, err := nodeA.Resolve(ctx, "housing-benefit", other)
		if err != nil {
			t.Fatal(err)
		}
		if b.Review == nil {
			t.Fatalf("twin decision = %s, want a review", b.Result.Decision)
		}
		if _, err := nodeA.Decide(ctx, b.Review.ID, true, "Same child, name changed at adoption", "amina.okafor"); err != nil {
			t.Fatal(err)
		}
		later := other
		later.ID = "sch-7"
		c, err := nodeB.Resolve(ctx, "school", later)
		if err != nil {
			t.Fatal(err)
		}
		if c.Result.Decision != linkage.Match || c.PersonID != a.PersonID {
			t.Errorf("node B resolved the later record to %s (decision %s), want the merged person %s", c.PersonID, c.Result.Decision, a.PersonID)
		}
	})
}

// TestPersonsClockBehind checks that a record stored by a node whose
// clock is behind another's is still found by that other node, which
// reads only the records added since its own last one.
func TestPersonsClockBehind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ahead := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		setClock := testClock(db, ahead)
		nodeA, nodeB := twoNodes(t, db)
		stranger := linkage.Record{ID: "gp-31", GivenName: "Tomasz", FamilyName: "Wiśniewski", DateOfBirth: "1979-11-02",
			AddressLines: []string{"8 Station Road"}, Town: "Ilkley", Postcode: "LS29 8HA"}
		if _, err := nodeA.Resolve(ctx, "gp-practice", stranger); err != nil {
			t.Fatal(err)
		}

		// Node B's clock is an hour behind node A's.
		setClock(ahead.Add(-time.Hour))
		first, err := nodeB.Resolve(ctx, "council-tax", heldByCouncil)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := db.FindPersonRecord(ctx, "council-tax", heldByCouncil.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.AddedAt.Before(ahead) {
			t.Errorf("record stored behind the newest one: added at %s, want at or after %s", stored.AddedAt, ahead)
		}
		second, err := nodeA.Resolve(ctx, "school", heldBySchool)
		if err != nil {
			t.Fatal(err)
		}
		if second.PersonID != first.PersonID {
			t.Errorf("node A linked the record to %s (decision %s), want node B's person %s", second.PersonID, second.Result.Decision, first.PersonID)
		}
	})
}

// TestPersonsNodesAtOnce runs two nodes, each with its own connection
// pool on one PostgreSQL database, that resolve records of the same new
// person at the same moment, and checks that both records join one
// person.
func TestPersonsNodesAtOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	var nodes [2]*linkage.Persons
	for i := range nodes {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if nodes[i], err = linkage.OpenPersons(ctx, db, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Each round's person shares no name, date of birth or address with
	// another round's.
	people := []linkage.Record{
		{GivenName: "Rosalind", FamilyName: "Adeyemi", DateOfBirth: "1988-07-19", AddressLines: []string{"4 Albion Street"}, Town: "Wakefield", Postcode: "WF1 2PX"},
		{GivenName: "Henrik", FamilyName: "Bergström", DateOfBirth: "1971-02-03", AddressLines: []string{"17 Quarry Hill"}, Town: "Halifax", Postcode: "HX3 6LN"},
		{GivenName: "Marisol", FamilyName: "Castellanos", DateOfBirth: "1995-12-28", AddressLines: []string{"Flat 2, 61 Moor Lane"}, Town: "Skipton", Postcode: "BD23 1QE"},
		{GivenName: "Étienne", FamilyName: "Dubois", DateOfBirth: "1966-09-11", AddressLines: []string{"230 Harrogate Road"}, Town: "Bradford", Postcode: "BD10 0RT"},
		{GivenName: "Ingrid", FamilyName: "Eriksen", DateOfBirth: "2001-04-30", AddressLines: []string{"9 Beck Side"}, Town: "Keighley", Postcode: "BD21 5ZW"},
		{GivenName: "Declan", FamilyName: "Fitzgerald", DateOfBirth: "1983-01-15", AddressLines: []string{"71 Chapel Street"}, Town: "Pudsey", Postcode: "LS28 7BS"},
		{GivenName: "Nuala", FamilyName: "Gallagher", DateOfBirth: "1959-06-07", AddressLines: []string{"12 Orchard Close"}, Town: "Batley", Postcode: "WF17 5DJ"},
		{GivenName: "Karim", FamilyName: "Haddad", DateOfBirth: "1990-10-22", AddressLines: []string{"45 Regent Parade"}, Town: "Harrogate", Postcode: "HG1 5AW"},
	}
	for round, person := range people {
		council, school := person, person
		council.ID, school.ID, school.Town = fmt.Sprintf("ct-%d", round), fmt.Sprintf("pupil-%d", round), ""
		records := [2]linkage.Record{council, school}
		sources := [2]string{"council-tax", "school"}
		var results [2]*linkage.Resolution
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				<-start
				results[i], errs[i] = nodes[i].Resolve(ctx, sources[i], records[i])
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if results[0].Result.Decision != linkage.Match && results[1].Result.Decision != linkage.Match {
			t.Errorf("round %d: neither record matched the other (decisions %s and %s)", round, results[0].Result.Decision, results[1].Result.Decision)
		}
		if results[0].PersonID != results[1].PersonID {
			t.Errorf("round %d: the nodes put one person's records in persons %s and %s (decisions %s and %s)", round,
				results[0].PersonID, results[1].PersonID, results[0].Result.Decision, results[1].Result.Decision)
		}
	}
}

// TestListUnrecognisedEvents checks that the person index's sweep finds
// each registration whose child has no record yet, oldest first, and only
// those registered at or after the time given.
func TestListUnrecognisedEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		early := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		late := early.Add(2 * time.Hour)
		setClock := testClock(db, early)
		first := newEvent(t, db)
		setClock(late)
		second := newEvent(t, db)
		third := newEvent(t, db)

		ids := func(since time.Time) []joinedup.EventID {
			t.Helper()
			events, err := db.ListUnrecognisedEvents(ctx, "registration", since, 100)
			if err != nil {
				t.Fatalf("ListUnrecognisedEvents: %v", err)
			}
			var out []joinedup.EventID
			for _, ev := range events {
				out = append(out, ev.ID)
			}
			return out
		}
		ordered := []joinedup.EventID{second.ID, third.ID}
		if third.ID < second.ID {
			ordered = []joinedup.EventID{third.ID, second.ID}
		}
		if diff := cmp.Diff(append([]joinedup.EventID{first.ID}, ordered...), ids(time.Time{})); diff != "" {
			t.Errorf("unrecognised events since the start (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(ordered, ids(early.Add(time.Hour))); diff != "" {
			t.Errorf("unrecognised events since an hour after the first (-want +got):\n%s", diff)
		}

		child := &linkage.PersonRecord{Source: "registration", LinkedBy: linkage.LinkedNew,
			Record: linkage.Record{ID: string(second.ID) + "/child", GivenName: "Zoë", FamilyName: "Okafor"}}
		if err := db.AddPersonRecord(ctx, child, nil); err != nil {
			t.Fatalf("AddPersonRecord: %v", err)
		}
		if diff := cmp.Diff([]joinedup.EventID{first.ID, third.ID}, ids(time.Time{})); diff != "" {
			t.Errorf("unrecognised events after the second child was recorded (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]joinedup.EventID{third.ID}, ids(late)); diff != "" {
			t.Errorf("unrecognised events since the later registrations (-want +got):\n%s", diff)
		}
	})
}

// TestResolveAllMatchesWithinCall checks that ResolveAll stores a call's
// records together and matches each against those before it in the call.
func TestResolveAllMatchesWithinCall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		persons, err := linkage.OpenPersons(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, second := heldByCouncil, heldBySchool
		first.ID, second.ID = "evt_1/parents/0", "evt_2/parents/0"
		other := linkage.Record{ID: "evt_2/child", GivenName: "Niamh", FamilyName: "Adeyemi", DateOfBirth: "2026-11-02"}

		res, err := persons.ResolveAll(ctx, "registration", []linkage.Record{first, second, other})
		if err != nil {
			t.Fatalf("ResolveAll: %v", err)
		}
		if res[1].Result.Decision != linkage.Match || res[1].PersonID != res[0].PersonID {
			t.Errorf("second record: decision %s, person %s; want a match with the first's person %s", res[1].Result.Decision, res[1].PersonID, res[0].PersonID)
		}
		if res[2].PersonID == "" || res[2].PersonID == res[0].PersonID {
			t.Errorf("unrelated record joined person %q, want a new person", res[2].PersonID)
		}
		for i, rec := range []linkage.Record{first, second, other} {
			if got, err := persons.PersonOf(ctx, "registration", rec.ID); err != nil || got != res[i].PersonID {
				t.Errorf("stored person of %s = %q, %v; want %s", rec.ID, got, err, res[i].PersonID)
			}
		}

		again, err := persons.ResolveAll(ctx, "registration", []linkage.Record{first, other})
		if err != nil {
			t.Fatalf("ResolveAll again: %v", err)
		}
		if again[0] != nil || again[1] != nil {
			t.Errorf("records already indexed resolved again: %v", again)
		}
	})
}

// TestResolveDistinct checks that ResolveDistinct matches no record of a
// call to another of the same call, since they are different people, and
// opens no review between them, while it still matches each against the
// records stored before.
func TestResolveDistinct(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		persons, err := linkage.OpenPersons(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, second := heldByCouncil, heldBySchool
		first.ID, second.ID = "evt_1/parents/0", "evt_1/parents/1"
		res, err := persons.ResolveDistinct(ctx, "registration", []linkage.Record{first, second})
		if err != nil {
			t.Fatalf("ResolveDistinct: %v", err)
		}
		if res[1].PersonID == res[0].PersonID || res[1].Review != nil || res[1].Result.Decision != linkage.None {
			t.Errorf("second record of the call: decision %s, review %v, person %s; want a person of its own and no review beside the first's %s",
				res[1].Result.Decision, res[1].Review, res[1].PersonID, res[0].PersonID)
		}

		later := heldBySchool
		later.ID = "evt_2/parents/0"
		again, err := persons.ResolveDistinct(ctx, "registration", []linkage.Record{later})
		if err != nil {
			t.Fatalf("ResolveDistinct of a later call: %v", err)
		}
		if again[0].Result.Decision != linkage.Match {
			t.Errorf("record of a later call: decision %s, want a match with a record stored before", again[0].Result.Decision)
		}
	})
}

// failingStore refuses the next AddPersonRecords call.
type failingStore struct {
	*store.DB
	fail bool
}

func (f *failingStore) AddPersonRecords(ctx context.Context, records []*linkage.PersonRecord, reviews []*linkage.Review) error {
	if f.fail {
		f.fail = false
		return joinedup.Errorf(joinedup.EUNAVAILABLE, "The store is closed.")
	}
	return f.DB.AddPersonRecords(ctx, records, reviews)
}

// TestResolveAllStoreFailure checks that records the store refused leave
// the index, so that resolving them again stores them and later records
// are not matched against them meanwhile.
func TestResolveAllStoreFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fs := &failingStore{DB: db}
		persons, err := linkage.OpenPersons(ctx, fs, nil)
		if err != nil {
			t.Fatal(err)
		}
		firstParent := heldByCouncil
		firstParent.ID = "evt_1/parents/0"
		if _, err := persons.Resolve(ctx, "registration", firstParent); err != nil {
			t.Fatalf("Resolve: %v", err)
		}

		secondParent := heldBySchool
		secondParent.ID = "evt_2/parents/0"
		fs.fail = true
		if _, err := persons.ResolveAll(ctx, "registration", []linkage.Record{secondParent}); joinedup.ErrorCode(err) != joinedup.EUNAVAILABLE {
			t.Fatalf("ResolveAll with a failing store = %v, want EUNAVAILABLE", err)
		}
		if _, err := persons.PersonOf(ctx, "registration", secondParent.ID); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("record refused by the store was stored: %v", err)
		}

		res, err := persons.Resolve(ctx, "registration", secondParent)
		if err != nil {
			t.Fatalf("Resolve after the failure: %v", err)
		}
		first, err := persons.PersonOf(ctx, "registration", firstParent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.PersonID != first {
			t.Errorf("record resolved after the failure joined %s (decision %s), want the first parent's person %s", res.PersonID, res.Result.Decision, first)
		}
	})
}
