-- +goose Up
-- Life events are listed newest first, and the person index's sweep
-- reads those registered since its last complete pass.
CREATE INDEX life_events_registered ON life_events (registered_at, id);

-- +goose Down
DROP INDEX life_events_registered;
