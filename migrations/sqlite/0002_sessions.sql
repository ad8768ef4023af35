-- Server-side sessions of signed-in users, used when REDIS_URL is unset (with Redis they live
-- there). Kept in step with migrations/postgres/0002_sessions.sql.
CREATE TABLE sessions (
    id           BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
