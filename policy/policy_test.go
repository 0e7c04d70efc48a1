package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

var now = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Synthetic principals, one per role. The resident "res-ada" is the
// subject of the records below; "res-ben" is another resident.
var (
	registrar = policy.Principal{ID: "staff-reg", Role: policy.RoleRegistrar, Organisation: "council"}
	worker    = policy.Principal{ID: "staff-sw", Role: policy.RoleSocialWorker, Organisation: "council"}
	officer   = policy.Principal{ID: "staff-cb", Role: policy.RoleServiceOfficer, Organisation: "hmrc", Services: []joinedup.ServiceID{"child-benefit"}}
	operator  = policy.Principal{ID: "staff-ops", Role: policy.RoleOperator, Organisation: "council"}
	dpo       = policy.Principal{ID: "staff-dpo", Role: policy.RoleDataProtectionOfficer, Organisation: "council"}
	ada       = policy.Principal{ID: "res-ada", Role: policy.RoleResident}
	ben       = policy.Principal{ID: "res-ben", Role: policy.RoleResident}
)

// resources returns one resource of each kind about the resident subject,
// as sent to child-benefit where that applies.
func resources(subject string) map[policy.Kind]policy.Resource {
	return map[policy.Kind]policy.Resource{
		policy.KindRecord:           {Kind: policy.KindRecord, ID: subject, Subject: subject},
		policy.KindLifeEvent:        {Kind: policy.KindLifeEvent, ID: "evt-1", Subject: subject, Organisation: "council", Recipients: []joinedup.ServiceID{"child-benefit", "gp-practice"}},
		policy.KindDelivery:         {Kind: policy.KindDelivery, ID: "dlv-1", Subject: subject, Organisation: "hmrc", Service: "child-benefit"},
		policy.KindNotices:          {Kind: policy.KindNotices, ID: "child-benefit", Organisation: "hmrc", Service: "child-benefit"},
		policy.KindAuditLog:         {Kind: policy.KindAuditLog, ID: subject, Subject: subject},
		policy.KindBreakGlassReview: {Kind: policy.KindBreakGlassReview, ID: "bg-1", Subject: subject, Worker: "staff-sw"},
	}
}

func load(t *testing.T) *policy.Policies {
	t.Helper()
	p, err := policy.Default()
	if err != nil {
		t.Fatalf("load default policies: %v", err)
	}
	return p
}

// access is the purpose and relationship that a role usually gives.
type access struct {
	principal    policy.Principal
	purpose      string
	relationship policy.Relationship
}

var roles = map[policy.Role]access{
	policy.RoleRegistrar:             {registrar, policy.PurposeRegistration, policy.RelationshipNone},
	policy.RoleSocialWorker:          {worker, policy.PurposeSocialCare, policy.RelationshipAllocatedWorker},
	policy.RoleServiceOfficer:        {officer, policy.PurposeServiceDelivery, policy.RelationshipNone},
	policy.RoleOperator:              {operator, policy.PurposeOperations, policy.RelationshipNone},
	policy.RoleDataProtectionOfficer: {dpo, policy.PurposeAudit, policy.RelationshipNone},
	policy.RoleResident:              {ada, policy.PurposeSubjectAccess, policy.RelationshipSelf},
}

