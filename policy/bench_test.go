package policy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/joinedup/joinedup"
)

// benchRequests are typical requests: an allowed read, a denied read and a
// read under a break-glass grant.
func benchRequests() map[string]Request {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	worker := Principal{ID: "staff-sw", Role: RoleSocialWorker, Organisation: "council"}
	officer := Principal{ID: "staff-cb", Role: RoleServiceOfficer, Organisation: "hmrc", Services: []joinedup.ServiceID{"child-benefit"}}
	record := Resource{Kind: KindRecord, ID: "res-ada", Subject: "res-ada"}
	event := Resource{Kind: KindLifeEvent, ID: "evt-1", Subject: "res-ada", Organisation: "council", Recipients: []joinedup.ServiceID{"gp-practice", "school"}}
	grant := &Grant{ID: "bg-1", Worker: "staff-sw", Resident: "res-ada", Reason: "No answer for two days", ExpiresAt: now.Add(time.Hour)}

	return map[string]Request{
		"allowed":     {Principal: worker, Action: ActionRead, Resource: record, Purpose: PurposeSocialCare, Relationship: RelationshipAllocatedWorker, Now: now},
		"denied":      {Principal: officer, Action: ActionRead, Resource: event, Purpose: PurposeServiceDelivery, Now: now},
		"break-glass": {Principal: worker, Action: ActionRead, Resource: record, Purpose: PurposeSafeguarding, BreakGlass: grant, Now: now},
	}
}

// BenchmarkDecide times Decide and bare cedar.Authorize on the same
// request and the same policy set, alternating call by call so that both
// see the same machine load. It reports the 50th and 99th percentile of
// single calls of each, and the ratio of their medians. The bare call gets
// the request and entities already built; Decide builds them from the
// Request each time. In the "new principal" case every call comes from a
// principal that Decide has not cached.
func BenchmarkDecide(b *testing.B) {
	p, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	requests := benchRequests()
	cases := map[string]func(i int) Request{
		"allowed":     func(int) Request { return requests["allowed"] },
		"denied":      func(int) Request { return requests["denied"] },
		"break-glass": func(int) Request { return requests["break-glass"] },
		"new principal": func(i int) Request {
			r := requests["allowed"]
			r.Principal.ID = fmt.Sprintf("staff-%d", i%(2*maxCachedPrincipals))
			return r
		},
	}
	for name, request := range cases {
		b.Run(name, func(b *testing.B) {
			// Build each distinct bare request once, outside the timing.
			type bareRequest struct {
				req      cedar.Request
				entities cedar.EntityMap
			}
			bare := map[string]bareRequest{}
			for i := range min(b.N, 2*maxCachedPrincipals) {
				r := request(i)
				req, entities := cedarRequest(r)
				bare[r.Principal.ID] = bareRequest{req, cedar.EntityMap{entities.principal.UID: entities.principal, entities.resource.UID: entities.resource}}
				if got, _ := cedar.Authorize(p.set, bare[r.Principal.ID].entities, req); (got == cedar.Allow) != p.Decide(r).Allowed {
					b.Fatalf("bare cedar-go decided %v, Decide decided otherwise", got)
				}
			}

			decide := make([]time.Duration, 0, b.N)
			authorize := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := request(i)
				start := time.Now()
				p.Decide(r)
				decide = append(decide, time.Since(start))

				one := bare[r.Principal.ID]
				start = time.Now()
				cedar.Authorize(p.set, one.entities, one.req)
				authorize = append(authorize, time.Since(start))
			}
			b.StopTimer()

			slices.Sort(decide)
			slices.Sort(authorize)
			b.ReportMetric(percentile(decide, 50), "decide-p50-ns")
			b.ReportMetric(percentile(decide, 99), "decide-p99-ns")
			b.ReportMetric(percentile(authorize, 50), "cedar-p50-ns")
			b.ReportMetric(percentile(authorize, 99), "cedar-p99-ns")
			b.ReportMetric(percentile(decide, 50)/percentile(authorize, 50), "p50-ratio")
		})
	}
}

// percentile returns the p-th percentile of sorted durations in
// nanoseconds, by the nearest-rank method.
func percentile(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return float64(sorted[max(i-1, 0)].Nanoseconds())
}
