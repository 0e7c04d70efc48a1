package reference_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
	"github.com/joinedup/joinedup/webhook"
)

var allServices = []joinedup.ServiceID{"child-benefit", "housing-benefit", "gp-practice", "primary-school"}

func TestStory(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]

	want := map[joinedup.ServiceID]string{
		"child-benefit":   "Child Benefit claim started at £27.05 a week, the 2026–27 rate for an eldest child.",
		"housing-benefit": "Housing Benefit and Council Tax Reduction recalculated for a household of 3:",
		"gp-practice":     "Added to the patient list.",
		"primary-school":  "Recorded for the Reception class starting in September 2031.",
	}
	for _, id := range allServices {
		o := h.act(h.birth(id, story))
		if !strings.HasPrefix(o.Summary, want[id]) {
			t.Errorf("%s summary = %q, want it to start %q", id, o.Summary, want[id])
		}
		if o.Reference == "" {
			t.Errorf("%s gave no reference", id)
		}
	}
}

func TestServicesRegistrations(t *testing.T) {
	h := newHarness(t, reference.Config{})
	services := h.set.Services("http://127.0.0.1:8090/")

	if len(services) != 4 {
		t.Fatalf("Services returned %d, want 4", len(services))
	}
	for _, s := range services {
		if want := "http://127.0.0.1:8090/reference/" + string(s.ID) + "/events"; s.Endpoint.URL != want {
			t.Errorf("%s endpoint = %q, want %q", s.ID, s.Endpoint.URL, want)
		}
		if _, err := webhook.NewSigner(s.Secret); err != nil {
			t.Errorf("%s secret: %v", s.ID, err)
		}
		if !s.Takes(joinedup.EventBirthRegistered) || !s.Takes(joinedup.EventConsentWithdrawn) {
			t.Errorf("%s event types = %v, want birth.registered and consent.withdrawn", s.ID, s.EventTypes)
		}
		for _, f := range s.Fields {
			if strings.HasPrefix(f, "consent") {
				t.Errorf("%s declares field %q", s.ID, f)
			}
		}
	}
}

func TestSecretsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	first := newHarness(t, reference.Config{DataDir: dir})
	second := newHarness(t, reference.Config{DataDir: dir})

	for _, id := range allServices {
		if first.services[id].Secret != second.services[id].Secret {
			t.Errorf("%s secret changed on restart", id)
		}
	}
}

func TestRecognisesAllDemoFamilies(t *testing.T) {
	h := newHarness(t, reference.Config{})
	for i, r := range population.Births(testSeed, population.DemoFamilies, today) {
		for _, id := range allServices {
			o := h.final(h.birth(id, r), "msg_demo_"+string(id)+"_"+string(rune('a'+i)))
			if o.Status != joinedup.OutcomeActed {
				t.Errorf("family %d, %s: outcome %q, want acted", i, id, o.Summary)
			}
		}
	}
}

// typo swaps two letters in the middle of s, as a fast typist does.
func typo(s string) string {
	r := []rune(s)
	i := len(r) / 2
	r[i-1], r[i] = r[i], r[i-1]
	return string(r)
}

func TestRecognisesParentDespiteTypo(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	for i := range story.Parents {
		story.Parents[i].Name.Family = typo(story.Parents[i].Name.Family)
		story.Parents[i].Address.Lines[0] = typo(story.Parents[i].Address.Lines[0])
	}
	story.Parents[0].Name.Given = typo(story.Parents[0].Name.Given)

	for _, id := range allServices {
		o := h.act(h.birth(id, story))
		if o.Status != joinedup.OutcomeActed {
			t.Errorf("%s outcome = %+v, want acted", id, o)
		}
	}
}

