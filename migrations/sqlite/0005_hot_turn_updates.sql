-- In step with migrations/postgres/0005_hot_turn_updates.sql: the owner's conversations are
-- indexed on the owner alone, so a turn's updates of last_seq and updated_at rewrite no index
-- entry (SQLite has no HOT updates, but an index on updated_at is rewritten on every update).
DROP INDEX conversations_user_updated_idx;
DROP INDEX conversations_anon_updated_idx;
CREATE INDEX conversations_user_idx ON conversations (owner_user_id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX conversations_anon_idx ON conversations (owner_anon_id) WHERE owner_anon_id IS NOT NULL;
