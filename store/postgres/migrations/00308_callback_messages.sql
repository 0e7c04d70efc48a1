-- +goose Up
-- The signed callbacks that services sent with their outcomes, kept while
-- their timestamp is within the signature's tolerance, so that the same
-- message sent again, which only someone who captured it can do, is
-- refused.
CREATE TABLE callback_messages (
    service_id        TEXT   NOT NULL,
    webhook_id        TEXT   NOT NULL,
    webhook_timestamp BIGINT NOT NULL,
    received_at       BIGINT NOT NULL,
    PRIMARY KEY (service_id, webhook_id, webhook_timestamp)
);
CREATE INDEX callback_messages_received_at ON callback_messages (received_at);

-- +goose Down
DROP TABLE callback_messages;