// TestReadEachRoleEachKind covers every role against every kind of
// resource with the role's usual purpose and relationship, then takes the
// purpose away, gives a wrong purpose, and takes the relationship away:
// each of those must be denied.
func TestReadEachRoleEachKind(t *testing.T) {
	p := load(t)
	res := resources("res-ada")

	// The policy that allows each role to read each kind; "" means denied.
	want := map[policy.Role]map[policy.Kind]string{
		policy.RoleRegistrar: {
			policy.KindLifeEvent: "registrar-life-event",
		},
		policy.RoleSocialWorker: {
			policy.KindRecord:    "social-worker-allocated",
			policy.KindLifeEvent: "social-worker-allocated",
		},
		policy.RoleServiceOfficer: {
			policy.KindLifeEvent: "service-officer-life-event-sent",
			policy.KindDelivery:  "service-officer-delivery",
			policy.KindNotices:   "service-officer-notices",
		},
		policy.RoleOperator: {
			policy.KindDelivery: "operator-delivery",
		},
		policy.RoleDataProtectionOfficer: {
			policy.KindAuditLog:         "data-protection-officer-audit-log",
			policy.KindBreakGlassReview: "data-protection-officer-break-glass-review",
		},
		policy.RoleResident: {
			policy.KindRecord:    "resident-own-data",
			policy.KindLifeEvent: "resident-own-data",
			policy.KindDelivery:  "resident-own-data",
			policy.KindAuditLog:  "resident-own-data",
		},
	}

	for _, role := range policy.Roles {
		a := roles[role]
		for _, kind := range policy.Kinds {
			base := policy.Request{
				Principal:    a.principal,
				Action:       policy.ActionRead,
				Resource:     res[kind],
				Purpose:      a.purpose,
				Relationship: a.relationship,
				Now:          now,
			}
			reason := want[role][kind]

			t.Run(string(role)+"/"+string(kind), func(t *testing.T) {
				got := p.Decide(base)
				if got.Allowed != (reason != "") {
					t.Fatalf("Allowed = %v, want %v (reasons %v)", got.Allowed, reason != "", got.Reasons)
				}
				if reason != "" && !slices.Contains(got.Reasons, reason) {
					t.Errorf("Reasons = %v, want them to contain %q", got.Reasons, reason)
				}
				if len(got.Errors) > 0 {
					t.Errorf("Errors = %v, want none", got.Errors)
				}
			})
			if reason == "" {
				continue
			}

			t.Run(string(role)+"/"+string(kind)+"/no purpose", func(t *testing.T) {
				r := base
				r.Purpose = ""
				if got := p.Decide(r); got.Allowed {
					t.Errorf("Allowed = true with no purpose, want false (reasons %v)", got.Reasons)
				}
			})
			t.Run(string(role)+"/"+string(kind)+"/wrong purpose", func(t *testing.T) {
				r := base
				r.Purpose = "marketing"
				if got := p.Decide(r); got.Allowed {
					t.Errorf("Allowed = true for purpose marketing, want false (reasons %v)", got.Reasons)
				}
			})
			if a.relationship != policy.RelationshipNone {
				t.Run(string(role)+"/"+string(kind)+"/no relationship", func(t *testing.T) {
					r := base
					r.Relationship = policy.RelationshipNone
					if got := p.Decide(r); got.Allowed {
						t.Errorf("Allowed = true with no relationship, want false (reasons %v)", got.Reasons)
					}
				})
			}
		}
	}
}

