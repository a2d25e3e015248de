-- Responses to requests sent with an `Idempotency-Key`, replayed to retries for 24 hours.
-- `id` is the SHA-256 (hex) of the organisation's id and the key, so keys are per organisation;
-- `request_digest` the SHA-256 of method, path, query and body.
CREATE TABLE idempotency_keys (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status BIGINT NOT NULL,
    location TEXT,
    content_type TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
