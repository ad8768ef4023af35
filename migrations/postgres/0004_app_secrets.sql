-- Secrets the application generates once and every instance on this database shares: the key
-- that signs identity cookies when SESSION_SECRET is unset (so identities survive restarts and
-- span instances). A row is written once and never replaced.
CREATE TABLE app_secrets (
    name        text        PRIMARY KEY,
    value       text        NOT NULL,
    created_at  timestamptz NOT NULL
);
