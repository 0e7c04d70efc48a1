-- +goose Up
-- In a cluster, a node claims a delivery until claimed_until, in Unix
-- microseconds, before it sends it, so that no other node sends the same
-- attempt meanwhile. 0 means unclaimed.
ALTER TABLE deliveries ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN claimed_until;
