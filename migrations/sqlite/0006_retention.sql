-- Pruning (`fpl-chat prune`, RETENTION_ANONYMOUS_DAYS) finds the anonymous identities idle
-- longest by last_seen_at; without this index every batch would scan the whole table. Kept in
-- step with migrations/postgres/0006_retention.sql.
CREATE INDEX anonymous_identities_last_seen_at_idx ON anonymous_identities (last_seen_at);
