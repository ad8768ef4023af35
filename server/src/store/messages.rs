//! Messages, chat turns (their first and last writes) and conversation metrics.
//!
//! Promises:
//! - [`Store::append_message`] gives each message the next `seq` of its conversation (1, 2, 3 …)
//!   atomically — concurrent appends never share or skip a seq — and sets the conversation's
//!   `updated_at`. The counter is `conversations.last_seq`, incremented under the row lock, and
//!   `UNIQUE (conversation_id, seq)` backs it up.
//! - [`Store::finish_turn`] stores the assistant message and updates `conversation_metrics` in
//!   one transaction: `message_count` grows by 2 (the turn's question, the answer's parent, plus
//!   the answer; by 1 for a regenerated answer, as a question counts with its first answer, or
//!   when the parent is not a user message), `tool_call_count` by the length of `tool_calls`,
//!   `total_tokens` by the counted messages' `token_count`, and `avg_response_time_ms` is the
//!   running mean of the assistant messages' `duration_ms` (messages without one are not
//!   counted in it).
//! - Every message names its parent (`parent_seq`: the question an answer follows, the message
//!   a question's context ended with), and every stored message becomes the leaf of the branch
//!   shown (`conversations.leaf_seq`), except an answer whose conversation moved to another
//!   branch while it was written (`store::thread` reads the branch).
//! - [`Store::begin_turn`] stores a turn's question with everything the turn changes in its
//!   conversation (created when new, with its anonymous identity; topics, title, summary) in one
//!   transaction; the summary is kept only if no later one is stored.
//! - `begin_turn` and `finish_turn` are one round trip each on PostgreSQL (a single statement
//!   with data-modifying CTEs, atomic by itself); on SQLite (which has no data-modifying CTEs)
//!   they are queued to the group-committing writer (`writer.rs`), each in its own savepoint of
//!   a `BEGIN IMMEDIATE` transaction, acknowledged after the commit. The column list and the
//!   metrics formula are shared text.
//! - Returned messages equal what [`Store::list_messages`] reads back afterwards.

use chrono::SubsecRound;
use futures::future::BoxFuture;
use sqlx::types::Json;
use sqlx::{PgPool, SqliteConnection};
use uuid::Uuid;

use crate::store::conversations::{
    owner_columns, INSERT_CONVERSATION_SQL, SET_SUMMARY_SQL, SET_TOPICS_SQL, UPSERT_ANONYMOUS_SQL,
};
use crate::store::model::{
    now, ConversationMetrics, Message, NewMessage, Owner, Role, SummaryUpdate, Title, TurnStart,
    TurnStarted,
};
use crate::store::{on_read, BeginWrite, Db, Store, StoreError};

/// Columns of `messages`, in the order of [`Message`]'s fields (used for reads and inserts).
macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, role, content, token_count, tool_calls, tool_results, status, \
         error_code, model, input_tokens, output_tokens, started_at, first_token_ms, duration_ms, \
         created_at, parent_seq"
    };
}
pub(crate) use message_columns;

/// Takes the next seq for a question, which becomes the leaf of the branch shown, and touches
/// `updated_at`: `$1` conversation id, `$2` now.
const NEXT_SEQ_SQL: &str = "UPDATE conversations SET last_seq = last_seq + 1, \
                            leaf_seq = last_seq + 1, updated_at = $2 \
                            WHERE id = $1 RETURNING last_seq";

/// Takes the next seq for an answer, which becomes the leaf unless the user moved to another
/// branch since its question: `$1` conversation id, `$2` now, `$3` the question's seq.
const NEXT_ANSWER_SEQ_SQL: &str = "UPDATE conversations SET last_seq = last_seq + 1, \
     leaf_seq = CASE WHEN leaf_seq = $3 THEN last_seq + 1 ELSE leaf_seq END, updated_at = $2 \
     WHERE id = $1 RETURNING last_seq";

