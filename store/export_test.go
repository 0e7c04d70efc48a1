package store

// LegacyKeyQuery is legacyKeyQuery, for the tests that read its plan.
var LegacyKeyQuery = legacyKeyQuery

// DeliveryListQuery is deliveryListQuery, for the tests that read its
// plan.
var DeliveryListQuery = deliveryListQuery