func TestRefusesToGuessOnStranger(t *testing.T) {
	h := newHarness(t, reference.Config{})
	stranger := population.Births(testSeed, 1, today)[0]
	stranger.Parents = stranger.Parents[:1]
	stranger.Parents[0] = joinedup.Parent{
		Role:        "mother",
		Name:        joinedup.Name{Given: "Perpetua", Family: "Quennell-Abara"},
		DateOfBirth: joinedup.Date{Year: 1991, Month: time.March, Day: 17},
		Address:     joinedup.Address{Lines: []string{"3 Nowhere Lane"}, Town: "Ripon", Postcode: "HG4 1ZZ"},
	}
	stranger.Informant.Parent = nil

	for _, id := range allServices {
		children := h.count(id, `SELECT count(*) FROM people WHERE role = 'child'`)
		code, o := h.send(h.birth(id, stranger), "msg_stranger_"+string(id))

		if code != http.StatusOK || o.Status != joinedup.OutcomeFailed {
			t.Errorf("%s: status %d, outcome %+v, want 200 and failed", id, code, o)
		}
		if !strings.HasPrefix(o.Summary, "Recorded for manual review") {
			t.Errorf("%s summary = %q, want manual review", id, o.Summary)
		}
		if n := h.count(id, `SELECT count(*) FROM reviews WHERE state = 'open'`); n != 1 {
			t.Errorf("%s open reviews = %d, want 1", id, n)
		}
		if n := h.count(id, `SELECT count(*) FROM people WHERE role = 'child'`); n != children {
			t.Errorf("%s children = %d after the event, want %d as before", id, n, children)
		}
	}
}

// TestFailedBirthSentAgain sends a birth the GP practice cannot match,
// then the same delivery again, as an operator's replay does: it is
// handled again and keeps one open review. Once the parents can be
// recognised, the delivery is acted on and its review is resolved.
func TestFailedBirthSentAgain(t *testing.T) {
	h := newHarness(t, reference.Config{})
	known := population.Births(testSeed, 1, today)[0]
	stranger := known
	stranger.Parents = []joinedup.Parent{{
		Role:        "mother",
		Name:        joinedup.Name{Given: "Perpetua", Family: "Quennell-Abara"},
		DateOfBirth: joinedup.Date{Year: 1991, Month: time.March, Day: 17},
		Address:     joinedup.Address{Lines: []string{"3 Nowhere Lane"}, Town: "Ripon", Postcode: "HG4 1ZZ"},
	}}
	stranger.Informant.Parent = nil

	d := h.birth("gp-practice", stranger)
	// The hub sends every attempt at a delivery with the same webhook-id.
	webhookID := "msg_" + string(d.id)
	for i := range 2 {
		code, o := h.send(d, webhookID)
		if code != http.StatusOK || o.Status != joinedup.OutcomeFailed {
			t.Fatalf("send %d: status %d, outcome %+v, want 200 and failed", i+1, code, o)
		}
		h.advance(time.Minute)
	}
	if n := h.count("gp-practice", `SELECT count(*) FROM reviews WHERE state = 'open'`); n != 1 {
		t.Errorf("open reviews after two failed sends = %d, want 1", n)
	}

	// A replay after the practice's records were put right is sent as the
	// same delivery with parents the practice knows.
	d.data = known.Normalize()
	code, o := h.send(d, webhookID)
	if code != http.StatusOK || o.Status != joinedup.OutcomeActed {
		t.Fatalf("send after the fix: status %d, outcome %+v, want 200 and acted", code, o)
	}
	if n := h.count("gp-practice", `SELECT count(*) FROM reviews WHERE state = 'open'`); n != 0 {
		t.Errorf("open reviews after acting = %d, want 0", n)
	}
	if n := h.count("gp-practice", `SELECT count(*) FROM reviews WHERE state = 'resolved'`); n != 1 {
		t.Errorf("resolved reviews = %d, want 1", n)
	}
}