/// Inserts one message: binds are the columns in [`message_columns!`] order.
const INSERT_MESSAGE_SQL: &str = concat!(
    "INSERT INTO messages (",
    message_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
);

/// Adds one turn's increments (carried in `excluded`) to a conversation's metrics; the average
/// is the mean weighted by the number of timed responses on each side.
macro_rules! metrics_upsert_tail {
    () => {
        " ON CONFLICT (conversation_id) DO UPDATE SET \
         message_count = conversation_metrics.message_count + excluded.message_count, \
         tool_call_count = conversation_metrics.tool_call_count + excluded.tool_call_count, \
         total_tokens = conversation_metrics.total_tokens + excluded.total_tokens, \
         timed_response_count = \
             conversation_metrics.timed_response_count + excluded.timed_response_count, \
         avg_response_time_ms = CASE WHEN excluded.timed_response_count = 0 \
             THEN conversation_metrics.avg_response_time_ms \
             ELSE (conversation_metrics.avg_response_time_ms \
                       * conversation_metrics.timed_response_count \
                   + excluded.avg_response_time_ms * excluded.timed_response_count) \
                  / (conversation_metrics.timed_response_count \
                     + excluded.timed_response_count) END, \
         last_activity = excluded.last_activity"
    };
}

/// SQLite: one turn's metrics increments. `$1` conversation, `$2` messages, `$3` tool calls,
/// `$4` tokens, `$5` timed responses (0 or 1), `$6` that response's duration, `$7` now.
const UPSERT_METRICS_SQL: &str = concat!(
    "INSERT INTO conversation_metrics (conversation_id, message_count, tool_call_count, \
     total_tokens, timed_response_count, avg_response_time_ms, last_activity) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)",
    metrics_upsert_tail!()
);

/// PostgreSQL: [`NEXT_SEQ_SQL`] + [`INSERT_MESSAGE_SQL`] in one statement. Binds as in
/// [`INSERT_MESSAGE_SQL`] except `$3`, which is unused (the seq comes from the update).
const PG_APPEND_SQL: &str = concat!(
    "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, leaf_seq = last_seq + 1, \
     updated_at = $17 WHERE id = $2 RETURNING last_seq) \
     INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 \
     FROM c RETURNING seq"
);

/// The leaf of conversation `$1` (null: it has no messages).
const LEAF_SQL: &str = "SELECT NULLIF(leaf_seq, 0) FROM conversations WHERE id = $1";

/// An answer's parent: `$2` when given, else the leaf of conversation `$1` (none: no row).
const ANSWER_PARENT_SQL: &str =
    "SELECT COALESCE($2, NULLIF(leaf_seq, 0)) FROM conversations WHERE id = $1";

/// PostgreSQL: a whole [`Store::finish_turn`] in one statement. Binds as in
/// [`INSERT_MESSAGE_SQL`] (`$3` unused; `$18`, the parent, defaults to the leaf), plus `$19`
/// the number of tool calls.
const PG_FINISH_TURN_SQL: &str = concat!(
    "WITH p AS (SELECT COALESCE($18, NULLIF(leaf_seq, 0)) AS seq FROM conversations \
     WHERE id = $2), \
     c AS (UPDATE conversations SET last_seq = last_seq + 1, \
     leaf_seq = CASE WHEN leaf_seq = COALESCE((SELECT seq FROM p), 0) THEN last_seq + 1 \
     ELSE leaf_seq END, updated_at = $17 \
     WHERE id = $2 RETURNING last_seq), \
     m AS (INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     (SELECT seq FROM p) FROM c RETURNING seq, parent_seq), \
     u AS (SELECT q.token_count FROM messages q, p \
           WHERE q.conversation_id = $2 AND q.seq = p.seq AND q.role = 'user' \
           AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = $2 \
           AND a.parent_seq = p.seq AND a.role = 'assistant')), \
     x AS (INSERT INTO conversation_metrics (conversation_id, message_count, tool_call_count, \
           total_tokens, timed_response_count, avg_response_time_ms, last_activity) \
           SELECT $2, 1 + (SELECT count(*) FROM u), $19, \
                  $6 + COALESCE((SELECT sum(u.token_count) FROM u), 0), \
                  CASE WHEN $16 IS NULL THEN 0 ELSE 1 END, COALESCE($16, 0), $17 \
           FROM m",
    metrics_upsert_tail!(),
    ") SELECT seq, parent_seq FROM m"
);

