//! Progressive compression: a conversation's context kept within its token budget, while the
//! whole history stays in the database and on the page.
//!
//! Once the context passes [`THRESHOLD`] of the budget (the limit less what the answer, the
//! system prompt and the tool definitions need), it is brought down to [`TARGET`] of it, by
//! the cheapest strategy that suffices, in order: shorten old tool results; fold the oldest
//! turns into a running summary (which replaces them); and, when even the latest turns are too
//! big, shorten what is left. Promises (property-tested): the result is within the budget; it
//! starts with a user message and roles alternate; a tool_use is never separated from its
//! tool_result; the newest question is always there; the summary goes first, inside the first
//! user message.
use super::summarizer::{Summarizer, SUMMARY_HEADING};
use crate::llm::{ContentBlock, Message, Role};

/// Compress once the context is above this share of the budget …
pub const THRESHOLD: f64 = 0.8;
/// … down to this share, so that the next turns do not compress again at once.
pub const TARGET: f64 = 0.6;
/// Messages at the end that keep their tool results whole (the latest turn or two).
const KEEP_RECENT: usize = 4;
/// Tokens an old tool result is cut down to.
const SHORT_RESULT_TOKENS: u32 = 120;

/// One message of the context and its tokens.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counted {
    pub message: Message,
    pub tokens: u32,
    /// The newest stored message in it (`None`: not stored yet).
    pub seq: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    ShortenToolResults,
    Summarize,
    Truncate,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::ShortenToolResults => "shorten_tool_results",
            Strategy::Summarize => "summarize",
            Strategy::Truncate => "truncate",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Compressed {
    pub messages: Vec<Message>,
    /// The running summary, when older turns were folded into it.
    pub summary: Option<String>,
    pub tokens: u32,
    pub strategies: Vec<Strategy>,
    /// When turns were folded into the summary now: the newest stored message folded.
    pub folded_through: Option<i64>,
    /// Model tokens the summarizer spent now (charged to the caller's budgets).
    pub summarizer_tokens: u64,
}

/// Fits `history` (oldest first, the new question last) into `budget` tokens. `summary` is the
/// running summary of turns dropped before; `count` counts tokens; `summarizer` folds messages
/// into the summary.
pub async fn fit(
    history: Vec<Counted>,
    summary: Option<String>,
    budget: u32,
    count: &(dyn Fn(&str) -> u32 + Sync),
    summarizer: &dyn Summarizer,
) -> Compressed {
    let mut entries = history;
    let mut summary = summary;
    let mut strategies = Vec::new();
    let mut folded_through = None;
    let mut summarizer_tokens = 0;
    // The summary's tokens, counted again only when it changes.
    let summary_tokens = |summary: &Option<String>| -> u32 {
        summary
            .as_deref()
            .map(|s| count(SUMMARY_HEADING) + count(s))
            .unwrap_or(0)
    };
    let mut summary_cost = summary_tokens(&summary);
    let total = |entries: &[Counted], summary_cost: u32| -> u32 {
        entries.iter().map(|e| e.tokens).sum::<u32>() + summary_cost
    };
    let threshold = (budget as f64 * THRESHOLD) as u32;
    let target = (budget as f64 * TARGET) as u32;

    if total(&entries, summary_cost) > threshold {
        // 1. Old tool results, shortened.
        let old = entries.len().saturating_sub(KEEP_RECENT);
        if shorten_results(&mut entries[..old], count) {
            strategies.push(Strategy::ShortenToolResults);
        }
        // 2. The oldest turns, folded into the summary.
        if total(&entries, summary_cost) > target {
            if let Some(cut) = cut_point(&entries, &summary, target, count) {
                let folded: Vec<Counted> = entries.drain(..cut).collect();
                folded_through = folded.iter().filter_map(|e| e.seq).max();
                let folded: Vec<Message> = folded.into_iter().map(|e| e.message).collect();
                let made = summarizer.summarize(summary.clone(), folded).await;
                summarizer_tokens += made.tokens;
                summary = Some(keep_newest(&made.text, summary_budget(target), count));
                summary_cost = summary_tokens(&summary);
                strategies.push(Strategy::Summarize);
            }
        }
        // 3. Still too big: the latest turn alone is. Shorten everything left, then cut text.
        if total(&entries, summary_cost) > budget {
            if shorten_results(&mut entries, count) {
                strategies.push(Strategy::ShortenToolResults);
            }
            if total(&entries, summary_cost) > budget {
                truncate(&mut entries, &mut summary, budget, count);
                summary_cost = summary_tokens(&summary);
                strategies.push(Strategy::Truncate);
            }
        }
    }
    let tokens = total(&entries, summary_cost);
    let mut messages: Vec<Message> = entries.into_iter().map(|e| e.message).collect();
    if let (Some(text), Some(first)) = (&summary, messages.first_mut()) {
        first.content.insert(
            0,
            ContentBlock::Text {
                text: format!("{SUMMARY_HEADING}{text}"),
            },
        );
    }
    strategies.dedup();
    Compressed {
        messages,
        summary,
        tokens,
        strategies,
        folded_through,
        summarizer_tokens,
    }
}

