-- +goose Up
-- Audit entries that a transaction queues with its own changes, such as
-- the consent decisions of a registration, wait here until the audit log
-- appends them. The append deletes them in its own transaction, so an
-- entry is appended once, even after a crash between the two.
CREATE TABLE audit_queue (
    id        TEXT PRIMARY KEY,
    entries   TEXT NOT NULL,
    queued_at BIGINT NOT NULL
);
CREATE INDEX audit_queue_queued ON audit_queue (queued_at, id);

-- +goose Down
DROP TABLE audit_queue;
