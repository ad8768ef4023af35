-- Versions of answers and questions (regenerate, edit and resend): a conversation's messages
-- form a tree. Each message names the message it follows (`parent_seq`; NULL for a first
-- question), and the conversation names the newest message of the branch the user sees
-- (`leaf_seq`); the branch is the leaf and its ancestors. Seqs still count every message of the
-- conversation, so a child's seq is always above its parent's. Kept in step with
-- migrations/postgres/0008_branches.sql.
ALTER TABLE messages ADD COLUMN parent_seq INTEGER CHECK (parent_seq > 0 AND parent_seq < seq);
UPDATE messages SET parent_seq = seq - 1 WHERE seq > 1;
ALTER TABLE conversations ADD COLUMN leaf_seq INTEGER NOT NULL DEFAULT 0 CHECK (leaf_seq >= 0);
UPDATE conversations SET leaf_seq = last_seq;