/// PostgreSQL: [`Store::begin_turn`] of a turn that starts its conversation, in one
/// statement. Binds as in [`INSERT_MESSAGE_SQL`] (`$3` unused: the seq is 1), plus `$19` the
/// owner identity, `$20` the owner user, `$21` the title, `$22` the topics (`$18`, the parent,
/// is null: the question is the first); returns the seq, no parent, `false` (no summary) and
/// whether the identity was stored for the first time.
const PG_BEGIN_NEW_SQL: &str = concat!(
    "WITH a AS (INSERT INTO anonymous_identities (id, created_at, last_seen_at) \
     SELECT $19, $17, $17 WHERE $19 IS NOT NULL \
     ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at \
     RETURNING created_at = last_seen_at AS created), \
     c AS (INSERT INTO conversations (id, owner_user_id, owner_anon_id, title, topics, \
     last_seq, leaf_seq, created_at, updated_at) VALUES ($2, $20, $19, $21, $22, 1, 1, $17, $17) \
     RETURNING last_seq), \
     m AS (INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18 \
     FROM c RETURNING seq) \
     SELECT m.seq, NULL::bigint, false, COALESCE((SELECT created FROM a), false) FROM m"
);

/// PostgreSQL: [`Store::begin_turn`] in an existing conversation, in one statement (topics,
/// title and summary as [`SET_TOPICS_SQL`] and [`SET_SUMMARY_SQL`] do them), only when it is
/// the owner's. Binds as in [`INSERT_MESSAGE_SQL`] (`$3` unused), plus `$19` the topics, `$20`
/// the title, `$21` the summary, `$22` its tokens, `$23` the seq it covers, `$24` the owner
/// user, `$25` the owner identity, `$26` whether the summary replaces one of another branch,
/// `$27` [`TurnStart::after`] (`$18` unused: the parent is the leaf, before this update, or
/// `$27`); returns the seq, the parent, whether the summary was stored and `false` (no
/// identity is created).
const PG_BEGIN_SQL: &str = concat!(
    "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, leaf_seq = last_seq + 1, \
     updated_at = $17, topics = COALESCE($19, topics), \
     title = CASE WHEN title_auto AND $19 IS NOT NULL THEN COALESCE($20, title) ELSE title END, \
     summary = CASE WHEN $21::text IS NOT NULL \
         AND (COALESCE(summarized_through_seq, 0) <= $23 OR $26) THEN $21 ELSE summary END, \
     summary_token_count = CASE WHEN $21::text IS NOT NULL \
         AND (COALESCE(summarized_through_seq, 0) <= $23 OR $26) THEN $22 \
         ELSE summary_token_count END, \
     summarized_through_seq = CASE WHEN $21::text IS NOT NULL \
         AND (COALESCE(summarized_through_seq, 0) <= $23 OR $26) THEN $23 \
         ELSE summarized_through_seq END \
     WHERE id = $2 AND deleted_at IS NULL AND owner_user_id IS NOT DISTINCT FROM $24 \
         AND owner_anon_id IS NOT DISTINCT FROM $25 \
     RETURNING last_seq, ($21::text IS NOT NULL AND summarized_through_seq = $23) AS kept), \
     m AS (INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
     CASE WHEN $27::bigint IS NULL \
         THEN (SELECT NULLIF(leaf_seq, 0) FROM conversations WHERE id = $2) \
         ELSE NULLIF($27, 0) END \
     FROM c RETURNING seq, parent_seq) \
     SELECT m.seq, m.parent_seq, COALESCE(c.kept, false), false FROM m, c"
);