/// Where a turn starts: a user message with a question (not only tool results).
fn starts_turn(m: &Message) -> bool {
    m.role == Role::User
        && m.content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { .. }))
        && !m
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolResult { .. }))
}

/// What the running summary may cost: a fifth of the target.
fn summary_budget(target: u32) -> u32 {
    target / 5
}

/// The newest lines of `text` that fit `limit` tokens (a summary grows at its end).
fn keep_newest(text: &str, limit: u32, count: &dyn Fn(&str) -> u32) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut used = 0;
    let mut from = lines.len();
    while from > 0 {
        let cost = count(lines[from - 1]) + 1;
        if used + cost > limit {
            break;
        }
        used += cost;
        from -= 1;
    }
    if from == lines.len() {
        return shorten(text, limit, count);
    }
    lines[from..].join("\n")
}

/// The first turn start from which the rest fits `target` beside the summary (at most
/// [`summary_budget`]); else the last turn start. `None` when there is no earlier turn to fold.
fn cut_point(
    entries: &[Counted],
    summary: &Option<String>,
    target: u32,
    count: &dyn Fn(&str) -> u32,
) -> Option<usize> {
    let summary_cost = summary
        .as_deref()
        .map(count)
        .unwrap_or(0)
        .max(summary_budget(target));
    let starts: Vec<usize> = (1..entries.len())
        .filter(|&i| starts_turn(&entries[i].message))
        .collect();
    let mut suffix: u32 = entries.iter().map(|e| e.tokens).sum();
    let mut from = 0;
    for &i in &starts {
        suffix -= entries[from..i].iter().map(|e| e.tokens).sum::<u32>();
        from = i;
        if suffix + summary_cost <= target {
            return Some(i);
        }
    }
    starts.last().copied()
}

/// Cuts long tool results down; true if any was.
fn shorten_results(entries: &mut [Counted], count: &dyn Fn(&str) -> u32) -> bool {
    let mut changed = false;
    for entry in entries {
        let mut saved = 0;
        for block in &mut entry.message.content {
            if let ContentBlock::ToolResult {
                content,
                structured,
                ..
            } = block
            {
                let before = count(content);
                if before > SHORT_RESULT_TOKENS {
                    let short = shorten(content, SHORT_RESULT_TOKENS, count);
                    let text = format!("{short}\n[shortened: the full result is in the history]");
                    saved += before.saturating_sub(count(&text));
                    *content = text;
                    *structured = None;
                }
            }
        }
        if saved > 0 {
            entry.tokens = entry.tokens.saturating_sub(saved);
            changed = true;
        }
    }
    changed
}

/// The start of `text` within `limit` tokens, cut at a line or word.
fn shorten(text: &str, limit: u32, count: &dyn Fn(&str) -> u32) -> String {
    let total = count(text);
    if total <= limit {
        return text.to_string();
    }
    // Characters per token vary: start from the proportional cut and shrink it in proportion
    // to the overshoot (one or two counts, not a bisection that counts the text ~14 times).
    let chars: Vec<char> = text.chars().collect();
    let mut low = (chars.len() as u64 * u64::from(limit) / u64::from(total)) as usize;
    while low > 0 {
        let used = count(&chars[..low].iter().collect::<String>());
        if used <= limit {
            break;
        }
        let scaled = (low as u64 * u64::from(limit) / u64::from(used)) as usize;
        low = scaled.min(low - 1);
    }
    let cut: String = chars[..low].iter().collect();
    match cut.rfind(['\n', ' ']) {
        Some(at) if at > cut.len() / 2 => cut[..at].to_string(),
        _ => cut,
    }
}

