//! League table and team form, computed from finished fixtures.
//!
//! Promises: the table counts only matches with a final score (P W D L GF GA GD Pts, 3 points
//! a win, 1 a draw), sorted by points, then goal difference, then goals for, then name;
//! positions are 1-based. Form lists a team's last N results, oldest first. The API's own
//! `teams[].played/win/draw/loss/points` are always zero and are never used.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::fpl::model::{Fixture, Team};

/// Result of one match for one team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    W,
    D,
    L,
}

impl Outcome {
    /// League points for this result.
    pub fn points(self) -> u32 {
        match self {
            Outcome::W => 3,
            Outcome::D => 1,
            Outcome::L => 0,
        }
    }

    /// "W", "D" or "L".
    pub fn letter(self) -> &'static str {
        match self {
            Outcome::W => "W",
            Outcome::D => "D",
            Outcome::L => "L",
        }
    }
}

/// One finished match from one team's point of view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FormEntry {
    pub fixture_id: u32,
    pub gameweek: Option<u32>,
    pub kickoff: Option<DateTime<Utc>>,
    pub opponent: u32,
    pub home: bool,
    pub goals_for: u32,
    pub goals_against: u32,
    pub outcome: Outcome,
}

/// One row of the league table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableRow {
    pub position: u32,
    pub team: u32,
    pub name: String,
    pub short_name: String,
    pub played: u32,
    pub won: u32,
    pub drawn: u32,
    pub lost: u32,
    pub goals_for: u32,
    pub goals_against: u32,
    pub goal_difference: i32,
    pub points: u32,
    /// Last results, oldest first.
    pub form: Vec<Outcome>,
}

/// Every finished match of `team`, oldest first.
pub fn results_for(team: u32, fixtures: &[Fixture]) -> Vec<FormEntry> {
    let mut played: Vec<&Fixture> = fixtures
        .iter()
        .filter(|f| f.involves(team) && f.result().is_some())
        .collect();
    played.sort_by_key(|f| (f.kickoff_time, f.event, f.id));
    played
        .into_iter()
        .filter_map(|f| {
            let (h, a) = f.result()?;
            let home = f.team_h == team;
            let (gf, ga) = if home { (h, a) } else { (a, h) };
            Some(FormEntry {
                fixture_id: f.id,
                gameweek: f.event,
                kickoff: f.kickoff_time,
                opponent: f.opponent_of(team),
                home,
                goals_for: gf,
                goals_against: ga,
                outcome: outcome(gf, ga),
            })
        })
        .collect()
}

/// The last `n` results of `team`, oldest first.
pub fn team_form(team: u32, fixtures: &[Fixture], n: usize) -> Vec<FormEntry> {
    let all = results_for(team, fixtures);
    let skip = all.len().saturating_sub(n);
    all.into_iter().skip(skip).collect()
}

fn outcome(gf: u32, ga: u32) -> Outcome {
    match gf.cmp(&ga) {
        std::cmp::Ordering::Greater => Outcome::W,
        std::cmp::Ordering::Equal => Outcome::D,
        std::cmp::Ordering::Less => Outcome::L,
    }
}

/// The league table of `teams` from the finished `fixtures`, with the last `form_len` results.
pub fn league_table(teams: &[Team], fixtures: &[Fixture], form_len: usize) -> Vec<TableRow> {
    let mut rows: Vec<TableRow> = teams
        .iter()
        .map(|t| {
            let results = results_for(t.id, fixtures);
            let mut row = TableRow {
                position: 0,
                team: t.id,
                name: t.name.clone(),
                short_name: t.short_name.clone(),
                played: 0,
                won: 0,
                drawn: 0,
                lost: 0,
                goals_for: 0,
                goals_against: 0,
                goal_difference: 0,
                points: 0,
                form: Vec::new(),
            };
            for r in &results {
                row.played += 1;
                match r.outcome {
                    Outcome::W => row.won += 1,
                    Outcome::D => row.drawn += 1,
                    Outcome::L => row.lost += 1,
                }
                row.points += r.outcome.points();
                row.goals_for += r.goals_for;
                row.goals_against += r.goals_against;
            }
            row.goal_difference = row.goals_for as i32 - row.goals_against as i32;
            let skip = results.len().saturating_sub(form_len);
            row.form = results.iter().skip(skip).map(|r| r.outcome).collect();
            row
        })
        .collect();
    rows.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then(b.goal_difference.cmp(&a.goal_difference))
            .then(b.goals_for.cmp(&a.goals_for))
            .then(a.name.cmp(&b.name))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.position = i as u32 + 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(id: u32, name: &str) -> Team {
        serde_json::from_value(serde_json::json!({
            "id": id, "code": id, "name": name, "short_name": name[..3].to_uppercase(),
            "played": 0, "win": 0, "points": 0, "form": null
        }))
        .unwrap()
    }

    fn fx(id: u32, gw: u32, h: u32, a: u32, score: Option<(u32, u32)>) -> Fixture {
        serde_json::from_value(serde_json::json!({
            "id": id, "event": gw, "finished": score.is_some(),
            "kickoff_time": format!("2025-08-{:02}T15:00:00Z", gw + 10),
            "team_h": h, "team_a": a,
            "team_h_score": score.map(|s| s.0), "team_a_score": score.map(|s| s.1),
            "team_h_difficulty": 3, "team_a_difficulty": 2
        }))
        .unwrap()
    }

    #[test]
    fn table_counts_only_finished_and_sorts_by_points_gd_gf_name() {
        let teams = vec![
            team(1, "Alpha"),
            team(2, "Bravo"),
            team(3, "Charlie"),
            team(4, "Delta"),
        ];
        let fixtures = vec![
            fx(1, 1, 1, 2, Some((2, 0))),
            fx(2, 1, 3, 4, Some((1, 1))),
            fx(3, 2, 2, 3, Some((3, 1))),
            fx(4, 2, 4, 1, Some((0, 0))),
            fx(5, 3, 1, 3, None),
        ];
        let t = league_table(&teams, &fixtures, 5);
        let order: Vec<&str> = t.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(order, vec!["Alpha", "Bravo", "Delta", "Charlie"]);
        let alpha = &t[0];
        assert_eq!(
            (alpha.played, alpha.won, alpha.drawn, alpha.lost),
            (2, 1, 1, 0)
        );
        assert_eq!(
            (
                alpha.goals_for,
                alpha.goals_against,
                alpha.goal_difference,
                alpha.points
            ),
            (2, 0, 2, 4)
        );
        assert_eq!(alpha.form, vec![Outcome::W, Outcome::D]);
        let bravo = &t[1];
        assert_eq!(
            (bravo.points, bravo.goal_difference, bravo.goals_for),
            (3, 0, 3)
        );
        assert_eq!(t[3].position, 4);
    }

    #[test]
    fn form_is_last_n_oldest_first() {
        let fixtures = vec![
            fx(1, 1, 1, 2, Some((2, 0))),
            fx(2, 2, 3, 1, Some((1, 1))),
            fx(3, 3, 1, 4, Some((0, 1))),
        ];
        let f = team_form(1, &fixtures, 2);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].outcome, Outcome::D);
        assert!(!f[0].home);
        assert_eq!(f[1].outcome, Outcome::L);
        assert_eq!(
            (f[1].goals_for, f[1].goals_against, f[1].opponent),
            (0, 1, 4)
        );
    }
}
