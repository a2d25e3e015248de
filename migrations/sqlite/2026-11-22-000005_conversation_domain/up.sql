-- The conversation domain: lifecycle, channels and participants, derived counters, soft
-- deletion; item kinds and realtime segment ids; AI agents.
ALTER TABLE conversations ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
ALTER TABLE conversations ADD COLUMN participant TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN to_address TEXT;
ALTER TABLE conversations ADD COLUMN from_address TEXT;
ALTER TABLE conversations ADD COLUMN subject TEXT;
ALTER TABLE conversations ADD COLUMN initial_context TEXT;
ALTER TABLE conversations ADD COLUMN summary TEXT;
ALTER TABLE conversations ADD COLUMN started_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN ended_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN duration_seconds BIGINT;
ALTER TABLE conversations ADD COLUMN archived BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN archived_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN item_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN user_turn_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN last_item_at TIMESTAMP;

-- The old statuses: `resolved` and `closed` both ended a conversation.
UPDATE conversations SET status = 'completed', ended_at = updated_at
    WHERE status IN ('resolved', 'closed');
UPDATE conversations SET started_at = created_at WHERE status <> 'pending';
UPDATE conversations
    SET duration_seconds = MAX(0, CAST((julianday(ended_at) - julianday(started_at)) * 86400 AS INTEGER))
    WHERE ended_at IS NOT NULL;
UPDATE conversations SET
    item_count = (SELECT COUNT(*) FROM conversation_items AS i WHERE i.conversation_id = conversations.id),
    user_turn_count = (SELECT COUNT(*) FROM conversation_items AS i
        WHERE i.conversation_id = conversations.id AND i.role = 'user'),
    last_item_at = (SELECT MAX(occurred_at) FROM conversation_items AS i WHERE i.conversation_id = conversations.id);

ALTER TABLE conversation_items ADD COLUMN item_type TEXT NOT NULL DEFAULT 'message';
ALTER TABLE conversation_items ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE conversation_items ADD COLUMN parts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE conversation_items ADD COLUMN item_id TEXT;
ALTER TABLE conversation_items ADD COLUMN content_index BIGINT;
ALTER TABLE conversation_items ADD COLUMN deleted_at TIMESTAMP;
-- A realtime segment is stored once per conversation (among items not deleted).
CREATE UNIQUE INDEX conversation_items_segment_unique
    ON conversation_items (conversation_id, item_id, content_index)
    WHERE item_id IS NOT NULL AND deleted_at IS NULL;
-- Purge finds soft-deleted rows by age.
CREATE INDEX conversations_by_deleted_at ON conversations (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX conversation_items_by_deleted_at ON conversation_items (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE ai_agents (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    greeting TEXT,
    default_mode TEXT NOT NULL,
    available_modes TEXT NOT NULL,
    published BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX ai_agents_by_organisation_and_time ON ai_agents (organisation_id, created_at, id);
CREATE INDEX conversations_by_ai_agent ON conversations (ai_agent_id, created_at, id);
