-- +goose Up
-- The audit log: one row per entry, seq being the entry's leaf index in the
-- Merkle tree, and one row per signed checkpoint. The package audit
-- documents the leaf format that the columns are encoded in.
CREATE TABLE audit_entries (
    seq         BIGINT PRIMARY KEY,
    version     INTEGER NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    leaf_hash   BYTEA NOT NULL
);

CREATE INDEX audit_entries_subject ON audit_entries (subject, seq);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_entries;
