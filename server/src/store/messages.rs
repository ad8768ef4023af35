//! Messages, chat turns and conversation metrics.
//!
//! Promises:
//! - [`Store::append_message`] gives each message the next `seq` of its conversation (1, 2, 3 …)
//!   atomically — concurrent appends never share or skip a seq — and sets the conversation's
//!   `updated_at`. The counter is `conversations.last_seq`, incremented under the row lock, and
//!   `UNIQUE (conversation_id, seq)` backs it up.
//! - [`Store::finish_turn`] stores the assistant message and updates `conversation_metrics` in
//!   one transaction: `message_count` grows by 2 (the turn's user message, which is the message
//!   just before the assistant's, plus the assistant's; by 1 if that message is not a user
//!   message), `tool_call_count` by the length of `tool_calls`, `total_tokens` by both messages'
//!   `token_count`, and `avg_response_time_ms` is the running mean of the assistant messages'
//!   `duration_ms` (messages without one are not counted in it).
//! - Both are one round trip on PostgreSQL (a single statement with data-modifying CTEs, which is
//!   atomic by itself) and one `BEGIN IMMEDIATE` transaction on SQLite (which has no
//!   data-modifying CTEs). The column list and the metrics formula are shared text.
//! - Returned messages equal what [`Store::list_messages`] reads back afterwards.

use chrono::SubsecRound;
use sqlx::types::Json;
use uuid::Uuid;

use crate::store::model::{now, ConversationMetrics, Message, NewMessage, Role};
use crate::store::{on_pool, BeginWrite, Db, Store, StoreError};

/// Columns of `messages`, in the order of [`Message`]'s fields (used for reads and inserts).
macro_rules! message_columns {
    () => {
        "id, conversation_id, seq, role, content, token_count, tool_calls, tool_results, status, \
         error_code, model, input_tokens, output_tokens, started_at, first_token_ms, duration_ms, \
         created_at"
    };
}

/// Takes the next seq and touches `updated_at`: `$1` conversation id, `$2` now.
const NEXT_SEQ_SQL: &str = "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $2 \
                            WHERE id = $1 RETURNING last_seq";

/// Inserts one message: binds are the columns in [`message_columns!`] order.
const INSERT_MESSAGE_SQL: &str = concat!(
    "INSERT INTO messages (",
    message_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
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
    "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, updated_at = $17 \
     WHERE id = $2 RETURNING last_seq) \
     INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
     FROM c RETURNING seq"
);

/// PostgreSQL: a whole [`Store::finish_turn`] in one statement. Binds as in
/// [`INSERT_MESSAGE_SQL`] (`$3` unused), plus `$18` the number of tool calls.
const PG_FINISH_TURN_SQL: &str = concat!(
    "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, updated_at = $17 \
     WHERE id = $2 RETURNING last_seq), \
     m AS (INSERT INTO messages (",
    message_columns!(),
    ") SELECT $1, $2, c.last_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 \
     FROM c RETURNING seq), \
     u AS (SELECT messages.token_count FROM messages, c \
           WHERE messages.conversation_id = $2 AND messages.seq = c.last_seq - 1 \
           AND messages.role = 'user'), \
     x AS (INSERT INTO conversation_metrics (conversation_id, message_count, tool_call_count, \
           total_tokens, timed_response_count, avg_response_time_ms, last_activity) \
           SELECT $2, 1 + (SELECT count(*) FROM u), $18, \
                  $6 + COALESCE((SELECT sum(u.token_count) FROM u), 0), \
                  CASE WHEN $16 IS NULL THEN 0 ELSE 1 END, COALESCE($16, 0), $17 \
           FROM m",
    metrics_upsert_tail!(),
    ") SELECT seq FROM m"
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
    };
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
            Db::Postgres(pool) => {
                bind_message!(sqlx::query_scalar::<_, i64>(PG_APPEND_SQL), message)
                    .fetch_optional(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
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

    /// Ends a chat turn: stores the assistant message with the next seq and adds the turn to
    /// the conversation's metrics, in one transaction (see the module docs for the exact
    /// increments). The message's role must be [`Role::Assistant`]. [`StoreError::NotFound`]
    /// when the conversation does not exist.
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
        let seq = match &self.db {
            Db::Postgres(pool) => {
                bind_message!(sqlx::query_scalar::<_, i64>(PG_FINISH_TURN_SQL), message)
                    .bind(tool_calls)
                    .fetch_optional(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
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
                    let user_tokens: Option<i64> = sqlx::query_scalar(
                        "SELECT token_count FROM messages \
                         WHERE conversation_id = $1 AND seq = $2 AND role = 'user'",
                    )
                    .bind(conversation_id)
                    .bind(seq - 1)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let timed = i64::from(message.duration_ms.is_some());
                    sqlx::query(UPSERT_METRICS_SQL)
                        .bind(conversation_id)
                        .bind(1 + i64::from(user_tokens.is_some()))
                        .bind(tool_calls)
                        .bind(i64::from(message.token_count) + user_tokens.unwrap_or(0))
                        .bind(timed)
                        .bind(f64::from(message.duration_ms.unwrap_or(0)))
                        .bind(message.created_at)
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
        Ok(on_pool!(&self.db, |pool| {
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
        Ok(on_pool!(&self.db, |pool| {
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
