-- +goose Up
CREATE TABLE organisations (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE services (
    id               TEXT PRIMARY KEY,
    organisation     TEXT NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL,
    event_types      TEXT NOT NULL,
    fields           TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    endpoint_kind    TEXT NOT NULL,
    endpoint_url     TEXT NOT NULL DEFAULT '',
    endpoint_subject TEXT NOT NULL DEFAULT '',
    secret           TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE life_events (
    id            TEXT PRIMARY KEY,
    reference     TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    registered_by TEXT NOT NULL DEFAULT '',
    payload       TEXT NOT NULL
);

CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE REFERENCES life_events (id),
    given_by    TEXT NOT NULL,
    capacity    TEXT NOT NULL,
    on_behalf   TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    basis       TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE consent_decisions (
    consent_id TEXT NOT NULL REFERENCES consents (id),
    service_id TEXT NOT NULL REFERENCES services (id),
    decision   TEXT NOT NULL,
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (consent_id, service_id)
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES life_events (id),
    service_id      TEXT NOT NULL REFERENCES services (id),
    kind            TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    outcome         TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    confirmed_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_state ON deliveries (state, created_at);

CREATE TABLE outbox (
    msg_id      TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    service_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX outbox_created ON outbox (created_at);

CREATE TABLE deferred_actions (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id),
    event_id    TEXT NOT NULL REFERENCES life_events (id),
    service_id  TEXT NOT NULL REFERENCES services (id),
    action      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    due         TEXT NOT NULL,
    state       TEXT NOT NULL,
    fired_at    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (delivery_id, action)
);
CREATE INDEX deferred_actions_due ON deferred_actions (state, due);

-- +goose Down
DROP TABLE deferred_actions;
DROP TABLE outbox;
DROP TABLE deliveries;
DROP TABLE consent_decisions;
DROP TABLE consents;
DROP TABLE life_events;
DROP TABLE services;
DROP TABLE organisations;
