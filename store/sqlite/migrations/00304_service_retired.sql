-- +goose Up
-- When an operator removed the service, in Unix microseconds, or 0 for a
-- service in use. A removed service keeps its row, because consent
-- decisions, deliveries and the audit log refer to it.
ALTER TABLE services ADD COLUMN retired_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE services DROP COLUMN retired_at;