/// Binds a message's columns in [`message_columns!`] order onto `$query`.
macro_rules! bind_message {
    ($query:expr, $m:expr) => {
        $query
            .bind($m.id)
            .bind($m.conversation_id)
            .bind($m.seq)
            .bind($m.role.as_str())
            .bind(&$m.content)
            .bind($m.token_count)
            .bind(Json(&$m.tool_calls))
            .bind(Json(&$m.tool_results))
            .bind($m.status.as_str())
            .bind(&$m.error_code)
            .bind(&$m.model)
            .bind($m.input_tokens)
            .bind($m.output_tokens)
            .bind($m.started_at)
            .bind($m.first_token_ms)
            .bind($m.duration_ms)
            .bind($m.created_at)
            .bind($m.parent_seq)
    };
}

/// SQLite: whether conversation `$1` is the owner's (`$2` the user, `$3` the identity), checked
/// before a turn changes it.
const SQLITE_OWNED_SQL: &str = "SELECT 1 FROM conversations WHERE id = $1 \
     AND deleted_at IS NULL AND owner_user_id IS $2 AND owner_anon_id IS $3";

/// A turn's first write, its question ready to insert.
struct BeginRow {
    question: Message,
    owner: Owner,
    /// The title of a conversation the turn starts.
    new: Option<Title>,
    /// [`TurnStart::after`].
    after: Option<i64>,
    topics: Option<Vec<String>>,
    title: Option<Title>,
    summary: Option<SummaryUpdate>,
}

/// What a turn's first write did.
#[derive(Debug, Default)]
struct Begun {
    /// The question's seq and parent; `None` when the conversation is gone (or not the
    /// owner's).
    seq: Option<Placed>,
    /// The turn's summary was stored.
    summary_stored: bool,
    /// The owner's anonymous identity was stored for the first time.
    identity_created: bool,
}

/// The statements of [`Store::begin_turn`] on `$conn` (a transaction or connection of either
/// backend).
macro_rules! begin_statements {
    ($conn:expr, $row:expr) => {
        async {
            let row = &$row;
            let id = row.question.conversation_id;
            let at = row.question.created_at;
            let topics = row.topics.as_ref().map(Json);
            let (user_id, anon_id) = owner_columns(row.owner);
            let mut identity_created = false;
            if let Some(title) = &row.new {
                if let Some(anon_id) = anon_id {
                    identity_created = sqlx::query_scalar(UPSERT_ANONYMOUS_SQL)
                        .bind(anon_id)
                        .bind(at)
                        .fetch_one(&mut *$conn)
                        .await?;
                }
                sqlx::query(INSERT_CONVERSATION_SQL)
                    .bind(id)
                    .bind(user_id)
                    .bind(anon_id)
                    .bind(title.as_str())
                    .bind(topics.unwrap_or(Json(&Vec::new())))
                    .bind(at)
                    .execute(&mut *$conn)
                    .await?;
            } else if sqlx::query_scalar::<_, i64>(SQLITE_OWNED_SQL)
                .bind(id)
                .bind(user_id)
                .bind(anon_id)
                .fetch_optional(&mut *$conn)
                .await?
                .is_none()
            {
                return Ok(Begun::default());
            } else if let Some(topics) = topics {
                sqlx::query(SET_TOPICS_SQL)
                    .bind(id)
                    .bind(topics)
                    .bind(row.title.as_ref().map(Title::as_str))
                    .execute(&mut *$conn)
                    .await?;
            }
            let mut summary_stored = false;
            if let Some(s) = &row.summary {
                summary_stored = sqlx::query(SET_SUMMARY_SQL)
                    .bind(id)
                    .bind(&s.text)
                    .bind(s.token_count)
                    .bind(s.through_seq)
                    .bind(s.replaces_other_branch)
                    .execute(&mut *$conn)
                    .await?
                    .rows_affected()
                    > 0;
            }
            let parent = match row.after {
                Some(after) => Some(after).filter(|a| *a > 0),
                None => sqlx::query_scalar(LEAF_SQL)
                    .bind(id)
                    .fetch_optional(&mut *$conn)
                    .await?
                    .flatten(),
            };
            let seq: Option<i64> = sqlx::query_scalar(NEXT_SEQ_SQL)
                .bind(id)
                .bind(at)
                .fetch_optional(&mut *$conn)
                .await?;
            if let Some(seq) = seq {
                let question = Message {
                    seq,
                    parent_seq: parent,
                    ..row.question.clone()
                };
                bind_message!(sqlx::query(INSERT_MESSAGE_SQL), question)
                    .execute(&mut *$conn)
                    .await?;
            }
            let seq = seq.map(|seq| (seq, parent));
            Ok::<_, sqlx::Error>(Begun {
                seq,
                summary_stored,
                identity_created,
            })
        }
        .await
    };
}

