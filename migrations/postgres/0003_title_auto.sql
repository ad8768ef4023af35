-- Whether the conversation's title is the app's (its first question, later its topics) rather
-- than one the user gave it. Kept in step with migrations/sqlite/0003_title_auto.sql.
ALTER TABLE conversations ADD COLUMN title_auto boolean NOT NULL DEFAULT true;
