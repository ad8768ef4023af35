//! Markdown to safe HTML: pulldown-cmark renders, ammonia sanitizes. Used for every assistant
//! message, on the server (SSR) and in the browser (while a answer streams in), so the page
//! never contains markup that a model, a tool or a user could inject.
use pulldown_cmark::{html, Options, Parser};

/// Renders Markdown (tables, strikethrough) to sanitized HTML. Links open in a new tab with
/// `rel="noopener noreferrer nofollow"`; scripts, event handlers and `javascript:` URLs are
/// removed.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let parser = Parser::new_ext(markdown, options);
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(&unsafe_html)
        .to_string()
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
    fn strips_scripts_handlers_and_js_urls() {
        let html = render("<script>alert(1)</script><img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        let link = render("see [x](javascript:alert(1)) now");
        assert!(link.contains("see"), "{link}");
        assert!(!link.contains("href=\"javascript:"), "{link}");
    }

    #[test]
    fn links_are_safe_to_follow() {
        let html = render("[FPL](https://fantasy.premierleague.com)");
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
        assert!(html.contains("target=\"_blank\""));
    }
}
