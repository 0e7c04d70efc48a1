-- +goose Up
-- Settings of the store itself, one row each. The row named store_id is
-- the store's random identity, which the hub records on its JetStream
-- stream so that a node on another store cannot consume the stream.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
