// Package audit is the hub's tamper-evident audit log. Every disclosure,
// every access to personal data, every consent decision, every policy
// change and every break-glass use is appended as an Entry. Anyone who
// holds a published checkpoint can check that no entry before it was
// changed or removed.
//
// # Merkle tree and checkpoints
//
// Entries are the leaves of an RFC 6962 Merkle tree, in order of sequence
// number: the entry with Seq n is leaf n. Each append transaction stores
// its entries and one checkpoint for the new tree size. A checkpoint's
// body is the transparency-dev checkpoint format, three lines each ending
// in a newline:
//
//	<origin>
//	<tree size in decimal>
//	<root hash in standard base64>
//
// It is signed with the hub's Ed25519 key as a signed note
// (golang.org/x/mod/sumdb/note), whose key name is the origin. Inclusion
// and consistency proofs are the RFC 6962 ones, served from hashes kept in
// memory.
//
// # Leaf format, version 1
//
// A leaf is a JSON object with exactly these keys in this order, with no
// white space between tokens:
//
//	{"v":1,"seq":12,"time":"2026-12-04T20:16:54.123456Z","actor":"staff-7",
//	 "action":"access","subject":"person-0042","purpose":"adult-social-care",
//	 "reasons":["policy0"],"detail":{"fields":["name"],"record":"rec-9"}}
//
// The keys are these:
//
//   - v is the format version, 1.
//   - seq is the sequence number, counting from 0.
//   - time is the append time in UTC, RFC 3339 with six fractional digits.
//   - actor, action, subject and purpose are strings, empty when unset.
//   - reasons is an array of strings, empty when there are none.
//   - detail is a JSON object with its keys sorted by their UTF-8 bytes at every level,
//     numbers as the caller wrote them, and {} when there is no detail.
//
// Strings are escaped as Go's encoding/json escapes them with HTML
// escaping off. `"` and `\` get a backslash, and \b, \f, \n, \r and \t
// are written as those escapes. Other characters below U+0020, and U+2028
// and U+2029, are written as \uXXXX. Everything else is raw UTF-8. The
// leaf hash is SHA-256 over a zero byte followed by the leaf. testdata
// holds leaves with their hashes.
//
// # Ordering, durability and retention
//
// Sequence numbers are dense and follow the order in which transactions
// commit. Append returns when its entries and their checkpoint are
// committed, so they are as durable as the database makes a commit.
// Concurrent calls are grouped into one transaction. Several Logs may
// share one Storage, and appends take the storage's lock. Before it
// extends the tree, each Log reads the leaf hashes that the others
// appended and checks them against the latest checkpoint, so that it never
// signs a tree that does not extend the last one.
//
// Entries are never updated or deleted by this package, because removing
// one would break every later checkpoint. Retention beyond the life of the
// database is for the operator's backups.
//
// # Verification
//
// Verify recomputes every entry's leaf hash from its stored fields and the
// root hash at every stored checkpoint, and names the first entry that
// does not match. The stored checkpoints and the leaf hashes kept beside
// each entry narrow a mismatch down to one entry, or to the entries of one
// append transaction when an attacker rewrote the leaf hashes too. Cutting
// entries from the end is caught unless the later checkpoints are deleted
// with them, which only a checkpoint kept outside the database can show.
package audit
