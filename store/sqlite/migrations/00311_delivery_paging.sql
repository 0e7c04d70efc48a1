-- +goose Up
-- Lists of deliveries are paged in order of created_at and then id: in
-- one state, to one service, or every delivery. Each of these indexes
-- holds one list's rows in that order, so a page is read from the index
-- without sorting every delivery that matches.
DROP INDEX deliveries_state;
CREATE INDEX deliveries_state ON deliveries (state, created_at, id);
CREATE INDEX deliveries_service ON deliveries (service_id, created_at, id);
CREATE INDEX deliveries_created ON deliveries (created_at, id);

-- +goose Down
DROP INDEX deliveries_created;
DROP INDEX deliveries_service;
DROP INDEX deliveries_state;
CREATE INDEX deliveries_state ON deliveries (state, created_at);
