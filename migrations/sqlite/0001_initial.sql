-- FPL Chat store, SQLite schema. Kept in step with migrations/postgres/0001_initial.sql:
-- same tables, columns and constraints. STRICT tables; ids are 16-byte BLOBs (sqlx's encoding
-- of uuid), times RFC 3339 TEXT in UTC (sqlx's encoding of chrono, which sorts correctly as
-- text), JSON is TEXT checked with json_valid. Foreign keys need PRAGMA foreign_keys = ON,
-- which the store sets on every connection.

CREATE TABLE users (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    tier          TEXT    NOT NULL DEFAULT 'default' CHECK (tier IN ('default', 'premium')),
    created_at    TEXT    NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
) STRICT;

CREATE TABLE anonymous_identities (
    id              BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    claimed_by_user BLOB REFERENCES users (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX anonymous_identities_claimed_by_user_idx
    ON anonymous_identities (claimed_by_user) WHERE claimed_by_user IS NOT NULL;

CREATE TABLE conversations (
    id                     BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    owner_user_id          BLOB    REFERENCES users (id) ON DELETE CASCADE,
    owner_anon_id          BLOB    REFERENCES anonymous_identities (id) ON DELETE CASCADE,
    title                  TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    topics                 TEXT    NOT NULL DEFAULT '[]'
                                   CHECK (json_valid(topics) AND json_type(topics) = 'array'),
    summary                TEXT,
    summary_token_count    INTEGER CHECK (summary_token_count >= 0),
    summarized_through_seq INTEGER CHECK (summarized_through_seq >= 0),
    -- Seq of the newest message; incremented inside a write transaction to number messages.
    last_seq               INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL,
    CONSTRAINT conversations_exactly_one_owner
        CHECK ((owner_user_id IS NULL) <> (owner_anon_id IS NULL))
) STRICT;

-- Listing an owner's conversations, newest first.
CREATE INDEX conversations_user_updated_idx
    ON conversations (owner_user_id, updated_at DESC, id DESC) WHERE owner_user_id IS NOT NULL;
CREATE INDEX conversations_anon_updated_idx
    ON conversations (owner_anon_id, updated_at DESC, id DESC) WHERE owner_anon_id IS NOT NULL;

CREATE TABLE messages (
    id              BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
    conversation_id BLOB    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL CHECK (seq > 0),
    role            TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT    NOT NULL,
    token_count     INTEGER NOT NULL CHECK (token_count >= 0),
    tool_calls      TEXT    NOT NULL DEFAULT '[]'
                            CHECK (json_valid(tool_calls) AND json_type(tool_calls) = 'array'),
    tool_results    TEXT    NOT NULL DEFAULT '[]'
                            CHECK (json_valid(tool_results) AND json_type(tool_results) = 'array'),
    status          TEXT    NOT NULL CHECK (status IN ('complete', 'interrupted', 'error')),
    error_code      TEXT,
    model           TEXT,
    input_tokens    INTEGER CHECK (input_tokens >= 0),
    output_tokens   INTEGER CHECK (output_tokens >= 0),
    started_at      TEXT    NOT NULL,
    first_token_ms  INTEGER CHECK (first_token_ms >= 0),
    duration_ms     INTEGER CHECK (duration_ms >= 0),
    created_at      TEXT    NOT NULL,
    -- Also the index for reading a conversation in order.
    CONSTRAINT messages_conversation_seq_key UNIQUE (conversation_id, seq)
) STRICT;

CREATE TABLE conversation_metrics (
    conversation_id      BLOB    NOT NULL PRIMARY KEY
                                 REFERENCES conversations (id) ON DELETE CASCADE,
    message_count        INTEGER NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    tool_call_count      INTEGER NOT NULL DEFAULT 0 CHECK (tool_call_count >= 0),
    total_tokens         INTEGER NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
    -- Assistant messages with a duration, i.e. the weight of the running average.
    timed_response_count INTEGER NOT NULL DEFAULT 0 CHECK (timed_response_count >= 0),
    avg_response_time_ms REAL    NOT NULL DEFAULT 0,
    last_activity        TEXT    NOT NULL
) STRICT;

