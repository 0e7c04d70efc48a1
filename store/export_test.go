package store

import "github.com/joinedup/joinedup"

// LegacyKeyQuery is legacyKeyQuery, for the tests that read its plan.
var LegacyKeyQuery = legacyKeyQuery

// ListQueries are the queries of a page of deliveries or of life events,
// for the tests that read their plans.
type ListQueries struct {
	Count, Page, Position string
	Args, PageArgs        []any
}

// DeliveryListQuery returns deliveryListQuery's queries, for the tests
// that read their plans.
func DeliveryListQuery(f joinedup.DeliveryFilter) ListQueries {
	return exportQueries(deliveryListQuery(f))
}

// LifeEventListQuery returns lifeEventListQuery's queries, for the tests
// that read their plans.
func LifeEventListQuery(f joinedup.LifeEventFilter) ListQueries {
	return exportQueries(lifeEventListQuery(f))
}

func exportQueries(q listQueries) ListQueries {
	return ListQueries{Count: q.count, Page: q.page, Position: q.position, Args: q.args, PageArgs: q.pageArgs}
}

// WaitOutboxDeletes waits until the outbox deletes that RelayOutbox
// queued on SQLite have committed.
func (db *DB) WaitOutboxDeletes() { db.deletes.Wait() }
