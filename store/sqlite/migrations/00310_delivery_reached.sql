-- +goose Up
-- How many attempts at a delivery, in any generation, may have reached
-- its service: every attempt except those that never connected to it.
-- A withdrawal of consent sends a notice only to a service that one of
-- them may have reached. Attempts made before this column existed count.
ALTER TABLE deliveries ADD COLUMN reached_attempts INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET reached_attempts = attempts;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN reached_attempts;