fn sqlite_begin<'c>(
    conn: &'c mut SqliteConnection,
    row: &'c BeginRow,
) -> BoxFuture<'c, Result<Begun, sqlx::Error>> {
    Box::pin(async move { begin_statements!(conn, row) })
}

/// PostgreSQL's [`Store::begin_turn`]: one statement, so one round trip.
async fn pg_begin(pool: &PgPool, row: &BeginRow) -> Result<Begun, sqlx::Error> {
    let question = &row.question;
    let (user_id, anon_id) = owner_columns(row.owner);
    let query = match &row.new {
        Some(title) => {
            let topics = Json(row.topics.clone().unwrap_or_default());
            bind_message!(sqlx::query_as(PG_BEGIN_NEW_SQL), question)
                .bind(anon_id)
                .bind(user_id)
                .bind(title.as_str().to_string())
                .bind(topics)
        }
        None => {
            let summary = row.summary.as_ref();
            bind_message!(sqlx::query_as(PG_BEGIN_SQL), question)
                .bind(row.topics.clone().map(Json))
                .bind(row.title.as_ref().map(|t| t.as_str().to_string()))
                .bind(summary.map(|s| s.text.clone()))
                .bind(summary.map(|s| s.token_count))
                .bind(summary.map(|s| s.through_seq))
                .bind(user_id)
                .bind(anon_id)
                .bind(summary.is_some_and(|s| s.replaces_other_branch))
                .bind(row.after)
        }
    };
    let row: Option<(i64, Option<i64>, bool, bool)> = query.fetch_optional(pool).await?;
    Ok(row.map_or_else(
        Begun::default,
        |(seq, parent, summary_stored, identity_created)| Begun {
            seq: Some((seq, parent)),
            summary_stored,
            identity_created,
        },
    ))
}

/// A turn's last write: the answer ready to insert, and its number of tool calls.
struct FinishRow {
    answer: Message,
    tool_calls: i64,
}

/// Where a message was stored: its seq and its parent's.
type Placed = (i64, Option<i64>);

