-- What the conversation list offers besides reading (kept in step with
-- migrations/postgres/0007_conversation_tools.sql):
--
-- Deleting with undo: a deleted conversation is hidden at once (every read and every new turn
-- treats it as missing) and removed for good by the server's pruning once the undo window has
-- passed.
ALTER TABLE conversations ADD COLUMN deleted_at TEXT;
CREATE INDEX conversations_deleted_at_idx ON conversations (deleted_at) WHERE deleted_at IS NOT NULL;

-- Search across an owner's messages: an FTS5 index over `messages.content` (external content:
-- the text is stored once, in `messages`), kept in step by triggers. Porter stemming, like
-- PostgreSQL's English configuration, so "goals" finds "goal".
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;

-- Read-only share links: an unguessable token naming a conversation as it was through
-- `through_seq` (later messages are not shown). One link per conversation; revoking deletes it.
CREATE TABLE shares (
    token           TEXT    NOT NULL PRIMARY KEY,
    conversation_id BLOB    NOT NULL UNIQUE REFERENCES conversations (id) ON DELETE CASCADE,
    through_seq     INTEGER NOT NULL CHECK (through_seq >= 0),
    created_at      TEXT    NOT NULL
) STRICT;
