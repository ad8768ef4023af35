-- Whether the conversation's title is the app's (its first question, later its topics) rather
-- than one the user gave it. Kept in step with migrations/postgres/0003_title_auto.sql.
ALTER TABLE conversations ADD COLUMN title_auto INTEGER NOT NULL DEFAULT 1 CHECK (title_auto IN (0, 1));
