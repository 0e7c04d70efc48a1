package store

import "github.com/joinedup/joinedup"

// LegacyKeyQuery is legacyKeyQuery, for the tests that read its plan.
var LegacyKeyQuery = legacyKeyQuery

// DeliveryListQueries are the queries of a page of deliveries, for the
// tests that read their plans.
type DeliveryListQueries struct {
	Count, Page, Position string
	Args, PageArgs        []any
}

// DeliveryListQuery returns deliveryListQuery's queries, for the tests
// that read their plans.
func DeliveryListQuery(f joinedup.DeliveryFilter) DeliveryListQueries {
	q := deliveryListQuery(f)
	return DeliveryListQueries{Count: q.count, Page: q.page, Position: q.position, Args: q.args, PageArgs: q.pageArgs}
}
