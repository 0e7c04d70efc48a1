-- +goose Up
-- dedupe_key identifies the same registration made twice: a hash of the
-- child's name and date of birth and the parents' names and dates of
-- birth. Empty for events that have none.
ALTER TABLE life_events ADD COLUMN dedupe_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX life_events_dedupe_key ON life_events (dedupe_key) WHERE dedupe_key <> '';

-- +goose Down
DROP INDEX life_events_dedupe_key;
ALTER TABLE life_events DROP COLUMN dedupe_key;
