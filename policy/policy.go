// Package policy decides every read and write of personal data with Cedar
// policies (github.com/cedar-policy/cedar-go). The policies live in .cedar
// files that an operator can read and change; a default set is embedded and
// a directory can replace it.
//
// The decision is default deny: a request is allowed only when at least one
// permit policy matches and no forbid policy does. Every policy carries an
// @id annotation, and a decision lists the ids of the policies that decided
// it, so the audit log can record why access was given. A policy may
// also carry a @reason annotation: one sentence, for the person a record
// is about, on why the policy allowed a use of it. Their record shows
// that sentence in place of the id.
//
// The Cedar model that the policy files see:
//
//   - Principals are Staff::"<account id>" with the attributes role,
//     organisation and services (a set of service ids), or
//     Resident::"<resident id>" with no attributes.
//   - Resources are Record, LifeEvent, Delivery, Notices, AuditLog,
//     BreakGlassReview, PersonIndex and ServiceDirectory. Each has only the
//     attributes that apply to it: subject (the Resident the data is
//     about), organisation, service, recipients (the set of service ids a
//     life event was sent to) and worker (the Staff member a break-glass
//     review is about).
//   - Actions are Action::"read", Action::"write" and Action::"break-glass".
//   - The context has purpose, relationship ("", "allocated-worker",
//     "parent" or "self"), now (a datetime) and, when the caller holds a
//     break-glass grant, breakGlass with worker, resident, reason and
//     expires.
package policy

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/joinedup/joinedup"
)

// Role is a principal's job, which the policies branch on. Staff roles come
// from the account, and RoleResident marks a resident who signed in.
type Role string

// Roles known to the default policies.
const (
	RoleRegistrar             Role = "registrar"
	RoleSocialWorker          Role = "social-worker"
	RoleServiceOfficer        Role = "service-officer"
	RoleOperator              Role = "operator"
	RoleDataProtectionOfficer Role = "data-protection-officer"
	RoleResident              Role = "resident"
)

// Roles lists every role, staff roles first.
var Roles = []Role{
	RoleRegistrar, RoleSocialWorker, RoleServiceOfficer, RoleOperator,
	RoleDataProtectionOfficer, RoleResident,
}

// ValidRole reports whether r is one of Roles.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// Action is the operation a principal requests on a resource.
type Action string

// Actions. ActionBreakGlass requests a break-glass grant on a record.
const (
	ActionRead       Action = "read"
	ActionWrite      Action = "write"
	ActionBreakGlass Action = "break-glass"
)

// Kind is the kind of a resource. Its value is the Cedar entity type.
type Kind string

// Resource kinds.
const (
	KindRecord           Kind = "Record"           // a resident's record across services
	KindLifeEvent        Kind = "LifeEvent"        // one life event with its consent
	KindDelivery         Kind = "Delivery"         // one life event sent to one service
	KindNotices          Kind = "Notices"          // the notices a service received
	KindAuditLog         Kind = "AuditLog"         // the audit log, or its entries about one resident
	KindBreakGlassReview Kind = "BreakGlassReview" // the review of one use of break glass
	KindPersonIndex      Kind = "PersonIndex"      // the person index and its review queue
	KindServiceDirectory Kind = "ServiceDirectory" // the connected services that receive life events
)

// Relationship is the link between the principal and the resident the
// data is about. The caller sets it from its own records and the policies
// trust it, except that "self" also requires the principal to be the
// subject.
type Relationship string

// Relationships.
const (
	RelationshipNone            Relationship = ""
	RelationshipAllocatedWorker Relationship = "allocated-worker"
	RelationshipParent          Relationship = "parent"
	RelationshipSelf            Relationship = "self"
)

// Purposes that the default policies accept.
const (
	PurposeRegistration    = "registration"
	PurposeSocialCare      = "social-care"
	PurposeSafeguarding    = "safeguarding"
	PurposeServiceDelivery = "service-delivery"
	PurposeOperations      = "operations"
	PurposeAudit           = "audit"
	PurposeSubjectAccess   = "subject-access"
	PurposeConsent         = "consent"
)

// Principal is the person making a request. Organisation and Services
// apply to staff only.
type Principal struct {
	ID           string
	Role         Role
	Organisation joinedup.OrgID
	Services     []joinedup.ServiceID
}

// Resource is the data a request is for. ID is the resource's own id. The
// other fields apply to some kinds only and are left empty otherwise.
type Resource struct {
	Kind         Kind
	ID           string
	Subject      string               // the resident the data is about
	Organisation joinedup.OrgID       // the organisation that holds the data
	Service      joinedup.ServiceID   // for a delivery or notices: the receiving service
	Recipients   []joinedup.ServiceID // for a life event: the services it was sent to
	Worker       string               // for a break-glass review: who used the grant
}

// Request is one question to the policies: may Principal do Action to
// Resource, for Purpose, given Relationship and an optional break-glass
// grant? A zero Now means the current time.
type Request struct {
	Principal    Principal
	Action       Action
	Resource     Resource
	Purpose      string
	Relationship Relationship
	BreakGlass   *Grant
	Now          time.Time
}

// Decision is the result of a Request. Reasons holds the ids of the
// policies that decided it: the permits that matched when allowed, the
// forbids that matched when a forbid denied it, and none under default
// deny. Errors holds policies that failed to evaluate, which count as not
// matching.
type Decision struct {
	Allowed bool
	Reasons []string
	Errors  []PolicyError
}

// PolicyError is the failure of one policy to evaluate, such as a read of
// an attribute that the resource lacks.
type PolicyError struct {
	Policy string // the policy's id
	// Message names the policy, its file and line, and what failed.
	Message string
}

