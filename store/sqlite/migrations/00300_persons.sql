-- +goose Up
-- The person index: each person the hub knows, and the records that
-- holders keep about them. record is the linkage.Record as JSON. linked_by
-- is how the record joined its person: new, match or review.
CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE person_records (
    source    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    record    TEXT NOT NULL,
    linked_by TEXT NOT NULL,
    weight    DOUBLE PRECISION NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (source, record_id)
);
CREATE INDEX person_records_person ON person_records (person_id);

-- The review queue: possible matches for a person to confirm or reject.
-- fields is the comparison of each field as JSON. state is open,
-- confirmed or rejected; reason, decided_by and decided_at are set when
-- it leaves open.
CREATE TABLE person_reviews (
    id                  TEXT PRIMARY KEY,
    source              TEXT NOT NULL,
    record_id           TEXT NOT NULL,
    candidate_source    TEXT NOT NULL,
    candidate_record_id TEXT NOT NULL,
    weight              DOUBLE PRECISION NOT NULL,
    probability         DOUBLE PRECISION NOT NULL,
    fields              TEXT NOT NULL,
    state               TEXT NOT NULL,
    reason              TEXT NOT NULL DEFAULT '',
    decided_by          TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    decided_at          BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (source, record_id) REFERENCES person_records (source, record_id),
    FOREIGN KEY (candidate_source, candidate_record_id) REFERENCES person_records (source, record_id)
);
CREATE INDEX person_reviews_state ON person_reviews (state, created_at);

-- +goose Down
DROP TABLE person_reviews;
DROP TABLE person_records;
DROP TABLE persons;
