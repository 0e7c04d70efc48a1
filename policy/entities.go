package policy

import (
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/joinedup/joinedup"
)

// Cedar entity types of principals and actions.
const (
	typeStaff    cedar.EntityType = "Staff"
	typeResident cedar.EntityType = "Resident"
	typeAction   cedar.EntityType = "Action"
)

// requestEntities holds the two entities a request refers to. The policies
// read attributes of the principal and the resource only, so a lookup of
// any other entity, such as the subject Resident, finds nothing.
type requestEntities struct {
	principal cedar.Entity
	resource  cedar.Entity
}

func (e *requestEntities) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	switch uid {
	case e.principal.UID:
		return e.principal, true
	case e.resource.UID:
		return e.resource, true
	}
	return cedar.Entity{}, false
}

func principalUID(p Principal) cedar.EntityUID {
	if p.Role == RoleResident {
		return cedar.NewEntityUID(typeResident, cedar.String(p.ID))
	}
	return cedar.NewEntityUID(typeStaff, cedar.String(p.ID))
}

func residentUID(id string) cedar.EntityUID {
	return cedar.NewEntityUID(typeResident, cedar.String(id))
}

func staffUID(id string) cedar.EntityUID {
	return cedar.NewEntityUID(typeStaff, cedar.String(id))
}

func cedarRequest(r Request) (cedar.Request, *requestEntities) {
	principal := cedar.Entity{UID: principalUID(r.Principal)}
	if r.Principal.Role != RoleResident {
		principal.Attributes = cedar.NewRecord(cedar.RecordMap{
			"role":         cedar.String(r.Principal.Role),
			"organisation": cedar.String(r.Principal.Organisation),
			"services":     serviceSet(r.Principal.Services),
		})
	}

	resource := cedar.Entity{
		UID:        cedar.NewEntityUID(cedar.EntityType(r.Resource.Kind), cedar.String(r.Resource.ID)),
		Attributes: resourceAttributes(r.Resource),
	}

	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	context := cedar.RecordMap{
		"purpose":      cedar.String(r.Purpose),
		"relationship": cedar.String(r.Relationship),
		"now":          cedar.NewDatetime(now),
	}
	if g := r.BreakGlass; g != nil {
		context["breakGlass"] = cedar.NewRecord(cedar.RecordMap{
			"worker":   staffUID(g.Worker),
			"resident": residentUID(g.Resident),
			"reason":   cedar.String(g.Reason),
			"expires":  cedar.NewDatetime(g.ExpiresAt),
		})
	}

	req := cedar.Request{
		Principal: principal.UID,
		Action:    cedar.NewEntityUID(typeAction, cedar.String(r.Action)),
		Resource:  resource.UID,
		Context:   cedar.NewRecord(context),
	}
	return req, &requestEntities{principal: principal, resource: resource}
}

// resourceAttributes sets only the attributes that r has, so that a policy
// can test them with "has".
func resourceAttributes(r Resource) cedar.Record {
	attrs := make(cedar.RecordMap, 4)
	if r.Subject != "" {
		attrs["subject"] = residentUID(r.Subject)
	}
	if r.Organisation != "" {
		attrs["organisation"] = cedar.String(r.Organisation)
	}
	if r.Service != "" {
		attrs["service"] = cedar.String(r.Service)
	}
	if r.Recipients != nil {
		attrs["recipients"] = serviceSet(r.Recipients)
	}
	if r.Worker != "" {
		attrs["worker"] = staffUID(r.Worker)
	}
	return cedar.NewRecord(attrs)
}

func serviceSet(ids []joinedup.ServiceID) cedar.Set {
	values := make([]cedar.Value, len(ids))
	for i, id := range ids {
		values[i] = cedar.String(id)
	}
	return cedar.NewSet(values...)
}
