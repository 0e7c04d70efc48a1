-- +goose Up
-- The fields a service declared when the decision was made: a delivery
-- sends no field outside them, even after the service declares more.
-- Empty for decisions recorded before the column existed.
ALTER TABLE consent_decisions ADD COLUMN fields TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consent_decisions DROP COLUMN fields;
