-- Secrets the application generates once and every instance on this database shares. Kept in
-- step with migrations/postgres/0004_app_secrets.sql.
CREATE TABLE app_secrets (
    name        TEXT NOT NULL PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
