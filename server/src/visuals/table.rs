//! A mini-league table with movement arrows and gaps, as a real HTML table (its own text
//! alternative).

use super::markup::esc;
use crate::tools::fpl::mini_league::MiniLeague;

/// The league's table.
pub fn league(id: &str, m: &MiniLeague) -> String {
    let mut rows = String::new();
    for r in &m.standings {
        let (arrow, class, label) = match r.movement {
            0 => ("●", "viz-same", "no change".to_string()),
            x if x > 0 => ("▲", "viz-up", format!("up {x}")),
            x => ("▼", "viz-down", format!("down {}", -x)),
        };
        let moved = if r.movement == 0 {
            String::new()
        } else {
            r.movement.abs().to_string()
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td class=\"{class}\"><span aria-hidden=\"true\">{arrow}</span>\
<span class=\"viz-sr\">{label}</span>{moved}</td><td>{}<span class=\"viz-sub\">{}</span></td>\
<td class=\"viz-num\">{}</td><td class=\"viz-num\"><strong>{}</strong></td><td class=\"viz-num\">{}</td></tr>",
            r.rank,
            esc(&r.team_name),
            esc(&r.manager),
            r.gameweek_points,
            r.total,
            if r.gap_to_leader == 0 {
                "–".to_string()
            } else {
                format!("−{}", r.gap_to_leader)
            }
        ));
    }
    format!(
        "<figure class=\"viz viz-league\" data-viz=\"league\" id=\"viz-{id}\">\
<table class=\"viz-table\"><caption class=\"viz-caption\">{} — {} teams{}</caption>\
<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Move</th><th scope=\"col\">Team</th>\
<th scope=\"col\">GW</th><th scope=\"col\">Total</th><th scope=\"col\">Gap</th></tr></thead>\
<tbody>{rows}</tbody></table></figure>",
        esc(&m.league.name),
        m.entries,
        if m.complete { "" } else { " (first pages)" }
    )
}
