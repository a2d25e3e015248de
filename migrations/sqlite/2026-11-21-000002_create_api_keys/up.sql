-- Bearer keys for server-to-server calls. Only a SHA-256 hash of the secret is kept; the prefix
-- (e.g. sk_test_1a2b3c4d5e6f) identifies a key for lookup, listing and revocation.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    -- Space-separated, e.g. "conversation:read conversation:write".
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_keys_by_organisation ON api_keys (organisation_id, created_at);
