-- +goose Up
-- A service may be told under a lawful basis other than consent, such as a
-- statutory duty; the basis is kept with the service and with each
-- decision made under it.
ALTER TABLE services ADD COLUMN lawful_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE consent_decisions ADD COLUMN basis TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consent_decisions DROP COLUMN basis;
ALTER TABLE services DROP COLUMN lawful_basis;
