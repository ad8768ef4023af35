//! Search across an owner's conversations: their titles and the text of their messages.
//!
//! Promises:
//! - Only the owner's conversations that are not deleted are searched.
//! - A query is its words (letters and digits; at most [`SearchQuery::MAX_TERMS`], each cut to
//!   [`SearchQuery::MAX_TERM_CHARS`]); a hit has every word, each as the start of a word
//!   (`haal` finds "Haaland"), in its title or in one message. Message text is matched with
//!   stemming, PostgreSQL full-text search (English) or SQLite FTS5 (Porter), so "goals" also
//!   finds "goal". Nothing the user types reaches the query language: the words are rebuilt
//!   from letters and digits only.
//! - At most [`MAX_HITS`] conversations, most recently active first, each with a snippet of its
//!   newest matching message (plain text, cut around the first word found) or, for a title
//!   match, without one.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::store::model::Owner;
use crate::store::{on_read, owner_sql, Db, Store, StoreError, MAX_LIST_LIMIT};
/// One conversation found: the wire type itself (`app::types::SearchHitView`), so that it is
/// defined once.
pub use app::types::SearchHitView as SearchHit;

/// Conversations a search returns at most.
pub const MAX_HITS: usize = 20;

/// Characters of a snippet before the first word found, and in all.
const SNIPPET_BEFORE: usize = 40;
const SNIPPET_CHARS: usize = 160;

/// A search as typed, reduced to its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// Lowercased words, in order, without repeats.
    terms: Vec<String>,
}

