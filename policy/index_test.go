package policy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
)

// TestIndexMatchesWholeSet checks that evaluating only the policies that
// indexByScope selects gives the same decision and reasons as evaluating
// the whole set, for every role, action, kind, purpose and relationship.
func TestIndexMatchesWholeSet(t *testing.T) {
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	grant := &Grant{Worker: "staff-1", Resident: "res-ada", Reason: "urgent", ExpiresAt: now.Add(time.Hour)}
	purposes := []string{"", PurposeRegistration, PurposeSocialCare, PurposeSafeguarding, PurposeServiceDelivery, PurposeOperations, PurposeAudit, PurposeSubjectAccess, PurposeConsent}
	relationships := []Relationship{RelationshipNone, RelationshipAllocatedWorker, RelationshipParent, RelationshipSelf}

	checked, allowed := 0, 0
	for _, role := range Roles {
		principal := Principal{ID: "staff-1", Role: role, Organisation: "council", Services: []joinedup.ServiceID{"child-benefit"}}
		if role == RoleResident {
			principal = Principal{ID: "res-ada", Role: role}
		}
		for _, action := range []Action{ActionRead, ActionWrite, ActionBreakGlass} {
			for _, kind := range Kinds {
				resource := Resource{Kind: kind, ID: "x", Subject: "res-ada", Organisation: "council", Service: "child-benefit", Recipients: []joinedup.ServiceID{"child-benefit"}, Worker: "staff-2"}
				for _, purpose := range purposes {
					for _, relationship := range relationships {
						for _, g := range []*Grant{nil, grant} {
							r := Request{Principal: principal, Action: action, Resource: resource, Purpose: purpose, Relationship: relationship, BreakGlass: g, Now: now}
							got := p.Decide(r)

							req, entities := cedarRequest(r)
							decision, diag := cedar.Authorize(p.set, entities, req)
							var want []string
							for _, reason := range diag.Reasons {
								want = append(want, string(reason.PolicyID))
							}
							slices.Sort(want)

							if got.Allowed != (decision == cedar.Allow) {
								t.Errorf("%+v: Allowed = %v, whole set decided %v", r, got.Allowed, decision)
							}
							if diff := cmp.Diff(want, got.Reasons); diff != "" {
								t.Errorf("%+v: reasons mismatch (-whole set +indexed):\n%s", r, diff)
							}
							if len(diag.Errors) != len(got.Errors) {
								t.Errorf("%+v: %d errors, whole set had %d", r, len(got.Errors), len(diag.Errors))
							}
							checked++
							if got.Allowed {
								allowed++
							}
						}
					}
				}
			}
		}
	}
	if allowed == 0 || allowed == checked {
		t.Errorf("%d of %d requests allowed, want some of each", allowed, checked)
	}
}

func TestPrincipalCacheBound(t *testing.T) {
	var c principalCache
	for i := range maxCachedPrincipals + 5 {
		c.entity(Principal{ID: fmt.Sprintf("staff-%d", i), Role: RoleOperator})
	}
	n := 0
	c.entries.Range(func(any, any) bool { n++; return true })
	if n > maxCachedPrincipals {
		t.Errorf("%d principals cached, want at most %d", n, maxCachedPrincipals)
	}
	if n == 0 {
		t.Error("no principals cached")
	}
}
