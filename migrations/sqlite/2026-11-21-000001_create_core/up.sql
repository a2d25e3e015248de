-- Timestamps are UTC with microsecond precision (Diesel stores them as text on SQLite).
-- UUIDs and JSON documents are stored as text on both backends.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organisations_by_created_at ON organisations (created_at, id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    title TEXT,
    ai_agent_id TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    -- The last position handed to an item; only ever grows, so positions are never reused.
    last_item_position BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX conversations_by_organisation_and_time ON conversations (organisation_id, created_at, id);
CREATE INDEX conversations_by_time ON conversations (created_at, id);

CREATE TABLE conversation_items (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    modality TEXT NOT NULL,
    position BIGINT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT conversation_items_position_unique UNIQUE (conversation_id, position)
);
CREATE INDEX conversation_items_by_organisation_and_time ON conversation_items (organisation_id, occurred_at, id);
CREATE INDEX conversation_items_by_position ON conversation_items (position, id);
