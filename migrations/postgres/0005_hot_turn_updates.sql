-- Every chat turn updates its conversation twice (the question's write, then the answer's),
-- changing last_seq and updated_at. While updated_at was in the owner's list indexes, each of
-- those updates was a non-HOT update: a new index entry in the primary key and in the owner's
-- index per update, and index bloat to vacuum. Indexed on the owner alone, an update touches no
-- indexed column and, with room left on the page (fillfactor), stays on the page with no index
-- work (a HOT update). An owner's list is then its rows sorted by updated_at: a small top-N sort
-- per owner. Kept in step with migrations/sqlite/0005_hot_turn_updates.sql.
DROP INDEX conversations_user_updated_idx;
DROP INDEX conversations_anon_updated_idx;
CREATE INDEX conversations_user_idx ON conversations (owner_user_id) WHERE owner_user_id IS NOT NULL;
CREATE INDEX conversations_anon_idx ON conversations (owner_anon_id) WHERE owner_anon_id IS NOT NULL;
ALTER TABLE conversations SET (fillfactor = 70);
ALTER TABLE conversation_metrics SET (fillfactor = 70);