/// The last resort: only the newest turn is left and it is over the budget. Shortens the
/// summary, then every text block, oldest first, so that the newest question survives.
fn truncate(
    entries: &mut [Counted],
    summary: &mut Option<String>,
    budget: u32,
    count: &dyn Fn(&str) -> u32,
) {
    if let Some(text) = summary.as_mut() {
        *text = shorten(text, budget / 10, count);
    }
    let summary_tokens = summary
        .as_deref()
        .map(|s| count(SUMMARY_HEADING) + count(s))
        .unwrap_or(0);
    let available = budget.saturating_sub(summary_tokens);
    // Share what is left evenly over the text-bearing blocks.
    let blocks: usize = entries
        .iter()
        .map(|e| e.message.content.len().max(1))
        .sum::<usize>()
        .max(1);
    let each = (available / blocks as u32).max(1);
    for entry in entries.iter_mut() {
        for block in &mut entry.message.content {
            match block {
                ContentBlock::Text { text } => *text = shorten(text, each, count),
                ContentBlock::ToolResult { content, .. } => {
                    *content = shorten(content, each, count)
                }
                ContentBlock::ToolUse { .. } => {}
            }
        }
        entry.tokens = entry
            .message
            .content
            .iter()
            .map(|b| block_tokens(b, count))
            .sum();
    }
}

