//! Markdown to safe HTML, for every assistant message, on the server (SSR) and in the browser
//! (while an answer streams in).
//!
//! Safety comes in two layers. The renderer itself (pulldown-cmark, both sides) never emits
//! markup it did not build: raw HTML in the Markdown is shown as text, links keep only
//! `http`, `https`, `mailto` and relative targets and always get `rel="noopener noreferrer
//! nofollow"`, and images become links (no tracking pixels). On the server, ammonia then cleans
//! the result again, as defence in depth. The browser skips ammonia (its HTML parser would
//! double the WASM bundle); what it renders is only ever the first layer's output.
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html};

const LINK_REL: &str = "noopener noreferrer nofollow";

/// Renders Markdown (tables, strikethrough) to sanitized HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { dest_url, .. }) => Event::Html(open_link(&dest_url)),
        Event::Start(Tag::Image { dest_url, .. }) => Event::Html(open_link(&dest_url)),
        Event::End(TagEnd::Link | TagEnd::Image) => Event::Html("</a>".into()),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    #[cfg(feature = "ssr")]
    let out = ammonia::Builder::default()
        .link_rel(Some(LINK_REL))
        .add_tag_attributes("a", ["target"])
        .clean(&out)
        .to_string();
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

fn allowed(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // A colon before any '/', '?' or '#' is a scheme.
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::render;

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
    fn images_become_links() {
        let html = render("![pixel](https://example.com/p.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("href=\"https://example.com/p.png\""),
            "{html}"
        );
    }
}
