//! Cost of rendering Markdown (`app::markdown::render_uncached`, `render` on a cache miss): is
//! it linear in the input, and how long do the longest realistic inputs take?
//!
//! `cargo bench -p app --bench markdown` times the browser's path (pulldown-cmark only);
//! `cargo bench -p app --bench markdown --features ssr` the server's (pulldown-cmark, then
//! ammonia). For each adversarial pattern (deep `>` nesting, `[` and `*` runs, …) it renders
//! 2,000, 4,000, 8,000 and 16,000 characters and prints the median time and the ratio of each
//! size to the one before (about 2 when linear); then a realistic 16 KB answer, and the same
//! answer rendered once per 16-byte delta as the browser does while it streams in.
//!
//! Prints timings only. Not a test: it asserts nothing.
use std::time::{Duration, Instant};

// Uncached: on the server `render` keeps each block, and a bench would time the cache.
use app::markdown::render_uncached as render;

/// Median time of `runs` renders of `input`.
fn median(input: &str, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(render(std::hint::black_box(input)));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// `unit` repeated to exactly `chars` characters.
fn pattern(unit: &str, chars: usize) -> String {
    unit.chars().cycle().take(chars).collect()
}

/// An assistant answer of about `bytes` bytes: headings, a table, lists, emphasis, links.
fn answer(bytes: usize) -> String {
    let section = "## Gameweek 8 picks\n\n\
        **Haaland** (£14.5m) has 9 goals in 7 gameweeks; *Salah* has 3. See \
        [the fixtures](https://fantasy.premierleague.com/fixtures) and `form`.\n\n\
        | Player | Team | Price | Form | Points |\n|---|---|--:|--:|--:|\n\
        | Haaland | MCI | 14.5 | 9.7 | 68 |\n| Salah | LIV | 13.0 | 5.1 | 41 |\n\
        | Palmer | CHE | 10.5 | 0.0 | 22 |\n\n\
        1. Captain Haaland against a leaky defence.\n\
        2. Keep Salah: > 3 fixtures of 5 are at home.\n   - bench *Wood* if Forest rotate\n\n\
        > Injury news: Palmer is out until GW9.\n\n";
    pattern(section, bytes)
}

fn main() {
    let patterns = [
        ("nested quotes  >>>>", ">"),
        ("brackets       [[[[", "["),
        ("stars          ****", "*"),
        ("star runs      *a**b", "*a**b_c__"),
        ("open links     [a](", "[a]("),
        ("images         ![![", "!["),
        ("backticks      ` ``", "` ``"),
        ("nested lists   - - ", "- "),
        ("table cells    |a|", "|a"),
        ("raw html       <a <", "<a <b "),
        ("entities       &#1;", "&#1;&amp"),
    ];
    println!("pattern                 2k µs    4k µs    8k µs   16k µs   (ratios)");
    for (name, unit) in patterns {
        let times: Vec<Duration> = [2_000, 4_000, 8_000, 16_000]
            .iter()
            .map(|&n| median(&pattern(unit, n), 15))
            .collect();
        let micros: Vec<String> = times
            .iter()
            .map(|t| format!("{:8}", t.as_micros()))
            .collect();
        let ratios: Vec<String> = times
            .windows(2)
            .map(|w| format!("{:.1}", w[1].as_secs_f64() / w[0].as_secs_f64().max(1e-9)))
            .collect();
        println!("{name} {}   ({})", micros.join(" "), ratios.join(", "));
    }
    let long = answer(16 * 1024);
    println!("16 KB answer: {} µs", median(&long, 31).as_micros());
    let start = Instant::now();
    let ends = (16..long.len()).step_by(16);
    for end in ends.filter(|&end| long.is_char_boundary(end)) {
        std::hint::black_box(render(&long[..end]));
    }
    println!(
        "16 KB answer streamed in 16-byte deltas, rendered after each ({} renders): {} ms",
        long.len() / 16,
        start.elapsed().as_millis()
    );
}
