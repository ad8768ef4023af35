//! Escaping and the few markup pieces every picture uses.
//!
//! Promises: [`esc`] makes any text safe as HTML / SVG text or attribute value; [`id_safe`]
//! keeps only `[A-Za-z0-9_-]`, so an id built from a tool-use id cannot break out of an
//! attribute.

/// Text escaped for HTML and SVG (text and attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id fragment from any text.
pub fn id_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect()
}

/// `<figure>` around an SVG with its title and description (the text alternative).
pub fn svg_figure(
    kind: &str,
    id: &str,
    view_box: (u32, u32),
    title: &str,
    desc: &str,
    body: &str,
) -> String {
    format!(
        "<figure class=\"viz viz-{kind}\" data-viz=\"{kind}\">\
<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"viz-{id}-t viz-{id}-d\" \
xmlns=\"http://www.w3.org/2000/svg\" class=\"viz-svg\">\
<title id=\"viz-{id}-t\">{t}</title><desc id=\"viz-{id}-d\">{d}</desc>{body}</svg>\
<figcaption class=\"viz-caption\">{t}</figcaption></figure>",
        w = view_box.0,
        h = view_box.1,
        t = esc(title),
        d = esc(desc),
    )
}

/// An SVG text element.
pub fn text(x: f64, y: f64, class: &str, anchor: &str, s: &str) -> String {
    format!(
        "<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"{class}\" text-anchor=\"{anchor}\">{}</text>",
        esc(s)
    )
}

/// An SVG rectangle.
pub fn rect(x: f64, y: f64, w: f64, h: f64, rx: f64, class: &str) -> String {
    format!(
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{rx:.1}\" class=\"{class}\"/>"
    )
}