func TestRejectsForgedStaleAndReplayed(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	d := h.birth("primary-school", story)
	secret := h.services["primary-school"].Secret

	forged := h.request(d, "msg_1", webhook.NewSecret())
	wrongService := h.request(d, "msg_1", h.services["gp-practice"].Secret)
	h.advance(-6 * time.Minute)
	stale := h.request(d, "msg_1", secret)
	h.advance(6 * time.Minute)
	genuine := h.request(d, "msg_1", secret)
	replay := h.request(d, "msg_1", secret)

	for name, req := range map[string]*http.Request{"forged": forged, "signed for another service": wrongService, "stale": stale} {
		if code, _ := h.serve(req); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	if n := h.count("primary-school", `SELECT count(*) FROM pupils`); n != 0 {
		t.Errorf("pupils after rejected events = %d, want 0", n)
	}

	if code, _ := h.serve(genuine); code != http.StatusOK {
		t.Fatalf("genuine: status %d, want 200", code)
	}
	h.advance(time.Minute)
	if code, _ := h.serve(replay); code != http.StatusUnauthorized {
		t.Errorf("replay: status %d, want 401", code)
	}
	if n := h.count("primary-school", `SELECT count(*) FROM pupils`); n != 1 {
		t.Errorf("pupils = %d, want 1", n)
	}
}

func TestSameDeliveryTwiceActsOnce(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]

	for _, id := range allServices {
		d := h.birth(id, story)
		records := `SELECT count(*) FROM people WHERE role = 'child'`
		if id == "primary-school" {
			records = `SELECT count(*) FROM pupils`
		}
		children := h.count(id, records)

		_, first := h.send(d, "msg_twice_"+string(id))
		h.advance(90 * time.Second)
		code, second := h.send(d, "msg_twice_"+string(id))

		if code != http.StatusOK && code != http.StatusAccepted {
			t.Errorf("%s redelivery: status %d, want 200 or 202", id, code)
		}
		if first.Summary != second.Summary || first.Reference != second.Reference {
			t.Errorf("%s redelivery outcome = %+v, want the first %+v", id, second, first)
		}
		if n := h.count(id, records); n != children+1 {
			t.Errorf("%s child records = %d, want %d", id, n, children+1)
		}
	}
}