func TestDecide(t *testing.T) {
	p := load(t)
	adas := resources("res-ada")
	grant := &policy.Grant{ID: "bg-1", Worker: "staff-sw", Resident: "res-ada", Reason: "Neighbour reports no answer for two days", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}

	tests := []struct {
		name        string
		req         policy.Request
		wantAllowed bool
		wantReasons []string
	}{
		{
			name:        "resident reads another resident's record",
			req:         policy.Request{Principal: ben, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident reads another resident's life events",
			req:         policy.Request{Principal: ben, Action: policy.ActionRead, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident reads another resident's audit entries",
			req:         policy.Request{Principal: ben, Action: policy.ActionRead, Resource: adas[policy.KindAuditLog], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident reads another resident's deliveries",
			req:         policy.Request{Principal: ben, Action: policy.ActionRead, Resource: adas[policy.KindDelivery], Purpose: policy.PurposeSubjectAccess},
			wantAllowed: false,
		},
		{
			name:        "resident reads the whole audit log",
			req:         policy.Request{Principal: ada, Action: policy.ActionRead, Resource: policy.Resource{Kind: policy.KindAuditLog, ID: "all"}, Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident reads a service's notices",
			req:         policy.Request{Principal: ada, Action: policy.ActionRead, Resource: adas[policy.KindNotices], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident writes own record",
			req:         policy.Request{Principal: ada, Action: policy.ActionWrite, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "parent reads child's life event",
			req:         policy.Request{Principal: ben, Action: policy.ActionRead, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeSubjectAccess, Relationship: policy.RelationshipParent},
			wantAllowed: true,
			wantReasons: []string{"parent-child-data"},
		},
		{
			name:        "parent withdraws consent for child",
			req:         policy.Request{Principal: ben, Action: policy.ActionWrite, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeConsent, Relationship: policy.RelationshipParent},
			wantAllowed: true,
			wantReasons: []string{"resident-consent"},
		},
		{
			name:        "resident withdraws consent for another resident",
			req:         policy.Request{Principal: ben, Action: policy.ActionWrite, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeConsent, Relationship: policy.RelationshipSelf},
			wantAllowed: false,
		},
		{
			name:        "resident withdraws own consent",
			req:         policy.Request{Principal: ada, Action: policy.ActionWrite, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeConsent, Relationship: policy.RelationshipSelf},
			wantAllowed: true,
			wantReasons: []string{"resident-consent"},
		},
		{
			name: "service officer reads life event not sent to their service",
			req: policy.Request{Principal: officer, Action: policy.ActionRead, Purpose: policy.PurposeServiceDelivery,
				Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "evt-2", Subject: "res-ada", Organisation: "council", Recipients: []joinedup.ServiceID{"gp-practice", "school"}}},
			wantAllowed: false,
		},
		{
			name: "service officer reads life event sent to no one",
			req: policy.Request{Principal: officer, Action: policy.ActionRead, Purpose: policy.PurposeServiceDelivery,
				Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "evt-3", Subject: "res-ada", Organisation: "council", Recipients: []joinedup.ServiceID{}}},
			wantAllowed: false,
		},
		{
			name: "service officer reads another service's notices",
			req: policy.Request{Principal: officer, Action: policy.ActionRead, Purpose: policy.PurposeServiceDelivery,
				Resource: policy.Resource{Kind: policy.KindNotices, ID: "school", Organisation: "council", Service: "school"}},
			wantAllowed: false,
		},
		{
			name: "service officer reports outcome for another service",
			req: policy.Request{Principal: officer, Action: policy.ActionWrite, Purpose: policy.PurposeServiceDelivery,
				Resource: policy.Resource{Kind: policy.KindDelivery, ID: "dlv-2", Subject: "res-ada", Organisation: "council", Service: "school"}},
			wantAllowed: false,
		},
		{
			name:        "service officer reports outcome for own service",
			req:         policy.Request{Principal: officer, Action: policy.ActionWrite, Resource: adas[policy.KindDelivery], Purpose: policy.PurposeServiceDelivery},
			wantAllowed: true,
			wantReasons: []string{"service-officer-delivery"},
		},
		{
			name:        "service officer reads resident's record",
			req:         policy.Request{Principal: officer, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeServiceDelivery, Relationship: policy.RelationshipAllocatedWorker},
			wantAllowed: false,
		},
		{
			name: "registrar reads another organisation's life event",
			req: policy.Request{Principal: registrar, Action: policy.ActionRead, Purpose: policy.PurposeRegistration,
				Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "evt-4", Subject: "res-ada", Organisation: "other-council"}},
			wantAllowed: false,
		},
		{
			name:        "registrar registers a life event",
			req:         policy.Request{Principal: registrar, Action: policy.ActionWrite, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeRegistration},
			wantAllowed: true,
			wantReasons: []string{"registrar-life-event"},
		},
		{
			name:        "registrar withdraws a consent",
			req:         policy.Request{Principal: registrar, Action: policy.ActionWrite, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeConsent},
			wantAllowed: true,
			wantReasons: []string{"registrar-consent"},
		},
		{
			name: "registrar withdraws another organisation's consent",
			req: policy.Request{Principal: registrar, Action: policy.ActionWrite, Purpose: policy.PurposeConsent,
				Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "evt-4", Subject: "res-ada", Organisation: "other-council"}},
			wantAllowed: false,
		},
		{
			name:        "registrar reads under the consent purpose",
			req:         policy.Request{Principal: registrar, Action: policy.ActionRead, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeConsent},
			wantAllowed: false,
		},
		{
			name:        "registrar reads resident's record",
			req:         policy.Request{Principal: registrar, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeRegistration},
			wantAllowed: false,
		},
		{
			name:        "operator replays a delivery",
			req:         policy.Request{Principal: operator, Action: policy.ActionWrite, Resource: adas[policy.KindDelivery], Purpose: policy.PurposeOperations},
			wantAllowed: true,
			wantReasons: []string{"operator-delivery"},
		},
		{
			name:        "operator reads a life event",
			req:         policy.Request{Principal: operator, Action: policy.ActionRead, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeOperations},
			wantAllowed: false,
		},
		{
			name:        "social worker writes allocated resident's record",
			req:         policy.Request{Principal: worker, Action: policy.ActionWrite, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSocialCare, Relationship: policy.RelationshipAllocatedWorker},
			wantAllowed: true,
			wantReasons: []string{"social-worker-allocated"},
		},
		{
			name:        "social worker reads audit log",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: adas[policy.KindAuditLog], Purpose: policy.PurposeAudit, Relationship: policy.RelationshipAllocatedWorker},
			wantAllowed: false,
		},
		{
			name:        "social worker obtains break glass",
			req:         policy.Request{Principal: worker, Action: policy.ActionBreakGlass, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding},
			wantAllowed: true,
			wantReasons: []string{"social-worker-obtain-break-glass"},
		},
		{
			name:        "social worker obtains break glass when allocated",
			req:         policy.Request{Principal: worker, Action: policy.ActionBreakGlass, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, Relationship: policy.RelationshipAllocatedWorker},
			wantAllowed: false,
		},
		{
			name:        "service officer obtains break glass",
			req:         policy.Request{Principal: officer, Action: policy.ActionBreakGlass, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding},
			wantAllowed: false,
		},
		{
			name:        "social worker reads record with grant",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: true,
			wantReasons: []string{"social-worker-break-glass"},
		},
		{
			name:        "social worker reads life event with grant",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: adas[policy.KindLifeEvent], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: true,
			wantReasons: []string{"social-worker-break-glass"},
		},
		{
			name:        "social worker reads record without grant",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding},
			wantAllowed: false,
		},
		{
			name:        "social worker writes record with grant",
			req:         policy.Request{Principal: worker, Action: policy.ActionWrite, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: false,
		},
		{
			name:        "grant used after expiry",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant, Now: now.Add(time.Hour)},
			wantAllowed: false,
		},
		{
			name:        "grant used for another resident",
			req:         policy.Request{Principal: worker, Action: policy.ActionRead, Resource: resources("res-ben")[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: false,
		},
		{
			name: "grant used by another worker",
			req: policy.Request{Principal: policy.Principal{ID: "staff-sw2", Role: policy.RoleSocialWorker, Organisation: "council"},
				Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: false,
		},
		{
			name: "grant used by a service officer with the worker's id",
			req: policy.Request{Principal: policy.Principal{ID: "staff-sw", Role: policy.RoleServiceOfficer, Organisation: "council"},
				Action: policy.ActionRead, Resource: adas[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: grant},
			wantAllowed: false,
		},
		{
			name:        "officer reviews break glass",
			req:         policy.Request{Principal: dpo, Action: policy.ActionWrite, Resource: adas[policy.KindBreakGlassReview], Purpose: policy.PurposeAudit},
			wantAllowed: true,
			wantReasons: []string{"data-protection-officer-break-glass-review"},
		},
		{
			name: "officer reviews own break glass",
			req: policy.Request{Principal: dpo, Action: policy.ActionWrite, Purpose: policy.PurposeAudit,
				Resource: policy.Resource{Kind: policy.KindBreakGlassReview, ID: "bg-2", Subject: "res-ada", Worker: "staff-dpo"}},
			wantAllowed: false,
			wantReasons: []string{"no-self-review"},
		},
		{
			name:        "unknown role",
			req:         policy.Request{Principal: policy.Principal{ID: "staff-x", Role: "admin"}, Action: policy.ActionRead, Resource: adas[policy.KindAuditLog], Purpose: policy.PurposeAudit},
			wantAllowed: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Now.IsZero() {
				tt.req.Now = now
			}
			got := p.Decide(tt.req)
			if got.Allowed != tt.wantAllowed {
				t.Errorf("Allowed = %v, want %v (reasons %v)", got.Allowed, tt.wantAllowed, got.Reasons)
			}
			if diff := cmp.Diff(tt.wantReasons, got.Reasons); diff != "" {
				t.Errorf("Reasons mismatch (-want +got):\n%s", diff)
			}
			if len(got.Errors) > 0 {
				t.Errorf("Errors = %v, want none", got.Errors)
			}
		})
	}
}

func TestGrantBreakGlass(t *testing.T) {
	p := load(t)

	g, d, err := p.GrantBreakGlass(worker, "res-ada", "  Neighbour reports no answer for two days ", now, time.Hour)
	if err != nil {
		t.Fatalf("GrantBreakGlass: %v", err)
	}
	if g.Reason != "Neighbour reports no answer for two days" {
		t.Errorf("Reason = %q, want it trimmed", g.Reason)
	}
	if !g.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v, want %v", g.ExpiresAt, now.Add(time.Hour))
	}
	if g.Worker != worker.ID || g.Resident != "res-ada" {
		t.Errorf("grant is for %s on %s, want %s on res-ada", g.Worker, g.Resident, worker.ID)
	}
	if g.ID == "" {
		t.Error("ID is empty")
	}
	if diff := cmp.Diff([]string{"social-worker-obtain-break-glass"}, d.Reasons); diff != "" {
		t.Errorf("Reasons mismatch (-want +got):\n%s", diff)
	}

	read := p.Decide(policy.Request{Principal: worker, Action: policy.ActionRead, Resource: resources("res-ada")[policy.KindRecord], Purpose: policy.PurposeSafeguarding, BreakGlass: g, Now: now.Add(59 * time.Minute)})
	if !read.Allowed || !slices.Contains(read.Reasons, "social-worker-break-glass") {
		t.Errorf("read with the grant = %+v, want allowed by social-worker-break-glass", read)
	}

	tests := []struct {
		name      string
		principal policy.Principal
		resident  string
		reason    string
		ttl       time.Duration
		wantCode  string
	}{
		{"empty reason", worker, "res-ada", "   ", time.Hour, joinedup.EINVALID},
		{"long reason", worker, "res-ada", strings.Repeat("a", policy.MaxBreakGlassReason+1), time.Hour, joinedup.EINVALID},
		{"direction mark in reason", worker, "res-ada", "Child at risk\u202e tonight", time.Hour, joinedup.EINVALID},
		{"bell in reason", worker, "res-ada", "Child at risk\a", time.Hour, joinedup.EINVALID},
		{"reason over two lines", worker, "res-ada", "Child at risk.\r\nNo allocated worker tonight.", time.Hour, ""},
		{"accents within the limit once composed", worker, "res-ada", strings.Repeat("e\u0301", policy.MaxBreakGlassReason), time.Hour, ""},
		{"zero duration", worker, "res-ada", "urgent", 0, joinedup.EINVALID},
		{"long duration", worker, "res-ada", "urgent", policy.MaxBreakGlassDuration + time.Second, joinedup.EINVALID},
		{"no resident", worker, "", "urgent", time.Hour, joinedup.EINVALID},
		{"registrar", registrar, "res-ada", "urgent", time.Hour, joinedup.EFORBIDDEN},
		{"resident", ben, "res-ada", "urgent", time.Hour, joinedup.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _, err := p.GrantBreakGlass(tt.principal, tt.resident, tt.reason, now, tt.ttl)
			if got := joinedup.ErrorCode(err); got != tt.wantCode {
				t.Errorf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if (g != nil) != (tt.wantCode == "") {
				t.Errorf("grant = %+v, want one only when there is no error", g)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	const good = "@id(\"a\")\npermit (principal, action, resource);\n"
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr []string // parts the message must contain; none means success
	}{
		{
			name:  "valid",
			files: fstest.MapFS{"a.cedar": {Data: []byte(good)}, "notes.txt": {Data: []byte("not a policy")}},
		},
		{
			name:    "syntax error",
			files:   fstest.MapFS{"a.cedar": {Data: []byte(good)}, "broken.cedar": {Data: []byte("@id(\"b\")\npermit (principal, action, resource)\nwhen { context.purpose == };\n")}},
			wantErr: []string{"broken.cedar:3:"},
		},
		{
			name:    "missing id",
			files:   fstest.MapFS{"a.cedar": {Data: []byte("\n\npermit (principal, action, resource);\n")}},
			wantErr: []string{"a.cedar:3", "@id"},
		},
		{
			name:    "duplicate id",
			files:   fstest.MapFS{"a.cedar": {Data: []byte(good)}, "b.cedar": {Data: []byte("\n" + good)}},
			wantErr: []string{`"a"`, "b.cedar:2", "a.cedar:1"},
		},
		{
			name:    "no files",
			files:   fstest.MapFS{"readme.txt": {Data: []byte("x")}},
			wantErr: []string{"no .cedar files"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Load(tt.files)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if diff := cmp.Diff([]string{"a"}, p.IDs()); diff != "" {
					t.Errorf("IDs mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.wantErr)
			}
			for _, part := range tt.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	p, err := policy.LoadDir(dir)
	if err == nil {
		t.Fatalf("LoadDir of an empty directory = %v, want an error", p.IDs())
	}
}

// TestPersonIndexAccess checks who may match records against the person
// index and decide its reviews.
func TestPersonIndexAccess(t *testing.T) {
	p := load(t)
	index := policy.Resource{Kind: policy.KindPersonIndex, ID: "all"}
	tests := []struct {
		name    string
		role    policy.Role
		action  policy.Action
		purpose string
		want    bool
	}{
		{"registrar matches", policy.RoleRegistrar, policy.ActionRead, policy.PurposeRegistration, true},
		{"registrar may not decide reviews", policy.RoleRegistrar, policy.ActionWrite, policy.PurposeRegistration, false},
		{"operator decides reviews", policy.RoleOperator, policy.ActionWrite, policy.PurposeOperations, true},
		{"operator without purpose", policy.RoleOperator, policy.ActionRead, "", false},
		{"social worker", policy.RoleSocialWorker, policy.ActionRead, policy.PurposeSocialCare, false},
		{"service officer", policy.RoleServiceOfficer, policy.ActionRead, policy.PurposeServiceDelivery, false},
		{"resident", policy.RoleResident, policy.ActionRead, policy.PurposeSubjectAccess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(policy.Request{
				Principal: policy.Principal{ID: "acc_1", Role: tt.role, Organisation: "council"},
				Action:    tt.action, Resource: index, Purpose: tt.purpose,
			})
			if d.Allowed != tt.want {
				t.Errorf("allowed = %v, want %v (reasons %v, errors %v)", d.Allowed, tt.want, d.Reasons, d.Errors)
			}
		})
	}
}

// TestServiceDirectoryAccess checks that only operators may register,
// change or remove connected services.
func TestServiceDirectoryAccess(t *testing.T) {
	p := load(t)
	directory := policy.Resource{Kind: policy.KindServiceDirectory, ID: "child-benefit"}
	tests := []struct {
		name    string
		role    policy.Role
		action  policy.Action
		purpose string
		want    bool
	}{
		{"operator writes", policy.RoleOperator, policy.ActionWrite, policy.PurposeOperations, true},
		{"operator without purpose", policy.RoleOperator, policy.ActionWrite, "", false},
		{"operator with another purpose", policy.RoleOperator, policy.ActionWrite, policy.PurposeRegistration, false},
		{"registrar", policy.RoleRegistrar, policy.ActionWrite, policy.PurposeRegistration, false},
		{"social worker", policy.RoleSocialWorker, policy.ActionWrite, policy.PurposeSocialCare, false},
		{"service officer", policy.RoleServiceOfficer, policy.ActionWrite, policy.PurposeServiceDelivery, false},
		{"data protection officer", policy.RoleDataProtectionOfficer, policy.ActionWrite, policy.PurposeAudit, false},
		{"resident", policy.RoleResident, policy.ActionWrite, policy.PurposeSubjectAccess, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			principal := policy.Principal{ID: "acc_1", Role: tt.role, Organisation: "council", Services: []joinedup.ServiceID{"child-benefit"}}
			d := p.Decide(policy.Request{Principal: principal, Action: tt.action, Resource: directory, Purpose: tt.purpose, Now: now})
			if d.Allowed != tt.want {
				t.Errorf("allowed = %v, want %v (reasons %v, errors %v)", d.Allowed, tt.want, d.Reasons, d.Errors)
			}
			if tt.want && !slices.Equal(d.Reasons, []string{"operator-service-directory"}) {
				t.Errorf("reasons = %v, want [operator-service-directory]", d.Reasons)
			}
		})
	}
}

// TestDefaultIDs lists the shipped policies, so that adding or removing one
// is a deliberate change to this test as well.
func TestDefaultIDs(t *testing.T) {
	want := []string{
		"data-protection-officer-audit-log",
		"data-protection-officer-break-glass-review",
		"no-self-review",
		"operator-delivery",
		"operator-person-index",
		"operator-service-directory",
		"parent-child-data",
		"registrar-consent",
		"registrar-life-event",
		"registrar-person-match",
		"resident-consent",
		"resident-own-data",
		"service-officer-delivery",
		"service-officer-life-event-sent",
		"service-officer-notices",
		"social-worker-allocated",
		"social-worker-break-glass",
		"social-worker-obtain-break-glass",
	}
	if diff := cmp.Diff(want, load(t).IDs()); diff != "" {
		t.Errorf("IDs mismatch (-want +got):\n%s", diff)
	}
}

// TestDecideChangedPrincipal checks that a principal whose role or
// services change between requests is decided on the new values.
func TestDecideChangedPrincipal(t *testing.T) {
	p := load(t)
	record := resources("res-ada")[policy.KindRecord]
	notices := resources("res-ada")[policy.KindNotices]

	r := policy.Request{Principal: worker, Action: policy.ActionRead, Resource: record, Purpose: policy.PurposeSocialCare, Relationship: policy.RelationshipAllocatedWorker, Now: now}
	if !p.Decide(r).Allowed {
		t.Fatal("social worker denied their allocated resident's record")
	}
	r.Principal.Role = policy.RoleRegistrar
	if got := p.Decide(r); got.Allowed {
		t.Errorf("same id as registrar: Allowed = true (reasons %v), want false", got.Reasons)
	}

	o := policy.Request{Principal: officer, Action: policy.ActionRead, Resource: notices, Purpose: policy.PurposeServiceDelivery, Now: now}
	if !p.Decide(o).Allowed {
		t.Fatal("service officer denied their service's notices")
	}
	o.Principal.Services = []joinedup.ServiceID{"school"}
	if got := p.Decide(o); got.Allowed {
		t.Errorf("officer moved to school: Allowed = true (reasons %v), want false", got.Reasons)
	}
}

func TestLoadDirMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := policy.LoadDir(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "there is no directory "+filepath.Join(dir, "absent")) {
		t.Errorf("absent directory: error = %v, want one saying it does not exist", err)
	}
	if _, err := policy.LoadDir(dir); err == nil || !strings.Contains(err.Error(), "the directory has no .cedar files, in "+dir) {
		t.Errorf("empty directory: error = %v, want one saying it has no policies", err)
	}
}

// TestLoadDirNested checks that a policy file in a subdirectory, which
// would not be read, stops the load with an error that names it.
func TestLoadDirNested(t *testing.T) {
	dir := t.TempDir()
	top := `@id("top") permit (principal, action, resource) when { false };`
	if err := os.WriteFile(filepath.Join(dir, "top.cedar"), []byte(top), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "extra"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A file in a subdirectory that is not a policy file is no fault.
	if err := os.WriteFile(filepath.Join(dir, "extra", "README.md"), []byte("notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.LoadDir(dir); err != nil {
		t.Fatalf("LoadDir with notes in a subdirectory: %v", err)
	}
	nested := filepath.Join(dir, "extra", "forbid.cedar")
	if err := os.WriteFile(nested, []byte(`@id("nested") forbid (principal, action, resource);`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.LoadDir(dir); err == nil || !strings.Contains(err.Error(), nested+" is in a subdirectory of "+dir) {
		t.Errorf("LoadDir with a policy file in a subdirectory: error = %v, want one that names %s", err, nested)
	}

	// A link to a directory of policies is refused as a subdirectory is.
	if err := os.Rename(filepath.Join(dir, "extra"), filepath.Join(t.TempDir(), "moved")); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "forbid.cedar"), []byte(`@id("linked") forbid (principal, action, resource);`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "linked")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.LoadDir(dir); err == nil || !strings.Contains(err.Error(), link+" is in a subdirectory of "+dir+", or is a link to one") {
		t.Errorf("LoadDir with a link to a directory: error = %v, want one that names %s", err, link)
	}
}

// TestDefaultPoliciesGiveReasons checks that every default policy gives,
// in words, why it allows a use. A resident's record shows that sentence
// in place of the policy's id.
func TestDefaultPoliciesGiveReasons(t *testing.T) {
	p, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range p.IDs() {
		reason := p.Reason(id)
		if reason == "" || !strings.HasSuffix(reason, ".") || strings.Contains(reason, id) {
			t.Errorf("policy %s gives the reason %q, want one sentence in words", id, reason)
		}
	}
	if got := p.Reason("no-such-policy"); got != "" {
		t.Errorf("Reason of an unknown id = %q, want empty", got)
	}
}

func TestReasonAnnotation(t *testing.T) {
	files := fstest.MapFS{"a.cedar": {Data: []byte("@id(\"a\")\n@reason(\"  A test allows it.  \")\npermit (principal, action, resource);\n@id(\"b\")\npermit (principal, action, resource);\n")}}
	p, err := policy.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Reason("a"); got != "A test allows it." {
		t.Errorf("Reason(a) = %q, want the annotation trimmed", got)
	}
	if got := p.Reason("b"); got != "" {
		t.Errorf("Reason(b) = %q, want empty for a policy without the annotation", got)
	}
}
