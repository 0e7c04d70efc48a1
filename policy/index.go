package policy

import (
	cedar "github.com/cedar-policy/cedar-go"
	scope "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// scopeKey selects the policies whose scope can match a request.
type scopeKey struct {
	principal cedar.EntityType
	action    Action
	resource  Kind
}

// indexByScope groups the policies by the principal type, action and
// resource kind their scope admits, so that Decide evaluates only those.
// A policy left out of a group has a scope that is false for every request
// in it, so it can neither match nor fail there, and the decision is the
// one cedar.Authorize gives over the whole set. Requests outside the known
// types use the whole set.
//
// The scope is read with cedar-go's x/exp/ast package, which is
// experimental; TestIndexMatchesWholeSet checks the result against the
// whole set.
func indexByScope(set *cedar.PolicySet) map[scopeKey]cedar.PolicyMap {
	index := map[scopeKey]cedar.PolicyMap{}
	for _, principal := range []cedar.EntityType{typeStaff, typeResident} {
		for _, action := range []Action{ActionRead, ActionWrite, ActionBreakGlass} {
			for _, kind := range Kinds {
				group := cedar.PolicyMap{}
				actionUID := cedar.NewEntityUID(typeAction, cedar.String(action))
				for id, p := range set.All() {
					s := (*scope.Policy)(p.AST())
					if admitsType(s.Principal, principal) && admitsAction(s.Action, actionUID) && admitsType(s.Resource, cedar.EntityType(kind)) {
						group[id] = p
					}
				}
				index[scopeKey{principal, action, kind}] = group
			}
		}
	}
	return index
}

// admitsType reports whether a principal or resource scope can be true for
// an entity of type t. The request entities have no parents, so "in E"
// holds only for E itself; the check keeps such policies whenever E has
// type t.
func admitsType(s scope.IsScopeNode, t cedar.EntityType) bool {
	switch s := s.(type) {
	case scope.ScopeTypeAll:
		return true
	case scope.ScopeTypeEq:
		return s.Entity.Type == t
	case scope.ScopeTypeIn:
		return s.Entity.Type == t
	case scope.ScopeTypeIs:
		return s.Type == t
	case scope.ScopeTypeIsIn:
		return s.Type == t
	}
	return true
}

// admitsAction reports whether an action scope can be true for action a.
// Decide supplies no Action entities, so "in" is equality here as well.
func admitsAction(s scope.IsScopeNode, a cedar.EntityUID) bool {
	switch s := s.(type) {
	case scope.ScopeTypeAll:
		return true
	case scope.ScopeTypeEq:
		return s.Entity == a
	case scope.ScopeTypeIn:
		return s.Entity == a
	case scope.ScopeTypeInSet:
		for _, e := range s.Entities {
			if e == a {
				return true
			}
		}
		return false
	}
	return true
}
