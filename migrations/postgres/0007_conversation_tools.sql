-- What the conversation list offers besides reading (kept in step with
-- migrations/sqlite/0007_conversation_tools.sql):
--
-- Deleting with undo: a deleted conversation is hidden at once (every read and every new turn
-- treats it as missing) and removed for good by the server's pruning once the undo window has
-- passed. Only rows with a time are indexed, so a turn's update of its conversation (which
-- never changes deleted_at) stays a HOT update.
ALTER TABLE conversations ADD COLUMN deleted_at timestamptz;
CREATE INDEX conversations_deleted_at_idx ON conversations (deleted_at) WHERE deleted_at IS NOT NULL;

-- Search across an owner's messages: the text's English lexemes, computed once when a message
-- is written, and a GIN index for a rare word across many conversations.
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search);

-- Read-only share links: an unguessable token naming a conversation as it was through
-- `through_seq` (later messages are not shown). One link per conversation; revoking deletes it.
CREATE TABLE shares (
    token           text        PRIMARY KEY,
    conversation_id uuid        NOT NULL UNIQUE REFERENCES conversations (id) ON DELETE CASCADE,
    through_seq     bigint      NOT NULL CHECK (through_seq >= 0),
    created_at      timestamptz NOT NULL
);