impl SearchQuery {
    pub const MAX_TERMS: usize = 8;
    pub const MAX_TERM_CHARS: usize = 40;
    /// Longer input is refused rather than read.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        if raw.len() > Self::MAX_CHARS * 4 || raw.chars().count() > Self::MAX_CHARS {
            return Err(StoreError::Invalid(format!(
                "a search is at most {} characters",
                Self::MAX_CHARS
            )));
        }
        let mut terms: Vec<String> = Vec::new();
        for word in raw.split(|c: char| !c.is_alphanumeric()) {
            let term: String = word
                .chars()
                .take(Self::MAX_TERM_CHARS)
                .flat_map(char::to_lowercase)
                .collect();
            if !term.is_empty() && !terms.contains(&term) && terms.len() < Self::MAX_TERMS {
                terms.push(term);
            }
        }
        if terms.is_empty() {
            return Err(StoreError::Invalid(
                "type a word to search for (letters or digits)".into(),
            ));
        }
        Ok(Self { terms })
    }

    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// PostgreSQL `to_tsquery` text: `haal:* & goal:*`.
    fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("{t}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// SQLite FTS5 MATCH text: `"haal"* "goal"*` (every phrase, each a prefix).
    fn fts5(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether every word starts a word of `text` (case-insensitive).
    fn matches(&self, text: &str) -> bool {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        self.terms
            .iter()
            .all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
    }

    /// A short plain-text piece of `text` around the first word found (or its start).
    fn snippet(&self, text: &str) -> String {
        let lower: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        let chars: Vec<char> = text.chars().collect();
        // Lowercasing can change the length (rare: 'İ'); then snippets start at the beginning.
        let found = (lower.len() == chars.len())
            .then(|| first_word_start(&lower, &self.terms))
            .flatten()
            .unwrap_or(0);
        let start = found.saturating_sub(SNIPPET_BEFORE);
        let end = (start + SNIPPET_CHARS).min(chars.len());
        // Plain text: Markdown's emphasis, code, heading and table marks are left out.
        let piece: String = chars[start..end]
            .iter()
            .map(|c| {
                if matches!(c, '*' | '`' | '#' | '|' | '_') {
                    ' '
                } else {
                    *c
                }
            })
            .collect();
        let piece = piece.split_whitespace().collect::<Vec<_>>().join(" ");
        format!(
            "{}{piece}{}",
            if start > 0 { "…" } else { "" },
            if end < chars.len() { "…" } else { "" }
        )
    }
}

/// Index of the first character that starts a word beginning with one of `terms`.
fn first_word_start(lower: &[char], terms: &[String]) -> Option<usize> {
    let terms: Vec<Vec<char>> = terms.iter().map(|t| t.chars().collect()).collect();
    (0..lower.len()).find(|&i| {
        let starts_word = i == 0 || !lower[i - 1].is_alphanumeric();
        starts_word && terms.iter().any(|t| lower[i..].starts_with(t))
    })
}

/// The newest matching message of each of the owner's conversations (window function: both
/// databases have it), filled in per backend with the match predicate.
macro_rules! newest_match_sql {
    ($from:expr, $matches:expr, $owner:expr) => {
        owner_sql!(
            $owner,
            concat!(
                "SELECT id, title, updated_at, content FROM (\
                 SELECT c.id, c.title, c.updated_at, m.content, \
                 ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY m.seq DESC) AS n ",
                $from,
                " WHERE c.deleted_at IS NULL AND ",
                $matches,
                " AND c."
            ),
            " = $1) AS hits WHERE n = 1 ORDER BY updated_at DESC, id DESC LIMIT $3"
        )
    };
}

impl Store {
    /// The owner's conversations that match `query` (see the module's promises).
    pub async fn search(
        &self,
        owner: Owner,
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>, StoreError> {
        // Only the match differs: its SQL and the query in that language.
        let (sql, matching) = match &self.db {
            Db::Postgres(_) => (
                newest_match_sql!(
                    "FROM conversations c JOIN messages m ON m.conversation_id = c.id",
                    "m.search @@ to_tsquery('english', $2)",
                    owner
                ),
                query.tsquery(),
            ),
            Db::Sqlite(_) => (
                newest_match_sql!(
                    "FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
                     JOIN conversations c ON c.id = m.conversation_id",
                    "f.messages_fts MATCH $2",
                    owner
                ),
                query.fts5(),
            ),
        };
        let rows = on_read!(&self.db, |pool| {
            sqlx::query_as::<_, (Uuid, String, DateTime<Utc>, String)>(sql)
                .bind(owner.id())
                .bind(&matching)
                .bind(MAX_HITS as i64)
                .fetch_all(pool)
                .await
        })?;
        let mut hits: Vec<SearchHit> = rows
            .into_iter()
            .map(|(id, title, updated_at, content)| SearchHit {
                id,
                title,
                updated_at,
                snippet: Some(query.snippet(&content)),
            })
            .collect();
        // Titles: an owner has at most a list's worth of conversations to look through.
        let titles = on_read!(&self.db, |pool| {
            sqlx::query_as::<_, (Uuid, String, DateTime<Utc>)>(owner_sql!(
                owner,
                "SELECT id, title, updated_at FROM conversations WHERE deleted_at IS NULL AND ",
                " = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
            ))
            .bind(owner.id())
            .bind(i64::from(MAX_LIST_LIMIT))
            .fetch_all(pool)
            .await
        })?;
        for (id, title, updated_at) in titles {
            let known = hits.iter().any(|h| h.id == id);
            if !known && query.matches(&title) {
                hits.push(SearchHit {
                    id,
                    title,
                    updated_at,
                    snippet: None,
                });
            }
        }
        hits.sort_by_key(|h| std::cmp::Reverse((h.updated_at, h.id)));
        hits.truncate(MAX_HITS);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_words_only() {
        let q = SearchQuery::parse("  Haaland's \"goals\" OR NEAR(x) * - haaland").unwrap();
        assert_eq!(q.terms(), ["haaland", "s", "goals", "or", "near", "x"]);
        assert_eq!(q.fts5(), r#""haaland"* "s"* "goals"* "or"* "near"* "x"*"#);
        assert_eq!(
            q.tsquery(),
            "haaland:* & s:* & goals:* & or:* & near:* & x:*"
        );
        assert!(SearchQuery::parse(" ?! ").is_err());
        assert!(SearchQuery::parse(&"a ".repeat(150)).is_err());
        let many = SearchQuery::parse("a b c d e f g h i j").unwrap();
        assert_eq!(many.terms().len(), SearchQuery::MAX_TERMS);
    }

    #[test]
    fn titles_match_word_starts() {
        let q = SearchQuery::parse("haal capt").unwrap();
        assert!(q.matches("Captain: Haaland or Salah?"));
        assert!(!q.matches("Haaland's form"));
        assert!(!q.matches("Shaaland captain"));
    }

    #[test]
    fn snippets_are_plain_text() {
        let q = SearchQuery::parse("deadline").unwrap();
        assert_eq!(
            q.snippet("The next **deadline** is `Sat`.\n\n| a | b |"),
            "The next deadline is Sat . a b"
        );
    }

    #[test]
    fn snippets_are_cut_around_the_first_word_found() {
        let q = SearchQuery::parse("salah").unwrap();
        let text = format!(
            "{} Salah has 12 goals.\n\nMore text {}",
            "x".repeat(100),
            "y".repeat(300)
        );
        let s = q.snippet(&text);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("Salah has 12 goals. More text"), "{s}");
        assert_eq!(q.snippet("Salah."), "Salah.");
    }
}