func TestChildBenefitAdditionalChild(t *testing.T) {
	h := newHarness(t, reference.Config{})
	pop := population.Generate(testSeed, population.DemoFamilies)
	births := population.Births(testSeed, population.DemoFamilies, today)

	checked := 0
	for i, f := range pop.Families {
		if len(f.Children) == 0 {
			continue
		}
		o := h.act(h.birth("child-benefit", births[i]))
		want := "Added to the family’s Child Benefit claim at £17.90 a week, the 2026–27 rate for an additional child."
		if o.Summary != want {
			t.Errorf("family %s with %d children: summary %q, want %q", f.ID, len(f.Children), o.Summary, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no demo family has children")
	}
}

func TestSchoolStory(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	story.Child.DateOfBirth = joinedup.Date{Year: 2026, Month: time.December, Day: 1}

	d := h.birth("primary-school", story)
	o := h.act(d)
	wantDue := joinedup.Date{Year: 2030, Month: time.September, Day: 1}
	if len(o.Deferred) != 1 || o.Deferred[0].Action != reference.ActionNurseryContact || o.Deferred[0].Due != wantDue {
		t.Fatalf("deferred = %+v, want one nursery-contact due %s", o.Deferred, wantDue)
	}

	due := delivery{service: "primary-school", eventType: connector.TypeActionDue, id: d.id, data: connector.ActionDue{
		Action: reference.ActionNurseryContact, Due: wantDue, DeliveryID: d.id, EventReference: "BR-2026-000001",
	}}
	if o := h.act(due); o.Summary != "The school office called the parents about the nursery unit." {
		t.Errorf("action.due summary = %q", o.Summary)
	}
	if n := h.count("primary-school", `SELECT count(*) FROM nursery_contacts WHERE state = 'called'`); n != 1 {
		t.Errorf("calls recorded = %d, want 1", n)
	}
}

func TestSchoolWithdrawal(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	d := h.birth("primary-school", story)
	h.act(d)

	o := h.act(withdrawal("primary-school", d.id))
	if o.Summary != "Removed from pupil planning and the nursery call cancelled." {
		t.Errorf("withdrawal summary = %q", o.Summary)
	}
	if n := h.count("primary-school", `SELECT count(*) FROM pupils`); n != 0 {
		t.Errorf("pupils after withdrawal = %d, want 0", n)
	}
	if n := h.count("primary-school", `SELECT count(*) FROM nursery_contacts WHERE state = 'cancelled'`); n != 1 {
		t.Errorf("cancelled calls = %d, want 1", n)
	}

	due := delivery{service: "primary-school", eventType: connector.TypeActionDue, id: d.id, data: connector.ActionDue{
		Action: reference.ActionNurseryContact, Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}, DeliveryID: d.id,
	}}
	code, late := h.send(due, "msg_late")
	if code != http.StatusOK || late.Status != joinedup.OutcomeFailed {
		t.Errorf("action.due after withdrawal: status %d, outcome %+v, want 200 and failed", code, late)
	}
	if n := h.count("primary-school", `SELECT count(*) FROM nursery_contacts WHERE state = 'called'`); n != 0 {
		t.Errorf("calls recorded after withdrawal = %d, want 0", n)
	}
}

func TestWithdrawalUndoes(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	tests := []struct {
		service joinedup.ServiceID
		query   string // counts what the birth added
		summary string
	}{
		{"child-benefit", `SELECT count(*) FROM claim_children WHERE delivery_id = $1`, "Child Benefit for this child stopped and the record removed."},
		{"housing-benefit", `SELECT count(*) FROM award_changes WHERE delivery_id = $1 AND state = 'applied'`, "Housing Benefit and Council Tax Reduction recalculated without this child:"},
		{"gp-practice", `SELECT count(*) FROM registrations WHERE delivery_id = $1`, "Removed from the patient list."},
	}
	for _, tt := range tests {
		t.Run(string(tt.service), func(t *testing.T) {
			h.t = t
			d := h.birth(tt.service, story)
			children := h.count(tt.service, `SELECT count(*) FROM people WHERE role = 'child'`)
			h.act(d)
			if n := h.count(tt.service, tt.query, string(d.id)); n != 1 {
				t.Fatalf("after the birth: %d rows, want 1", n)
			}

			o := h.act(withdrawal(tt.service, d.id))

			if !strings.HasPrefix(o.Summary, tt.summary) {
				t.Errorf("summary = %q, want it to start %q", o.Summary, tt.summary)
			}
			if n := h.count(tt.service, tt.query, string(d.id)); n != 0 {
				t.Errorf("after withdrawal: %d rows, want 0", n)
			}
			if n := h.count(tt.service, `SELECT count(*) FROM people WHERE role = 'child'`); n != children {
				t.Errorf("children = %d, want %d as before the birth", n, children)
			}
		})
	}
}

func TestHousingBenefitRestoresAward(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	award := func() (hb, ctr int64) {
		t.Helper()
		row := h.db("housing-benefit").QueryRow(`SELECT hb_award, ctr_award FROM households
			WHERE id = (SELECT household_id FROM award_changes)`)
		if err := row.Scan(&hb, &ctr); err != nil {
			t.Fatalf("read award: %v", err)
		}
		return hb, ctr
	}

	d := h.birth("housing-benefit", story)
	h.act(d)
	var hbBefore, ctrBefore int64
	if err := h.db("housing-benefit").QueryRow(`SELECT hb_before, ctr_before FROM award_changes`).Scan(&hbBefore, &ctrBefore); err != nil {
		t.Fatalf("read award change: %v", err)
	}
	hbWith, ctrWith := award()
	if hbWith < hbBefore || ctrWith < ctrBefore {
		t.Errorf("award with the child = %d/%d, want at least %d/%d as before", hbWith, ctrWith, hbBefore, ctrBefore)
	}

	h.act(withdrawal("housing-benefit", d.id))

	if hb, ctr := award(); hb != hbBefore || ctr != ctrBefore {
		t.Errorf("award after withdrawal = %d/%d, want %d/%d as before the birth", hb, ctr, hbBefore, ctrBefore)
	}
}

func TestSchoolIntakeAcrossYearBoundary(t *testing.T) {
	h := newHarness(t, reference.Config{})
	tests := []struct {
		born    joinedup.Date
		summary string
		nursery joinedup.Date
	}{
		{joinedup.Date{Year: 2026, Month: time.August, Day: 31},
			"Recorded for the Reception class starting in September 2030.", joinedup.Date{Year: 2029, Month: time.September, Day: 1}},
		{joinedup.Date{Year: 2026, Month: time.September, Day: 1},
			"Recorded for the Reception class starting in September 2031.", joinedup.Date{Year: 2030, Month: time.September, Day: 1}},
	}
	for _, tt := range tests {
		r := population.Births(testSeed, 1, today)[0]
		r.Child.DateOfBirth = tt.born

		o := h.act(h.birth("primary-school", r))

		if o.Summary != tt.summary {
			t.Errorf("born %s: summary %q, want %q", tt.born, o.Summary, tt.summary)
		}
		if len(o.Deferred) != 1 || o.Deferred[0].Due != tt.nursery {
			t.Errorf("born %s: deferred %+v, want the nursery contact on %s", tt.born, o.Deferred, tt.nursery)
		}
	}
}

func TestNamesReachRecordsAsSent(t *testing.T) {
	h := newHarness(t, reference.Config{})
	tests := []struct {
		name string
		sent joinedup.Name
		want joinedup.Name
	}{
		{"typographic apostrophe", joinedup.Name{Given: "Siobhán", Family: "O’Brien"}, joinedup.Name{Given: "Siobhán", Family: "O’Brien"}},
		{"typewriter apostrophe", joinedup.Name{Given: "D'Arcy", Family: "O'Connor"}, joinedup.Name{Given: "D'Arcy", Family: "O'Connor"}},
		{"hyphens", joinedup.Name{Given: "Mary-Jane", Family: "Smith-Jones"}, joinedup.Name{Given: "Mary-Jane", Family: "Smith-Jones"}},
		{"decomposed accents", joinedup.Name{Given: "Zoe\u0308", Family: "Nguye\u0302\u0303n"}, joinedup.Name{Given: "Zoë", Family: "Nguyễn"}},
		{"one part", joinedup.Name{Given: "Aung"}, joinedup.Name{Given: "Aung"}},
		{"particle", joinedup.Name{Given: "Jan", Family: "van der Berg"}, joinedup.Name{Given: "Jan", Family: "van der Berg"}},
	}
	queries := map[joinedup.ServiceID]string{
		"gp-practice":    `SELECT given_name, family_name FROM people WHERE id = $1`,
		"primary-school": `SELECT given_name, family_name FROM pupils WHERE id = $1`,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			r := population.Births(testSeed, 1, today)[0]
			r.Child.Name = tt.sent
			for service, query := range queries {
				d := delivery{service: service, eventType: connector.TypeBirthRegistered, id: h.newDeliveryID(), data: r}
				o := h.act(d)

				var got joinedup.Name
				if err := h.db(service).QueryRow(query, o.Reference).Scan(&got.Given, &got.Family); err != nil {
					t.Fatalf("%s: read record %s: %v", service, o.Reference, err)
				}
				if got != tt.want {
					t.Errorf("%s record name = %+q, want %+q", service, got, tt.want)
				}
			}
		})
	}
}

