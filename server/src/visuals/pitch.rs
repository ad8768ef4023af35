//! A squad on a pitch: goalkeeper, defenders, midfielders and forwards in rows, captain and
//! vice marked, points on each shirt, automatic substitutions flagged, the bench below.

use super::markup::{rect, svg_figure, text};
use crate::tools::fpl::dream_team::DreamTeam;
use crate::tools::fpl::manager_team::{SquadPlayer, SquadScore};

const W: f64 = 360.0;
const CHIP_W: f64 = 64.0;
const CHIP_H: f64 = 38.0;
const ROW: f64 = 58.0;

/// One shirt: name, points, a badge ("C", "V", "↑") and a class for its state.
struct Shirt<'a> {
    name: &'a str,
    points: i32,
    badge: Option<&'a str>,
    class: &'a str,
}

fn short(name: &str) -> String {
    if name.chars().count() <= 10 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(9).collect::<String>())
    }
}

fn row(y: f64, shirts: &[Shirt]) -> String {
    let n = shirts.len().max(1) as f64;
    let gap = W / n;
    let mut out = String::new();
    for (i, s) in shirts.iter().enumerate() {
        let cx = gap * (i as f64 + 0.5);
        let x = cx - CHIP_W / 2.0;
        out.push_str(&rect(x, y, CHIP_W, CHIP_H, 6.0, s.class));
        out.push_str(&text(cx, y + 15.0, "viz-name", "middle", &short(s.name)));
        out.push_str(&text(
            cx,
            y + 31.0,
            "viz-pts",
            "middle",
            &s.points.to_string(),
        ));
        if let Some(b) = s.badge {
            out.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"8\" class=\"viz-badge\"/>",
                x + CHIP_W - 2.0,
                y + 2.0
            ));
            out.push_str(&text(
                x + CHIP_W - 2.0,
                y + 5.5,
                "viz-badge-text",
                "middle",
                b,
            ));
        }
    }
    out
}

fn shirt(p: &SquadPlayer) -> Shirt<'_> {
    let badge = if p.is_captain {
        Some("C")
    } else if p.is_vice_captain {
        Some("V")
    } else if p.auto_sub.as_deref() == Some("in") {
        Some("↑")
    } else {
        None
    };
    let class = match (p.status.as_str(), p.auto_sub.as_deref()) {
        (_, Some("in")) => "viz-chip viz-chip-sub",
        ("did_not_play", _) => "viz-chip viz-chip-out",
        ("pending", _) => "viz-chip viz-chip-pending",
        _ => "viz-chip",
    };
    Shirt {
        name: &p.player.name,
        points: p.contribution,
        badge,
        class,
    }
}

fn lines<'a>(players: impl Iterator<Item = (&'a str, Shirt<'a>)>) -> Vec<Vec<Shirt<'a>>> {
    let mut rows: Vec<Vec<Shirt>> = (0..4).map(|_| Vec::new()).collect();
    for (pos, s) in players {
        let i = match pos {
            "GKP" => 0,
            "DEF" => 1,
            "MID" => 2,
            _ => 3,
        };
        rows[i].push(s);
    }
    rows
}

fn pitch(rows: &[Vec<Shirt>], bench: &[Shirt]) -> (String, u32) {
    let pitch_h = 12.0 + ROW * 4.0;
    let mut body = rect(0.0, 0.0, W, pitch_h, 10.0, "viz-pitch-bg");
    body.push_str(&format!(
        "<line x1=\"0\" y1=\"{:.1}\" x2=\"{W}\" y2=\"{:.1}\" class=\"viz-pitch-line\"/>",
        pitch_h / 2.0,
        pitch_h / 2.0
    ));
    for (i, r) in rows.iter().enumerate() {
        body.push_str(&row(10.0 + ROW * i as f64, r));
    }
    let mut h = pitch_h;
    if !bench.is_empty() {
        body.push_str(&rect(0.0, h + 8.0, W, CHIP_H + 26.0, 10.0, "viz-bench-bg"));
        body.push_str(&text(8.0, h + 21.0, "viz-label", "start", "Bench"));
        body.push_str(&row(h + 26.0, bench));
        h += CHIP_H + 36.0;
    }
    (body, h.ceil() as u32)
}

fn describe(p: &SquadPlayer) -> String {
    let mut s = format!("{} {}", p.player.name, p.contribution);
    if p.is_captain {
        s.push_str(" (captain)");
    } else if p.is_vice_captain {
        s.push_str(" (vice-captain)");
    }
    if p.auto_sub.as_deref() == Some("in") {
        s.push_str(" (automatic substitute)");
    }
    s
}

/// A manager's squad.
pub fn squad(id: &str, team_name: &str, s: &SquadScore) -> String {
    let rows = lines(
        s.starting
            .iter()
            .map(|p| (p.player.position.as_str(), shirt(p))),
    );
    let bench: Vec<Shirt> = s.bench.iter().map(shirt).collect();
    let (body, h) = pitch(&rows, &bench);
    let title = format!(
        "{team_name}, gameweek {}: {} points{} ({})",
        s.gameweek,
        s.net_points,
        if s.live { " so far" } else { "" },
        s.formation
    );
    let desc = format!(
        "Starting XI: {}. Bench: {}.",
        s.starting
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(", "),
        s.bench.iter().map(describe).collect::<Vec<_>>().join(", ")
    );
    svg_figure("pitch", id, (W as u32, h), &title, &desc, &body)
}

/// A dream team.
pub fn dream_team(id: &str, t: &DreamTeam) -> String {
    let top = t.top_player.as_ref().map(|p| p.player.id);
    let rows = lines(t.players.iter().map(|p| {
        (
            p.player.position.as_str(),
            Shirt {
                name: &p.player.name,
                points: p.points,
                badge: (Some(p.player.id) == top).then_some("★"),
                class: "viz-chip",
            },
        )
    }));
    let (body, h) = pitch(&rows, &[]);
    let title = match t.gameweek {
        Some(g) => format!(
            "Gameweek {g} dream team: {} points ({})",
            t.total_points, t.formation
        ),
        None => format!(
            "Season dream team: {} points ({})",
            t.total_points, t.formation
        ),
    };
    let desc = t
        .players
        .iter()
        .map(|p| format!("{} ({}) {}", p.player.name, p.player.position, p.points))
        .collect::<Vec<_>>()
        .join(", ");
    svg_figure("pitch", id, (W as u32, h), &title, &desc, &body)
}