/// SQLite's [`Store::finish_turn`]: the answer with the next seq and its parent, and the turn's
/// metrics; `None` when the conversation is gone.
fn sqlite_finish<'c>(
    conn: &'c mut SqliteConnection,
    row: &'c FinishRow,
) -> BoxFuture<'c, Result<Option<Placed>, sqlx::Error>> {
    Box::pin(async move {
        let id = row.answer.conversation_id;
        let parent: Option<Option<i64>> = sqlx::query_scalar(ANSWER_PARENT_SQL)
            .bind(id)
            .bind(row.answer.parent_seq)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(parent) = parent else {
            return Ok(None);
        };
        let seq: i64 = sqlx::query_scalar(NEXT_ANSWER_SEQ_SQL)
            .bind(id)
            .bind(row.answer.created_at)
            .bind(parent.unwrap_or(0))
            .fetch_one(&mut *conn)
            .await?;
        let answer = Message {
            seq,
            parent_seq: parent,
            ..row.answer.clone()
        };
        bind_message!(sqlx::query(INSERT_MESSAGE_SQL), answer)
            .execute(&mut *conn)
            .await?;
        // A question counts with its first answer (a regenerated answer counts alone).
        let user_tokens: Option<i64> = sqlx::query_scalar(
            "SELECT token_count FROM messages \
             WHERE conversation_id = $1 AND seq = $2 AND role = 'user' \
             AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = $1 \
             AND a.parent_seq = $2 AND a.role = 'assistant' AND a.id <> $3)",
        )
        .bind(id)
        .bind(parent)
        .bind(answer.id)
        .fetch_optional(&mut *conn)
        .await?;
        sqlx::query(UPSERT_METRICS_SQL)
            .bind(id)
            .bind(1 + i64::from(user_tokens.is_some()))
            .bind(row.tool_calls)
            .bind(i64::from(answer.token_count) + user_tokens.unwrap_or(0))
            .bind(i64::from(answer.duration_ms.is_some()))
            .bind(f64::from(answer.duration_ms.unwrap_or(0)))
            .bind(answer.created_at)
            .execute(&mut *conn)
            .await?;
        Ok(Some((seq, parent)))
    })
}

/// The message as it will be stored, with `seq` still unknown (0).
fn prepare(conversation_id: Uuid, new: NewMessage) -> Result<Message, StoreError> {
    new.validate()?;
    Ok(Message {
        id: new.id,
        conversation_id,
        seq: 0,
        role: new.role,
        content: new.content,
        token_count: new.token_count,
        tool_calls: new.tool_calls,
        tool_results: new.tool_results,
        status: new.status,
        error_code: new.error_code,
        model: new.model,
        input_tokens: new.input_tokens,
        output_tokens: new.output_tokens,
        started_at: new.started_at.trunc_subsecs(6),
        first_token_ms: new.first_token_ms,
        duration_ms: new.duration_ms,
        created_at: now(),
        parent_seq: new.parent_seq,
    })
}

