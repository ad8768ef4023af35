//! Token counting with tiktoken-rs (`cl100k_base`). The encoder is built once per process, on
//! first use or by [`warm_up`] at start; a message is counted once, when it is stored, and the
//! count is kept in `messages.token_count`, never recounted. A text is counted in pieces of
//! at most [`PIECE_BYTES`] cut at whitespace: the tokenizer's merge step is quadratic in the
//! length of a run of letters, so an 8,000-character "word" would take it a second; in pieces
//! the cost is linear (the count may be off by a token per piece).
use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

static ENCODER: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn encoder() -> Option<&'static CoreBPE> {
    ENCODER
        .get_or_init(|| match tiktoken_rs::cl100k_base() {
            Ok(bpe) => Some(bpe),
            Err(e) => {
                tracing::error!(error = %e, "tokenizer unavailable; counting 1 token per 4 bytes");
                None
            }
        })
        .as_ref()
}

/// Builds the encoder now, so that the first chat turn does not pay for it.
pub fn warm_up() {
    let _ = encoder();
}

/// Longest piece of text handed to the tokenizer at once, in bytes.
pub const PIECE_BYTES: usize = 1024;

/// Tokens of `text`.
pub fn count(text: &str) -> u32 {
    match encoder() {
        Some(bpe) => pieces(text)
            .map(|piece| bpe.encode_ordinary(piece).len() as u32)
            .sum(),
        None => text.len().div_ceil(4) as u32,
    }
}

/// `text` in pieces of at most [`PIECE_BYTES`], each cut before a whitespace when the window
/// has one (so words stay whole), else at a character boundary.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(PIECE_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end < rest.len() {
            if let Some(space) = rest[..end].rfind(char::is_whitespace).filter(|&i| i > 0) {
                end = space;
            }
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_real_tokens_not_characters() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        // A long word is several tokens; many short words are about one each.
        assert!(count("Haaland Haaland Haaland") <= 9);
        assert!(count("antidisestablishmentarianism") > 1);
    }

    #[test]
    fn long_texts_are_counted_in_pieces_at_about_the_same_count() {
        let prose = "Haaland scored twice against Arsenal, and Saka assisted. ".repeat(200);
        let whole = super::encoder().unwrap().encode_ordinary(&prose).len() as i64;
        let pieces: Vec<&str> = super::pieces(&prose).collect();
        assert!(pieces.len() > 10 && pieces.iter().all(|p| p.len() <= super::PIECE_BYTES));
        assert_eq!(pieces.concat(), prose);
        assert!((i64::from(count(&prose)) - whole).abs() <= pieces.len() as i64);
        // One 24 KB run of letters: in pieces its cost is linear, not quadratic.
        let started = std::time::Instant::now();
        assert!(count(&"ﷺ".repeat(8_000)) > 0);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
