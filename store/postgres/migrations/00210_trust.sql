-- +goose Up
-- The records the web layer needs to decide access: which resident
-- accounts are which people, whose children a life event is about, which
-- social workers are allocated to which residents, and every break-glass
-- grant with its review.

-- A resident account's identity, matched against the parents named in a
-- birth registration: National Insurance number and date of birth.
CREATE TABLE resident_identities (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    nino          TEXT NOT NULL,
    date_of_birth TEXT NOT NULL
);
CREATE INDEX resident_identities_nino ON resident_identities (nino, date_of_birth);

-- A resident who is a parent of the child that a life event is about. The
-- child is identified by the id of its birth event.
CREATE TABLE resident_children (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    event_id   TEXT NOT NULL REFERENCES life_events (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, event_id)
);
CREATE INDEX resident_children_event ON resident_children (event_id);

-- A social worker allocated to a resident, and so to the resident's
-- children.
CREATE TABLE worker_allocations (
    worker_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    resident_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (worker_id, resident_id)
);

-- Break-glass grants. hidden_until is an ISO date before which accesses
-- under the grant are hidden from the resident, or ''. The review columns
-- stay empty until a data protection officer signs the use off.
CREATE TABLE break_glass_grants (
    id           TEXT PRIMARY KEY,
    worker_id    TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    hidden_until TEXT NOT NULL DEFAULT '',
    reviewed_by  TEXT NOT NULL DEFAULT '',
    reviewed_at  BIGINT NOT NULL DEFAULT 0,
    review_note  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX break_glass_grants_worker ON break_glass_grants (worker_id, resident_id, expires_at);

-- +goose Down
DROP TABLE break_glass_grants;
DROP TABLE worker_allocations;
DROP TABLE resident_children;
DROP TABLE resident_identities;