impl Store {
    /// Appends a message (typically the user's, at the start of a turn) with the next seq, and
    /// sets the conversation's `updated_at`. [`StoreError::NotFound`] when the conversation does
    /// not exist. Not owner-checked: resolve the conversation with
    /// [`Store::get_conversation`] first.
    pub async fn append_message(
        &self,
        conversation_id: Uuid,
        message: NewMessage,
    ) -> Result<Message, StoreError> {
        let mut message = prepare(conversation_id, message)?;
        let seq = match &self.db {
            Db::Postgres(pg) => {
                bind_message!(sqlx::query_scalar::<_, i64>(PG_APPEND_SQL), message)
                    .fetch_optional(&pg.write)
                    .await?
            }
            Db::Sqlite(sqlite) => {
                let mut tx = sqlite.write.begin_write().await?;
                let seq: Option<i64> = sqlx::query_scalar(NEXT_SEQ_SQL)
                    .bind(conversation_id)
                    .bind(message.created_at)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(seq) = seq {
                    message.seq = seq;
                    bind_message!(sqlx::query(INSERT_MESSAGE_SQL), message)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                seq
            }
        };
        message.seq = seq.ok_or(StoreError::NotFound)?;
        Ok(message)
    }

    /// Starts a chat turn in one transaction: creates the conversation when the turn starts
    /// it (and the anonymous identity that owns it), applies the turn's topics, title and
    /// summary, and appends the question with the next seq after [`TurnStart::after`] (by
    /// default the leaf), as the new leaf. [`StoreError::NotFound`] when an
    /// existing conversation is gone or is not `start.owner`'s. On SQLite it is committed with
    /// the writes queued beside it (see `writer.rs`).
    pub async fn begin_turn(&self, start: TurnStart) -> Result<TurnStarted, StoreError> {
        if start.question.role != Role::User {
            return Err(StoreError::Invalid(
                "begin_turn takes the user's message".into(),
            ));
        }
        if let Some(s) = &start.summary {
            if s.token_count < 0 || s.through_seq < 0 {
                return Err(StoreError::Invalid(
                    "summary token count and seq must not be negative".into(),
                ));
            }
        }
        if start.after.is_some_and(|a| a < 0) {
            return Err(StoreError::Invalid("after must not be negative".into()));
        }
        let row = BeginRow {
            question: prepare(start.conversation_id, start.question)?,
            owner: start.owner,
            new: start.new,
            after: start.after,
            topics: start.topics,
            title: start.title,
            summary: start.summary,
        };
        let (row, begun) = match &self.db {
            Db::Postgres(pg) => {
                let begun = pg_begin(&pg.write, &row).await?;
                (row, begun)
            }
            Db::Sqlite(sqlite) => sqlite.writer.write(row, sqlite_begin).await?,
        };
        let mut question = row.question;
        (question.seq, question.parent_seq) = begun.seq.ok_or(StoreError::NotFound)?;
        Ok(TurnStarted {
            question,
            summary_stored: begun.summary_stored,
            identity_created: begun.identity_created,
        })
    }

    /// Ends a chat turn: stores the assistant message with the next seq, after its question
    /// (`parent_seq`; by default the leaf of the branch shown), and adds the turn to the
    /// conversation's metrics, in one transaction (see the module docs for the exact
    /// increments). The answer becomes the leaf unless the user moved to another branch since
    /// the question. The message's role must be
    /// [`Role::Assistant`]. [`StoreError::NotFound`] when the conversation does not exist.
    pub async fn finish_turn(
        &self,
        conversation_id: Uuid,
        assistant: NewMessage,
    ) -> Result<Message, StoreError> {
        if assistant.role != Role::Assistant {
            return Err(StoreError::Invalid(
                "finish_turn takes the assistant's message".into(),
            ));
        }
        let tool_calls = i64::try_from(assistant.tool_call_count())
            .map_err(|_| StoreError::Invalid("too many tool calls".into()))?;
        let mut message = prepare(conversation_id, assistant)?;
        let stored: Option<Placed> = match &self.db {
            Db::Postgres(pg) => {
                bind_message!(sqlx::query_as(PG_FINISH_TURN_SQL), message)
                    .bind(tool_calls)
                    .fetch_optional(&pg.write)
                    .await?
            }
            Db::Sqlite(sqlite) => {
                let row = FinishRow {
                    answer: message,
                    tool_calls,
                };
                let (row, stored) = sqlite.writer.write(row, sqlite_finish).await?;
                message = row.answer;
                stored
            }
        };
        (message.seq, message.parent_seq) = stored.ok_or(StoreError::NotFound)?;
        Ok(message)
    }

    /// Every message of the conversation, in seq order. Not owner-checked.
    pub async fn list_messages(&self, conversation_id: Uuid) -> Result<Vec<Message>, StoreError> {
        self.list_messages_after(conversation_id, 0).await
    }

    /// The messages with `seq > after_seq`, in seq order — e.g. those not covered by the
    /// conversation's summary. Not owner-checked.
    pub async fn list_messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
    ) -> Result<Vec<Message>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, Message>(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq"
            ))
            .bind(conversation_id)
            .bind(after_seq)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The conversation's metrics; `None` before its first finished turn (or if it does not
    /// exist). Not owner-checked.
    pub async fn metrics(
        &self,
        conversation_id: Uuid,
    ) -> Result<Option<ConversationMetrics>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, ConversationMetrics>(
                "SELECT conversation_id, message_count, tool_call_count, total_tokens, \
                 timed_response_count, avg_response_time_ms, last_activity \
                 FROM conversation_metrics WHERE conversation_id = $1",
            )
            .bind(conversation_id)
            .fetch_optional(pool)
            .await
        })?)
    }
}
