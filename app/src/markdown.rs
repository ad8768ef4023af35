//! Markdown to safe HTML, for every assistant message, on the server (SSR) and in the browser
//! (while an answer streams in).
//!
//! Promises:
//! - Safety comes in two layers. The first, [`to_html`] (pulldown-cmark, run on both sides),
//!   never emits markup it did not build: raw HTML in the Markdown is shown as text; links
//!   (inline, reference, autolinks) keep only `http`, `https`, `mailto` and relative targets,
//!   judged after pulldown-cmark has decoded entities and escapes, and always get
//!   `rel="noopener noreferrer nofollow"`; e-mail autolinks become `mailto:` links; images
//!   become links (no tracking pixels). A property test over adversarial Markdown/HTML holds
//!   this layer alone to no `<script>`/`<iframe>`, no `on*` attribute, no
//!   `javascript:`/`data:`/`vbscript:` URL and only the tags and attributes it builds.
//! - On the server, ammonia then cleans the result again, as defence in depth. The browser
//!   skips ammonia (its HTML parser would double the WASM bundle); what it renders is only ever
//!   the first layer's output.
//! - [`blocks`] cuts an answer into its top-level blocks (at blank lines outside code fences,
//!   keeping indented continuations with their list item), so that a streaming answer renders
//!   only its last, growing block again: the finished ones keep their DOM (a selection in them
//!   survives, a screen reader is not read them again), and each is copied on its own.
//! - On the server a rendered block is kept ([`rendered`]): a stored answer's page is built
//!   from the same blocks on every load.
//! - Cost is linear in the input: pulldown-cmark parses in linear time, and blockquotes nested
//!   deeper than [`MAX_QUOTE_DEPTH`] are flattened, as HTML parsers (ammonia's, the
//!   browser's) slow down on deep nesting (`cargo bench -p app --bench markdown`).
#[cfg(feature = "ssr")]
mod rendered;

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html};

const LINK_REL: &str = "noopener noreferrer nofollow";

/// Blockquotes nested deeper than this are flattened. HTML parsers (ammonia's on the server,
/// the browser's) cost more than linear time in deeply nested elements: 16,000 `>` took 1.2 s
/// through ammonia.
const MAX_QUOTE_DEPTH: usize = 16;

/// Renders Markdown (tables, strikethrough) to sanitized HTML: [`to_html`], then, on the
/// server, ammonia.
pub fn render(markdown: &str) -> String {
    #[cfg(feature = "ssr")]
    let html = rendered::RENDERED.get_or_render(markdown, render_uncached);
    #[cfg(not(feature = "ssr"))]
    let html = render_uncached(markdown);
    html
}

/// [`render`] without the server's cache of blocks: what a block costs the first time it is
/// shown (`cargo bench -p app --bench markdown` measures this).
pub fn render_uncached(markdown: &str) -> String {
    let html = to_html(markdown);
    #[cfg(feature = "ssr")]
    let html = CLEANER.clean(&html).to_string();
    html
}

/// The server's second layer, built once: a default `ammonia::Builder` allocates its tag and
/// attribute sets, and an answer is rendered a block at a time.
#[cfg(feature = "ssr")]
static CLEANER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some(LINK_REL))
        .add_tag_attributes("a", ["target"]);
    builder
});

/// The first layer alone, exactly what the browser runs: Markdown to HTML that carries no
/// markup from the input and no link target outside the allowed schemes.
fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut quotes = 0usize;
    let flat = Parser::new_ext(markdown, options).filter(move |event| match event {
        Event::Start(Tag::BlockQuote(_)) => {
            quotes += 1;
            quotes <= MAX_QUOTE_DEPTH
        }
        Event::End(TagEnd::BlockQuote(_)) => {
            quotes -= 1;
            quotes < MAX_QUOTE_DEPTH
        }
        _ => true,
    });
    let events = flat.map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        // pulldown-cmark gives an e-mail autolink's address without its scheme.
        Event::Start(Tag::Link {
            link_type: LinkType::Email,
            dest_url,
            ..
        }) => Event::Html(open_link(&format!("mailto:{dest_url}"))),
        Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
            Event::Html(open_link(&dest_url))
        }
        Event::End(TagEnd::Link | TagEnd::Image) => Event::Html("</a>".into()),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// `<a href=… rel=… target=_blank>` for an allowed target, or a bare `<a>` for any other.
fn open_link(url: &str) -> CowStr<'static> {
    if !allowed(url) {
        return "<a>".into();
    }
    let mut href = String::new();
    let _ = escape_href(&mut href, url);
    let mut escaped = String::new();
    let _ = escape_html(&mut escaped, &href);
    format!("<a href=\"{escaped}\" rel=\"{LINK_REL}\" target=\"_blank\">").into()
}