func TestUnknownPathGetsProblem(t *testing.T) {
	h := newHarness(t, reference.Config{})
	srv := httptest.NewServer(h.set.Handler())
	t.Cleanup(srv.Close)

	resp, err := http.Post(srv.URL+"/reference/no-such-service/events", "application/cloudevents+json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	var p connector.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != http.StatusNotFound || p.Detail == "" {
		t.Errorf("problem = %+v, err %v; want a 404 problem with a detail", p, err)
	}
}

// TestChildBenefitRateOfClaimYear registers a child born in March 2026 in
// December 2026: the claim is paid at the rates of 2026–27, the tax year in
// which it is made, not of 2025–26, the year of the birth.
func TestChildBenefitRateOfClaimYear(t *testing.T) {
	h := newHarness(t, reference.Config{})
	story := population.Births(testSeed, 1, today)[0]
	story.Child.DateOfBirth = joinedup.Date{Year: 2026, Month: time.March, Day: 1}

	o := h.act(h.birth("child-benefit", story))
	want := "Child Benefit claim started at £27.05 a week, the 2026–27 rate for an eldest child."
	if o.Summary != want {
		t.Errorf("summary = %q, want %q", o.Summary, want)
	}
}

// TestChildBenefitOlderChildTakesEldestRate registers a baby and then an
// older child of the same parents: the older child gets the eldest-child
// rate, and the baby moves to the additional-child rate.
func TestChildBenefitOlderChildTakesEldestRate(t *testing.T) {
	h := newHarness(t, reference.Config{})
	baby := population.Births(testSeed, 1, today)[0]
	h.act(h.birth("child-benefit", baby))

	older := baby
	older.Child.Name.Given = "Ada"
	older.Child.DateOfBirth = joinedup.Date{Year: 2026, Month: time.March, Day: 1}
	o := h.act(h.birth("child-benefit", older))
	want := "Added to the family’s Child Benefit claim at £27.05 a week, the 2026–27 rate for an eldest child, which this child now is."
	if o.Summary != want {
		t.Errorf("summary = %q, want %q", o.Summary, want)
	}
	if n := h.count("child-benefit", `SELECT count(*) FROM claim_children WHERE rate = 'eldest' AND claim_id = (SELECT claim_id FROM claim_children WHERE weekly_rate = 1790)`); n != 1 {
		t.Errorf("children at the eldest rate on the claim = %d, want 1", n)
	}
	if n := h.count("child-benefit", `SELECT count(*) FROM claim_children WHERE rate = 'additional' AND weekly_rate = 1790`); n != 1 {
		t.Errorf("children moved to the 2026–27 additional rate = %d, want 1", n)
	}
}

// TestSeedLogDescribesPopulation checks that each service's first start
// logs the size and seed of the population, and that it holds the demo
// families and a share of the others.
func TestSeedLogDescribesPopulation(t *testing.T) {
	var logs syncBuffer
	newHarness(t, reference.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	others := map[joinedup.ServiceID]string{}
	pattern := regexp.MustCompile(fmt.Sprintf(`service=(\S+) source="synthetic population of %d families from seed %d, of which this service holds the %d demo families and (\d+) others"`,
		testFamilies, testSeed, population.DemoFamilies))
	lines := pattern.FindAllStringSubmatch(logs.String(), -1)
	for _, line := range lines {
		others[joinedup.ServiceID(line[1])] = line[2]
	}
	for _, id := range allServices {
		if others[id] == "" {
			t.Errorf("log has no seed line for %s that describes the population:\n%s", id, logs.String())
		}
	}
	// Child Benefit holds a record of every family.
	if want := fmt.Sprint(testFamilies - population.DemoFamilies); others["child-benefit"] != want {
		t.Errorf("child-benefit holds %s other families, want all %s", others["child-benefit"], want)
	}
}

// syncBuffer is a bytes.Buffer that the services' goroutines may write
// to while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