/// Tokens of one block (tool inputs counted as their JSON).
pub fn block_tokens(block: &ContentBlock, count: &dyn Fn(&str) -> u32) -> u32 {
    match block {
        ContentBlock::Text { text } => count(text),
        ContentBlock::ToolUse { name, input, .. } => count(name) + count(&input.to_string()),
        ContentBlock::ToolResult { content, .. } => count(content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::summarizer::{extractive_summary, Extractive};
    use proptest::prelude::*;
    use serde_json::json;

    /// One token per word: simple and exact enough to check budgets.
    fn words(text: &str) -> u32 {
        text.split_whitespace().count() as u32
    }

    fn counted(message: Message) -> Counted {
        let tokens = message
            .content
            .iter()
            .map(|b| block_tokens(b, &words))
            .sum();
        Counted {
            message,
            tokens,
            seq: None,
        }
    }

    fn fit_now(history: Vec<Counted>, budget: u32) -> Compressed {
        futures::executor::block_on(fit(history, None, budget, &words, &Extractive))
    }

    fn text(role: Role, text: String) -> Message {
        Message {
            role,
            content: vec![ContentBlock::Text { text }],
        }
    }

    /// A conversation: turns of (question words, tool rounds with result sizes, answer words).
    fn conversation(turns: &[(usize, Vec<usize>, usize)]) -> Vec<Counted> {
        let mut out = Vec::new();
        for (t, (question, rounds, answer)) in turns.iter().enumerate() {
            out.push(counted(text(
                Role::User,
                format!("question{t} {}", "word ".repeat(*question)),
            )));
            for (r, size) in rounds.iter().enumerate() {
                let id = format!("toolu_{t}_{r}");
                out.push(counted(Message {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: id.clone(),
                        name: "fpl_player_data".into(),
                        input: json!({"playerQuery": "Haaland"}),
                    }],
                }));
                out.push(counted(Message {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: id,
                        content: "result ".repeat(*size),
                        structured: None,
                        is_error: false,
                    }],
                }));
            }
            out.push(counted(text(
                Role::Assistant,
                format!("answer{t} has 12 goals. {}", "word ".repeat(*answer)),
            )));
        }
        out
    }

    fn check_shape(messages: &[Message]) -> Result<(), String> {
        let first = messages.first().ok_or("empty")?;
        if first.role != Role::User {
            return Err("does not start with the user".into());
        }
        for pair in messages.windows(2) {
            if pair[0].role == pair[1].role {
                return Err("roles do not alternate".into());
            }
        }
        for (i, m) in messages.iter().enumerate() {
            for block in &m.content {
                if let ContentBlock::ToolUse { id, .. } = block {
                    let answered = messages.get(i + 1).is_some_and(|next| {
                        next.content.iter().any(|b| matches!(b, ContentBlock::ToolResult { tool_use_id, .. } if tool_use_id == id))
                    });
                    if !answered {
                        return Err(format!("{id} lost its result"));
                    }
                }
                if let ContentBlock::ToolResult { tool_use_id, .. } = block {
                    let asked = i > 0
                        && messages[i - 1].content.iter().any(
                            |b| matches!(b, ContentBlock::ToolUse { id, .. } if id == tool_use_id),
                        );
                    if !asked {
                        return Err(format!("{tool_use_id} lost its call"));
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_conversation_compressed_is_a_valid_request_within_budget(
            turns in prop::collection::vec(
                (0usize..60, prop::collection::vec(0usize..400, 0..3), 0usize..120),
                1..40,
            ),
            budget in 200u32..4_000,
        ) {
            let history = conversation(&turns);
            let last_question = format!("question{}", turns.len() - 1);
            let out = fit_now(history, budget);
            prop_assert!(out.tokens <= budget, "{} tokens over a budget of {}", out.tokens, budget);
            let recount: u32 = out.messages.iter().flat_map(|m| &m.content).map(|b| block_tokens(b, &words)).sum();
            prop_assert!(recount <= budget + words(SUMMARY_HEADING), "recounted {} over {}", recount, budget);
            if let Err(e) = check_shape(&out.messages) {
                prop_assert!(false, "{}", e);
            }
            let newest = out.messages.iter().rev().find(|m| m.role == Role::User && starts_turn(m)).unwrap();
            let kept = newest.content.iter().any(|b| matches!(b, ContentBlock::Text { text } if text.contains(&last_question)));
            prop_assert!(kept, "the newest question is gone");
        }
    }

    #[test]
    fn small_contexts_are_left_alone_and_big_ones_summarized() {
        let small = conversation(&[(5, vec![10], 10), (5, vec![], 10)]);
        let out = fit_now(small.clone(), 10_000);
        assert!(out.strategies.is_empty() && out.summary.is_none());
        assert_eq!(
            out.messages,
            small.into_iter().map(|c| c.message).collect::<Vec<_>>()
        );

        let big = conversation(&(0..30).map(|_| (20, vec![300], 60)).collect::<Vec<_>>());
        let out = fit_now(big, 3_000);
        assert!(out
            .strategies
            .contains(&super::Strategy::ShortenToolResults));
        assert!(out.strategies.contains(&super::Strategy::Summarize));
        assert!(
            out.tokens <= (3_000f64 * TARGET) as u32 + 200,
            "{}",
            out.tokens
        );
        let summary = out.summary.unwrap();
        // The summary keeps the folded turns' questions and the numbers of their answers,
        // the newest when it has to choose.
        assert!(summary.contains("- Asked: question1"), "{summary}");
        assert!(summary.contains("has 12 goals."), "{summary}");
        assert!(words(&summary) <= summary_budget((3_000f64 * TARGET) as u32));
        let first = &out.messages[0];
        assert!(
            matches!(&first.content[0], ContentBlock::Text { text } if text.starts_with(SUMMARY_HEADING))
        );
    }

    /// A summarizer that says it cost 77 tokens.
    struct Costly;

    #[async_trait::async_trait]
    impl crate::context::summarizer::Summarizer for Costly {
        fn name(&self) -> &'static str {
            "costly"
        }

        async fn summarize(
            &self,
            previous: Option<String>,
            folded: Vec<Message>,
        ) -> crate::context::summarizer::Summary {
            crate::context::summarizer::Summary {
                text: extractive_summary(previous.as_deref(), &folded),
                tokens: 77,
            }
        }
    }

    #[test]
    fn the_summarizers_tokens_are_reported_for_the_budgets() {
        let big = conversation(&(0..30).map(|_| (20, vec![300], 60)).collect::<Vec<_>>());
        let out = futures::executor::block_on(fit(big, None, 3_000, &words, &Costly));
        assert!(out.strategies.contains(&super::Strategy::Summarize));
        assert_eq!(out.summarizer_tokens, 77);
        let small = conversation(&[(5, vec![10], 10)]);
        let out = futures::executor::block_on(fit(small, None, 10_000, &words, &Costly));
        assert_eq!(out.summarizer_tokens, 0);
    }
}
