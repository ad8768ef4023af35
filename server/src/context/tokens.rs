//! Token counting with tiktoken-rs (`cl100k_base`). The encoder is built once per process, on
//! first use or by [`warm_up`] at start; a message is counted once, when it is stored, and the
//! count is kept in `messages.token_count`, never recounted.
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

/// Tokens of `text`.
pub fn count(text: &str) -> u32 {
    match encoder() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u32,
        None => text.len().div_ceil(4) as u32,
    }
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
}
