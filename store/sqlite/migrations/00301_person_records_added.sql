-- +goose Up
-- Hub nodes sharing one database read the person records added since
-- they last looked.
CREATE INDEX person_records_added ON person_records (added_at);

-- +goose Down
DROP INDEX person_records_added;
