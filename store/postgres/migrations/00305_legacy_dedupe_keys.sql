-- +goose Up
-- Each start of the hub looks for births whose dedupe key is still in the
-- legacy form. This index holds only those births, so the search reads
-- nothing once every key is current. The pattern must stay the same as
-- the one in the store's query, which names the same prefix.
CREATE INDEX life_events_legacy_dedupe_key ON life_events (id) WHERE dedupe_key LIKE 'birth:%';

-- +goose Down
DROP INDEX life_events_legacy_dedupe_key;
