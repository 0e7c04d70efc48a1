package policy

import (
	"slices"
	"sync"
	"sync/atomic"
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

func principalEntity(p Principal) cedar.Entity {
	e := cedar.Entity{UID: principalUID(p)}
	if p.Role != RoleResident {
		e.Attributes = cedar.NewRecord(cedar.RecordMap{
			"role":         cedar.String(p.Role),
			"organisation": cedar.String(p.Organisation),
			"services":     serviceSet(p.Services),
		})
	}
	return e
}

// principalCache keeps the Cedar entity of recent principals, because a
// signed-in person makes many requests and building the entity is a large
// part of the cost of a decision. An entry is used only when every field
// of the principal still matches, so a changed role or service list is
// never served from the cache.
type principalCache struct {
	entries sync.Map // Principal.ID → cachedPrincipal
	size    atomic.Int64
}

type cachedPrincipal struct {
	principal Principal
	entity    cedar.Entity
}

// maxCachedPrincipals bounds the cache. When it is full the cache is
// emptied, which costs one rebuild per active principal.
const maxCachedPrincipals = 10_000

func (c *principalCache) entity(p Principal) cedar.Entity {
	if v, ok := c.entries.Load(p.ID); ok {
		cached := v.(cachedPrincipal)
		if samePrincipal(cached.principal, p) {
			return cached.entity
		}
	}

	e := principalEntity(p)
	if c.size.Add(1) > maxCachedPrincipals {
		c.entries.Clear()
		c.size.Store(1)
	}
	c.entries.Store(p.ID, cachedPrincipal{principal: Principal{ID: p.ID, Role: p.Role, Organisation: p.Organisation, Services: slices.Clone(p.Services)}, entity: e})
	return e
}

func samePrincipal(a, b Principal) bool {
	return a.ID == b.ID && a.Role == b.Role && a.Organisation == b.Organisation && slices.Equal(a.Services, b.Services)
}

func cedarRequest(r Request) (cedar.Request, *requestEntities) {
	return buildRequest(r, principalEntity(r.Principal))
}

func buildRequest(r Request, principal cedar.Entity) (cedar.Request, *requestEntities) {

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
