-- Access paths of filtered, sorted and keyset-paginated listings within one organisation.
-- Items in their default order (position, then id) per organisation.
CREATE INDEX conversation_items_by_organisation_and_position ON conversation_items (organisation_id, position, id);
-- The items of one conversation in order; chosen over the per-organisation index even where
-- the planner has no statistics (the unique (conversation_id, position) lacks the id).
CREATE INDEX conversation_items_by_conversation ON conversation_items (conversation_id, position, id);
-- Conversations by status, newest first (the common inbox view).
CREATE INDEX conversations_by_organisation_status_and_time ON conversations (organisation_id, status, created_at, id);
-- The global item order index is superseded by the per-organisation one.
DROP INDEX conversation_items_by_position;
