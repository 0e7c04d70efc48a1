// Package connector is what a connected service imports to take life events
// from the joinedup hub and report what it did with them.
//
// The hub sends each notice as a CloudEvents 1.0 structured JSON event in
// an HTTP POST (or a NATS request) signed with the Standard Webhooks scheme
// under the service's secret. A [Receiver] verifies the signature, rejects
// stale and replayed messages with 401, parses the event, calls the
// service's [Handler] inside a database transaction and writes the
// [joinedup.Outcome] as the response. The outcome is stored in the same
// transaction as the handler's own writes, keyed by the webhook-id, so a
// redelivery of a notice the service has already processed returns the
// stored outcome and never acts twice, even after a crash. A notice whose
// outcome was failed was not acted on, so a redelivery, such as an
// operator's replay, is handled again.
//
// A service that responds "accepted" reports the outcome later with
// [Client.ReportOutcome], a signed callback to the hub. [Register] adds a
// service to the hub.
//
// docs/adr/0004-connector-protocol.md describes the wire protocol.
package connector