// Policies is a loaded, immutable set of Cedar policies. It is safe for
// concurrent use.
type Policies struct {
	set        *cedar.PolicySet
	index      map[scopeKey]cedar.PolicyMap
	ids        []string
	reasons    map[string]string // by policy id, from @reason annotations
	principals principalCache
}

//go:embed default/*.cedar
var defaultFiles embed.FS

// Default returns the embedded default policies.
func Default() (*Policies, error) {
	sub, err := fs.Sub(defaultFiles, "default")
	if err != nil {
		return nil, fmt.Errorf("open default policies: %w", err)
	}
	return Load(sub)
}

// LoadDir loads every .cedar file in dir, in place of the default set.
func LoadDir(dir string) (*Policies, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load policies: there is no directory %s", dir)
	} else if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("load policies: %s is not a directory", dir)
	}
	if nested, err := nestedPolicyFile(os.DirFS(dir)); err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	} else if nested != "" {
		return nil, fmt.Errorf("load policies: %s is in a subdirectory of %s, or is a link to one, and only the .cedar files at the top of the directory are read: move its policy files up, or rename them so that they do not end in .cedar", filepath.Join(dir, nested), dir)
	}
	p, err := Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%w, in %s", err, dir)
	}
	return p, nil
}

// nestedPolicyFile returns the path of a .cedar file below the top of
// fsys, or of a link to a directory, whose files Load would not read, or
// "" when there is none.
func nestedPolicyFile(fsys fs.FS) (string, error) {
	var nested string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case d.Type()&fs.ModeSymlink != 0:
			// fs.Stat follows the link; a link that leads nowhere is
			// no directory.
			if info, err := fs.Stat(fsys, path); err == nil && info.IsDir() {
				nested = path
				return fs.SkipAll
			}
		case strings.Contains(path, "/") && strings.HasSuffix(path, ".cedar"):
			nested = path
			return fs.SkipAll
		}
		return nil
	})
	return nested, err
}

// Load parses every .cedar file at the top of fsys in name order. Each
// policy needs a unique @id annotation. A file that does not parse returns
// an error that names the file and the line.
func Load(fsys fs.FS) (*Policies, error) {
	names, err := fs.Glob(fsys, "*.cedar")
	if err != nil {
		return nil, fmt.Errorf("list policy files: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("load policies: the directory has no .cedar files")
	}

	p := &Policies{set: cedar.NewPolicySet(), reasons: map[string]string{}}
	where := map[string]string{}
	for _, name := range names {
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read policy file: %w", err)
		}
		list, err := cedar.NewPolicyListFromBytes(name, text)
		if err != nil {
			return nil, parseError(name, err)
		}
		for _, parsed := range list {
			at := fmt.Sprintf("%s:%d", name, parsed.Position().Line)
			id, ok := parsed.Annotations()["id"]
			if !ok || id == "" {
				return nil, fmt.Errorf("policy at %s has no @id annotation: add @id(\"a-unique-name\") before it", at)
			}
			if first, dup := where[string(id)]; dup {
				return nil, fmt.Errorf("policy id %q at %s is already used at %s", id, at, first)
			}
			where[string(id)] = at
			if reason := strings.TrimSpace(string(parsed.Annotations()["reason"])); reason != "" {
				p.reasons[string(id)] = reason
			}
			p.set.Add(cedar.PolicyID(id), parsed)
			p.ids = append(p.ids, string(id))
		}
	}
	slices.Sort(p.ids)
	p.index = indexByScope(p.set)
	return p, nil
}

// parseError names the file in a cedar-go parse error. cedar-go v1.9.2
// reports the position as "<input>:LINE:COLUMN", which becomes
// "NAME:LINE:COLUMN".
func parseError(name string, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "<input>:") {
		return fmt.Errorf("invalid policy file %s: %w", name, err)
	}
	return fmt.Errorf("invalid policy file %s: %s", name, strings.Replace(msg, "<input>:", name+":", 1))
}

// Reason returns the sentence in the @reason annotation of the policy
// with the given id, for the person a record is about, on why the policy
// allowed a use of it. It returns "" when the policy has none or there is
// no such policy.
func (p *Policies) Reason(id string) string { return p.reasons[id] }

// IDs returns the ids of the loaded policies in sorted order.
func (p *Policies) IDs() []string { return slices.Clone(p.ids) }

// Decide evaluates r against the policies.
func (p *Policies) Decide(r Request) Decision {
	req, entities := buildRequest(r, p.principals.entity(r.Principal))
	var policies cedar.PolicyIterator = p.set
	if group, ok := p.index[scopeKey{req.Principal.Type, r.Action, r.Resource.Kind}]; ok {
		policies = group
	}
	decision, diag := cedar.Authorize(policies, entities, req)

	d := Decision{Allowed: decision == cedar.Allow}
	for _, reason := range diag.Reasons {
		d.Reasons = append(d.Reasons, string(reason.PolicyID))
	}
	for _, e := range diag.Errors {
		d.Errors = append(d.Errors, PolicyError{Policy: string(e.PolicyID),
			Message: fmt.Sprintf("policy %s (%s:%d): %s", e.PolicyID, e.Position.Filename, e.Position.Line, e.Message)})
	}
	// cedar-go walks the set in map order, so sort for a stable result.
	slices.Sort(d.Reasons)
	slices.SortFunc(d.Errors, func(a, b PolicyError) int { return cmp.Compare(a.Message, b.Message) })
	return d
}

// Kinds lists every resource kind.
var Kinds = []Kind{KindRecord, KindLifeEvent, KindDelivery, KindNotices, KindAuditLog, KindBreakGlassReview}
