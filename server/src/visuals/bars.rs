//! Bar charts: a captain score broken into its parts, and a player's points per gameweek.

use super::markup::{rect, svg_figure, text};
use crate::tools::fpl::captain_pick::CaptainPick;
use crate::tools::fpl::player::PlayerAnswer;

const W: f64 = 360.0;

/// The parts of a captain score, stacked: each segment's width is its share of the positive
/// parts, scaled to the final estimate (after minutes security and availability).
pub fn captain(id: &str, c: &CaptainPick) -> String {
    let label_w = 96.0;
    let bar_w = W - label_w - 40.0;
    let max = c
        .candidates
        .iter()
        .map(|x| x.outlook.expected_points)
        .fold(1.0_f64, f64::max);
    let names = ["form", "xGI", "fixture", "home", "penalties"];
    let mut body = String::new();
    let mut desc = Vec::new();
    for (i, x) in c.candidates.iter().enumerate() {
        let y = 26.0 + i as f64 * 28.0;
        let p = &x.outlook.parts;
        let parts = [
            p.form,
            p.expected_goal_involvement,
            p.fixture,
            p.home,
            p.penalties,
        ];
        let positive: f64 = parts.iter().filter(|v| **v > 0.0).sum();
        let scale = if positive > 0.0 {
            x.outlook.expected_points.max(0.0) / positive
        } else {
            0.0
        };
        body.push_str(&text(
            label_w - 6.0,
            y + 14.0,
            "viz-name",
            "end",
            &x.player.name,
        ));
        let mut left = label_w;
        for (k, v) in parts.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let w = v * scale / max * bar_w;
            body.push_str(&rect(
                left,
                y,
                w,
                20.0,
                2.0,
                &format!("viz-part viz-part-{k}"),
            ));
            left += w;
        }
        body.push_str(&text(
            left + 4.0,
            y + 14.0,
            "viz-pts",
            "start",
            &format!("{:.1}", x.outlook.expected_points),
        ));
        desc.push(format!(
            "{} {:.1}: {}",
            x.player.name,
            x.outlook.expected_points,
            p.text()
        ));
    }
    let legend_y = 26.0 + c.candidates.len() as f64 * 28.0 + 6.0;
    let mut lx = 8.0;
    for (k, n) in names.iter().enumerate() {
        body.push_str(&rect(
            lx,
            legend_y,
            10.0,
            10.0,
            2.0,
            &format!("viz-part viz-part-{k}"),
        ));
        body.push_str(&text(lx + 14.0, legend_y + 9.0, "viz-label", "start", n));
        lx += 14.0 + 7.0 * n.len() as f64 + 14.0;
    }
    let h = (legend_y + 20.0).ceil() as u32;
    body.insert_str(
        0,
        &text(8.0, 14.0, "viz-label", "start", "Expected points, by part"),
    );
    let title = format!("Captain candidates for gameweek {}", c.gameweek);
    svg_figure(
        "captain",
        id,
        (W as u32, h),
        &title,
        &desc.join("; "),
        &body,
    )
}

/// A player's points in his last gameweeks (`history` of `fpl_player_data`).
pub fn player_points(id: &str, v: &PlayerAnswer) -> Option<String> {
    let history = v.history.as_deref().filter(|h| !h.is_empty())?;
    let max = history.iter().map(|h| h.points).max().unwrap_or(1).max(1) as f64;
    let (top, chart_h) = (18.0, 90.0);
    let slot = W / history.len() as f64;
    let bar_w = (slot * 0.6).min(48.0);
    let base = top + chart_h;
    let mut body =
        format!("<line x1=\"0\" y1=\"{base:.1}\" x2=\"{W}\" y2=\"{base:.1}\" class=\"viz-axis\"/>");
    let mut desc = Vec::new();
    for (i, h) in history.iter().enumerate() {
        let p = h.points;
        let cx = slot * (i as f64 + 0.5);
        let bh = (f64::from(p.max(0)) / max * chart_h).max(if p == 0 { 0.0 } else { 2.0 });
        body.push_str(&rect(
            cx - bar_w / 2.0,
            base - bh,
            bar_w,
            bh,
            2.0,
            "viz-bar",
        ));
        body.push_str(&text(
            cx,
            base - bh - 4.0,
            "viz-pts",
            "middle",
            &p.to_string(),
        ));
        let opp = format!("{} ({})", h.opponent, if h.home { "H" } else { "A" });
        body.push_str(&text(
            cx,
            base + 14.0,
            "viz-label",
            "middle",
            &format!("GW{}", h.gameweek),
        ));
        body.push_str(&text(cx, base + 27.0, "viz-sub", "middle", &opp));
        desc.push(format!("gameweek {} against {opp}: {p} points", h.gameweek));
    }
    let title = format!(
        "{}: points in the last {} gameweeks",
        v.player.name,
        history.len()
    );
    Some(svg_figure(
        "bars",
        &format!("{id}-h"),
        (W as u32, (base + 34.0) as u32),
        &title,
        &desc.join("; "),
        &body,
    ))
}