/// The top-level blocks of `markdown`, in order, without their trailing blank lines. A block
/// ends at a blank line outside a code fence that is followed by a line that is not
/// indented (an indented line continues a list item or an indented code block). Text added
/// at the end never changes the blocks before the last one.
pub fn blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    let mut fence: Option<(char, usize)> = None;
    let mut after_blank = false;
    for line in markdown.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if fence.is_none() && after_blank && !blank && !line.starts_with([' ', '\t']) {
            let block = current.trim_end();
            if !block.is_empty() {
                blocks.push(block.to_string());
            }
            current.clear();
        }
        current.push_str(line);
        fence = match (fence, fence_of(line)) {
            (None, Some(opened)) => Some(opened),
            (Some((c, n)), Some((d, m))) if c == d && m >= n && is_bare_fence(line) => None,
            (open, _) => open,
        };
        after_blank = blank;
    }
    let block = current.trim_end();
    if !block.is_empty() {
        blocks.push(block.to_string());
    }
    blocks
}

/// A fence line's character and length: up to three spaces, then three or more of ` or ~.
fn fence_of(line: &str) -> Option<(char, usize)> {
    let rest = line.trim_start_matches(' ');
    if line.len() - rest.len() > 3 {
        return None;
    }
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = rest.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

/// A closing fence has nothing after its characters.
fn is_bare_fence(line: &str) -> bool {
    line.trim().chars().all(|c| c == '`' || c == '~')
}

/// Whether a block is code or a table, which the page offers to copy on its own.
pub fn is_copyable(block: &str) -> bool {
    fence_of(block.lines().next().unwrap_or("")).is_some()
        || block.lines().nth(1).is_some_and(|l| {
            let l = l.trim();
            l.starts_with('|') && l.contains("-") && l.chars().all(|c| "|-: ".contains(c))
        })
}

/// Whether a (decoded) link target is relative or uses an allowed scheme. Anything with a
/// colon before its first '/', '?' or '#' counts as a scheme, so obfuscated schemes
/// (`java\tscript:`, control characters) are refused rather than parsed the browser's way.
fn allowed(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::{blocks, is_copyable, render};

    #[test]
    fn blocks_end_at_blank_lines_outside_fences() {
        let answer = "Intro **bold**\nsame paragraph\n\n```text\na\n\nb\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n\n  more of one\n- two\n\n\nEnd";
        assert_eq!(
            blocks(answer),
            [
                "Intro **bold**\nsame paragraph",
                "```text\na\n\nb\n```",
                "| a | b |\n|---|---|\n| 1 | 2 |",
                "- one\n\n  more of one\n- two",
                "End",
            ]
        );
        assert!(blocks("  \n\n").is_empty());
        let copyable: Vec<bool> = blocks(answer).iter().map(|b| is_copyable(b)).collect();
        assert_eq!(copyable, [false, true, true, false, false]);
    }

    #[test]
    fn streaming_more_text_never_changes_the_finished_blocks() {
        let answer = "One\n\n```\ncode\n\nmore\n```\n\n1. a\n\n   b\n2. c\n\nTwo ~~~ end";
        let whole = blocks(answer);
        for cut in (0..=answer.len()).filter(|i| answer.is_char_boundary(*i)) {
            let part = blocks(&answer[..cut]);
            let finished = part.len().saturating_sub(1);
            assert_eq!(part[..finished], whole[..finished], "cut at {cut}");
        }
    }

    #[test]
    fn renders_tables_and_emphasis() {
        let html = render("**Haaland** £14.5m\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<strong>Haaland</strong>"));
        assert!(html.contains("<table>"));
        assert!(html.contains("<td>2</td>"));
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = render("<script>alert(1)</script><img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn only_safe_link_targets_survive() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
        ] {
            let html = render(&format!("see [x]({bad}) now"));
            assert!(!html.to_lowercase().contains("href"), "{bad}: {html}");
            assert!(html.contains("see"), "{html}");
        }
        let html = render("[FPL](https://fantasy.premierleague.com) and [rel](/c/1?a=\"b\")");
        assert!(
            html.contains("href=\"https://fantasy.premierleague.com\""),
            "{html}"
        );
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
        assert!(html.contains("target=\"_blank\""), "{html}");
        assert!(
            !html.contains("\"b\""),
            "quotes in a URL are escaped: {html}"
        );
    }

    #[test]
    fn email_autolinks_are_mailto_links() {
        let html = render("write to <scout@example.com>");
        assert!(html.contains("href=\"mailto:scout@example.com\""), "{html}");
    }

    #[test]
    fn deep_quotes_are_flattened() {
        let html = render(&">".repeat(8_000));
        assert_eq!(html.matches("<blockquote>").count(), super::MAX_QUOTE_DEPTH);
        assert_eq!(
            html.matches("</blockquote>").count(),
            super::MAX_QUOTE_DEPTH
        );
    }

    #[test]
    fn images_become_links() {
        let html = render("![pixel](https://example.com/p.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/p.png\""),
            "{html}"
        );
    }

    /// The browser's layer ([`super::to_html`], never ammonia, whatever the crate's features)
    /// over adversarial Markdown and HTML, read back the way a browser tokenizes it.
    mod client_path {
        use super::super::{render, to_html};
        use html5ever::tokenizer::{
            BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
        };
        use html5ever::TokenizerResult;
        use proptest::prelude::*;
        use std::cell::RefCell;

        /// The tags the renderer builds (CommonMark, tables, strikethrough).
        const TAGS: &[&str] = &[
            "a",
            "blockquote",
            "br",
            "code",
            "del",
            "em",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "strong",
            "table",
            "tbody",
            "td",
            "th",
            "thead",
            "tr",
            "ul",
        ];
        /// The attributes it writes: links, code languages, list starts, table alignment.
        const ATTRIBUTES: &[&str] = &["href", "rel", "target", "class", "start", "style"];

        /// A start tag's name and its attributes (names lowercased, entities decoded).
        type StartTag = (String, Vec<(String, String)>);

        /// The start tags of a document, in order.
        struct StartTags(RefCell<Vec<StartTag>>);

        impl TokenSink for StartTags {
            type Handle = ();
            fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
                if let Token::TagToken(tag) = token {
                    if tag.kind == TagKind::StartTag {
                        let attrs = tag.attrs.iter();
                        let attrs = attrs.map(|a| (a.name.local.to_string(), a.value.to_string()));
                        self.0
                            .borrow_mut()
                            .push((tag.name.to_string(), attrs.collect()));
                    }
                }
                TokenSinkResult::Continue
            }
        }

        fn start_tags(html: &str) -> Vec<StartTag> {
            let input = BufferQueue::default();
            input.push_back(html.into());
            let tokenizer = Tokenizer::new(StartTags(RefCell::default()), Default::default());
            while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
            tokenizer.end();
            tokenizer.sink.0.take()
        }

        /// Whether a browser would run or load this URL as script or inline data: it drops
        /// leading and trailing controls and spaces and every tab and newline, ignores case.
        fn hostile_url(value: &str) -> bool {
            let url: String = value
                .trim_matches(|c: char| c <= ' ')
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect::<String>()
                .to_ascii_lowercase();
            ["javascript:", "data:", "vbscript:"]
                .iter()
                .any(|s| url.starts_with(s))
        }

        /// What makes this HTML unsafe in a page, if anything.
        fn unsafe_markup(html: &str) -> Option<String> {
            let lower = html.to_ascii_lowercase();
            if lower.contains("<script") || lower.contains("<iframe") {
                return Some("a <script or <iframe".into());
            }
            for (tag, attrs) in start_tags(html) {
                if !TAGS.contains(&tag.as_str()) {
                    return Some(format!("the tag <{tag}>"));
                }
                for (name, value) in attrs {
                    let bad = name.starts_with("on")
                        || !ATTRIBUTES.contains(&name.as_str())
                        || (name == "href" && hostile_url(&value))
                        || (name == "style" && !value.starts_with("text-align: "));
                    if bad {
                        return Some(format!("{name}={value:?} on <{tag}>"));
                    }
                }
            }
            None
        }

        /// A script or data URL, in mixed case, maybe with an entity-encoded letter, a
        /// whitespace/control character or entity inside, something before it, and an
        /// encoded colon.
        fn hostile_target() -> impl Strategy<Value = String> {
            let scheme = prop::sample::select(vec!["javascript", "data", "vbscript"]);
            let inside = prop::sample::select(vec![
                "",
                "\t",
                "\n",
                "\r",
                "\u{0}",
                "\u{1}",
                "\u{b}",
                " ",
                "&#9;",
                "&#x0A;",
                "&Tab;",
                "&NewLine;",
                "\\",
                "%09",
                "\u{ad}",
                "\u{200b}",
            ]);
            let before = prop::sample::select(vec!["", " ", "\u{1}", "\u{c}", "\u{a0}", "&#32;"]);
            let colon = prop::sample::select(vec![
                ":",
                "&colon;",
                "&#58;",
                "&#x3A;",
                "&#0000058;",
                "\\:",
                "%3A",
            ]);
            let payload = prop::sample::select(vec![
                "alert(1)",
                "text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
                "msgbox(1)",
                "//%0aalert(1)",
            ]);
            let edits = (any::<u16>(), 0..12usize, prop::option::of(0..12usize));
            (scheme, inside, before, colon, payload, edits).prop_map(
                |(scheme, inside, before, colon, payload, (case, at, entity))| {
                    let mut s = String::from(before);
                    for (i, c) in scheme.chars().enumerate() {
                        if i == at {
                            s.push_str(inside);
                        }
                        match ((case >> i) & 1 == 1, entity == Some(i)) {
                            (_, true) if i % 2 == 0 => s.push_str(&format!("&#{};", c as u32)),
                            (_, true) => s.push_str(&format!("&#x{:X};", c as u32)),
                            (true, false) => s.push(c.to_ascii_uppercase()),
                            (false, false) => s.push(c),
                        }
                    }
                    format!("{s}{colon}{payload}")
                },
            )
        }

        /// A target in every place Markdown (or raw HTML) takes one.
        fn link(target: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
            let place = prop::sample::select(vec![
                "[x](T)",
                "[x](<T>)",
                "[x](T \"t\")",
                "![x](T)",
                "<T>",
                "[x][r]\n\n[r]: T\n",
                "[r]\n\n[r]: <T>\n",
                "[x][]\n\n[x]: T 't'\n",
                "<a href=\"T\">x</a>",
                "<img src=T onerror=alert(1)>",
                "<iframe src='T'></iframe>",
                "[![i](T)](T)",
                "`[x](T)`",
                "<div>\n[x](T)\n</div>",
            ]);
            (place, target).prop_map(|(place, t)| place.replace('T', &t))
        }

        fn fragment() -> impl Strategy<Value = String> {
            let raw = prop::sample::select(vec![
                "<script>alert(1)</script>",
                "<ScRiPt src=//x>",
                "</script>",
                "<iframe>",
                "<img src=x onerror=alert(1)>",
                "<svg onload=alert(1)>",
                "<svg><script>",
                "<math><mi xlink:href=\"javascript:alert(1)\">",
                "<!-- ",
                " -->",
                "<![CDATA[",
                "<div>\n",
                "\n</div>\n",
                "<style>*{}</style>",
                "<a onclick=alert(1)>",
                "<p/onmouseover=alert(1)>",
                "<object data=x>",
                "<x y=\"",
                "\"",
                "'",
                "`",
                "```",
                "```html\n",
                "\n",
                "\n\n",
                "    ",
                "> ",
                ">>>> ",
                "* ",
                "1. ",
                "| a |",
                "|---|",
                "[",
                "]",
                "(",
                ")",
                "![",
                "<",
                ">",
                "&",
                ";",
                "#",
                ":",
                "=",
                "\\",
                "*",
                "_",
                "~~",
                "scout@example.com",
                "<scout@example.com>",
                "http://example.com",
                "/relative",
                "#frag",
                "mailto:a@b.c",
            ]);
            let benign = prop::sample::select(vec!["https://x.y/a?b=c#d", "/p", "mailto:a@b.c"]);
            prop_oneof![
                4 => raw.prop_map(String::from),
                3 => link(hostile_target()),
                1 => link(benign.prop_map(String::from)),
                1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn never_emits_script_handlers_or_script_urls(
                parts in prop::collection::vec(fragment(), 0..24)
            ) {
                let markdown = parts.concat();
                let html = to_html(&markdown);
                prop_assert_eq!(unsafe_markup(&html), None, "{:?} -> {}", markdown, html);
                let html = render(&markdown);
                prop_assert_eq!(unsafe_markup(&html), None, "{:?} -> {}", markdown, html);
            }
        }

        #[test]
        fn the_checker_sees_what_a_browser_would_run() {
            for html in [
                "<a href=\"&#106;ava&#x09;script&colon;alert(1)\">x</a>",
                "<a href=\" \u{1}JaVaScRiPt:x\">x</a>",
                "<a href=\"data:text/html,x\">x</a>",
                "<p onmouseover=x>",
                "<img src=x>",
                "<SCRIPT>",
                "<td style=\"background:url(x)\">",
            ] {
                assert!(unsafe_markup(html).is_some(), "{html}");
            }
            let safe = "<p><a href=\"https://x.y/a?b=c&amp;d\" rel=\"noopener\" target=\"_blank\">\
                        &lt;script&gt;</a></p><th style=\"text-align: left\">";
            assert_eq!(unsafe_markup(safe), None);
        }
    }
}
