//! The conversation as the page's hydration data: what the server writes into the page for
//! the browser to take the server-rendered messages over.
//!
//! Promises:
//! - A tool card's result text and picture are written empty (`Some("")`, never `None`): the
//!   page's HTML already carries them, the browser keeps that HTML when it hydrates (a text
//!   node or `inner_html` is not set again from server data), and a card is drawn from the
//!   same data again only with the same empty values (no change) or after the conversation
//!   was fetched again (the whole data, through its server function). On a long
//!   conversation they were two thirds of the hydration data (`first_render` bench).
//! - Everything else is written as JSON, as Leptos's default codec writes it; server
//!   functions' answers are not touched (only [`PageData::encode`] elides, and only while it
//!   runs).
use std::cell::Cell;

use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize, Serializer};

thread_local! {
    /// Set while [`PageData::encode`] writes: the elided fields are written empty. Encoding
    /// is synchronous, so the flag never outlives the call on this thread.
    static ELIDING: Cell<bool> = const { Cell::new(false) };
}

/// The codec of the resources that load a conversation for the page (`Resource<T, PageData>`).
pub struct PageData;

impl<T: Serialize> Encoder<T> for PageData {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        /// Clears the flag also when serialization fails or panics.
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                ELIDING.set(false);
            }
        }
        ELIDING.set(true);
        let _reset = Reset;
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for PageData {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(value: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(value)
    }
}

/// `serialize_with` for what the page's HTML shows once and the browser does not read again
/// (see the module's promises): empty in the page's hydration data, whole everywhere else.
pub fn shown_in_html<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) if ELIDING.get() => s.serialize_some(""),
        other => other.serialize(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ToolCallView;

    fn card() -> ToolCallView {
        ToolCallView {
            id: "t1".into(),
            name: "fpl_player_data".into(),
            input: serde_json::json!({"playerQuery": "Haaland"}),
            ok: Some(true),
            duration_ms: Some(12),
            text: Some("Haaland: 9 goals".into()),
            visual: Some("<figure class=\"viz\"></figure>".into()),
        }
    }

    #[test]
    fn the_page_data_leaves_out_what_the_html_shows_and_keeps_the_rest() {
        let encoded = <PageData as Encoder<_>>::encode(&vec![card()]).unwrap();
        let back: Vec<ToolCallView> = <PageData as Decoder<_>>::decode(&encoded).unwrap();
        let expected = ToolCallView {
            text: Some(String::new()),
            visual: Some(String::new()),
            ..card()
        };
        assert_eq!(back, vec![expected]);
    }

    #[test]
    fn other_serialization_is_whole_before_and_after_the_page_data() {
        let whole = serde_json::to_string(&card()).unwrap();
        assert!(whole.contains("Haaland: 9 goals") && whole.contains("viz"));
        let _ = <PageData as Encoder<_>>::encode(&card()).unwrap();
        assert_eq!(serde_json::to_string(&card()).unwrap(), whole);
    }

    #[test]
    fn a_card_without_text_or_picture_stays_without() {
        let bare = ToolCallView {
            text: None,
            visual: None,
            ..card()
        };
        let encoded = <PageData as Encoder<_>>::encode(&bare).unwrap();
        let back: ToolCallView = <PageData as Decoder<_>>::decode(&encoded).unwrap();
        assert_eq!(back, bare);
    }
}
