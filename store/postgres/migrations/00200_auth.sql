-- +goose Up
-- Accounts that may sign in. username is stored normalised (NFC, trimmed,
-- lower case). oidc_issuer and oidc_subject link an OpenID Connect
-- identity, and are empty when none is linked.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    organisation  TEXT NOT NULL DEFAULT '',
    services      TEXT NOT NULL DEFAULT '[]',
    oidc_issuer   TEXT NOT NULL DEFAULT '',
    oidc_subject  TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_oidc_identity ON accounts (oidc_issuer, oidc_subject)
    WHERE oidc_subject <> '';

-- Sessions hold the SHA-256 of the id in the cookie, never the id itself.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE accounts;
