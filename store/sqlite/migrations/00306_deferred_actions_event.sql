-- +goose Up
-- Reading a life event reads its deferred actions by event_id. Without
-- this index that read scanned every deferred action of every event.
CREATE INDEX deferred_actions_event ON deferred_actions (event_id);

-- +goose Down
DROP INDEX deferred_actions_event;
