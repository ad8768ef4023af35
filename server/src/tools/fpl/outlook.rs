//! A player's outlook over coming gameweeks: a transparent points estimate whose every part
//! is shown, shared by the captaincy and transfer tools.
//!
//! Per match: `form × 0.5 + xGI per 90 × 4 + (3 − FDR) × 0.75 + 0.4 at home + 0.6 for the
//! first-choice penalty taker`, times minutes security (starts ÷ his club's matches so far,
//! at most 1) and availability (the chance of playing next round, 0 when injured or
//! suspended without one); summed over every match in the gameweeks (a double gameweek
//! counts twice, a blank adds nothing).
//!
//! Promises: the estimate is exactly the weighted sum of the parts it reports; no part uses
//! data from after now; the weights are the constants below, nothing hidden.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::model::{Element, PlayerStatus};
use crate::fpl::FplData;
use crate::tools::fpl::typed::round2;

/// Weight of form (points per match over the last 30 days).
pub const FORM_WEIGHT: f64 = 0.5;
/// Weight of expected goal involvements per 90 minutes.
pub const XGI_WEIGHT: f64 = 4.0;
/// Points per step of fixture difficulty below 3 (above 3 takes them away).
pub const FIXTURE_WEIGHT: f64 = 0.75;
/// Bonus of a home match.
pub const HOME_BONUS: f64 = 0.4;
/// Bonus of being the club's first-choice penalty taker.
pub const PENALTY_BONUS: f64 = 0.6;

/// The formula, for answers.
pub const METHOD: &str = "per match: form × 0.5 + xGI/90 × 4 + (3 − FDR) × 0.75 + 0.4 at home \
+ 0.6 for the first-choice penalty taker, × minutes security (starts ÷ club matches) × \
chance of playing; summed over the matches in the gameweeks";

/// One match in the outlook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchOutlook {
    pub gameweek: u32,
    /// Opponent's short name.
    pub opponent: String,
    pub home: bool,
    /// FPL difficulty 1 (easy) to 5 (hard).
    pub difficulty: u8,
}

/// The parts of a player's estimate, summed over his matches (before the multipliers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutlookParts {
    pub form: f64,
    pub expected_goal_involvement: f64,
    pub fixture: f64,
    pub home: f64,
    pub penalties: f64,
    /// Multiplier 0-1: starts ÷ his club's matches so far.
    pub minutes_security: f64,
    /// Multiplier 0-1: chance of playing.
    pub availability: f64,
}

/// A player's outlook over some gameweeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outlook {
    /// The estimate: (sum of the parts) × minutes security × availability.
    pub expected_points: f64,
    pub parts: OutlookParts,
    pub matches: Vec<MatchOutlook>,
    /// Inputs as read: form, xGI per 90.
    pub form_value: f64,
    pub xgi_per90: f64,
    pub penalty_taker: bool,
}

impl OutlookParts {
    /// "form 5.75 + xGI 5.00 + fixture 0.75 + home 0.40 + penalties 0.60, × minutes 1.00 ×
    /// availability 1.00": the sum the estimate is, in words.
    pub fn text(&self) -> String {
        format!(
            "form {:.2} + xGI {:.2} + fixture {:.2} + home {:.2} + penalties {:.2}, × minutes {:.2} × availability {:.2}",
            self.form,
            self.expected_goal_involvement,
            self.fixture,
            self.home,
            self.penalties,
            self.minutes_security,
            self.availability
        )
    }
}

/// Chance of playing, 0-1.
pub fn availability(e: &Element) -> f64 {
    match (e.chance_of_playing_next_round, e.status) {
        (Some(c), _) => f64::from(c) / 100.0,
        (None, PlayerStatus::Available) => 1.0,
        (None, PlayerStatus::Doubtful) => 0.5,
        (None, _) => 0.0,
    }
}

/// Starts ÷ his club's finished matches (1 before any match).
pub fn minutes_security(d: &FplData, e: &Element) -> f64 {
    let played = d
        .fixtures()
        .iter()
        .filter(|f| f.involves(e.team) && f.result().is_some())
        .count();
    if played == 0 {
        1.0
    } else {
        (f64::from(e.starts.max(0) as u32) / played as f64).min(1.0)
    }
}

/// The outlook of `e` over `gameweeks`.
pub fn outlook(d: &FplData, e: &Element, gameweeks: &[u32]) -> Outlook {
    let run = d.fixture_run_over(e.team, gameweeks);
    let matches: Vec<MatchOutlook> = run
        .gameweeks
        .iter()
        .flat_map(|g| {
            g.fixtures.iter().map(|f| MatchOutlook {
                gameweek: g.gameweek,
                opponent: f.opponent_short.clone(),
                home: f.home,
                difficulty: f.difficulty,
            })
        })
        .collect();
    let n = matches.len() as f64;
    let xgi_per90 = if e.minutes > 0 {
        e.expected_goal_involvements * 90.0 / f64::from(e.minutes)
    } else {
        0.0
    };
    let penalty_taker = e.penalties_order == Some(1);
    let parts = OutlookParts {
        form: round2(n * FORM_WEIGHT * e.form),
        expected_goal_involvement: round2(n * XGI_WEIGHT * xgi_per90),
        fixture: round2(
            matches
                .iter()
                .map(|m| (3.0 - f64::from(m.difficulty)) * FIXTURE_WEIGHT)
                .sum(),
        ),
        home: round2(matches.iter().filter(|m| m.home).count() as f64 * HOME_BONUS),
        penalties: if penalty_taker {
            round2(n * PENALTY_BONUS)
        } else {
            0.0
        },
        minutes_security: round2(minutes_security(d, e)),
        availability: round2(availability(e)),
    };
    let sum =
        parts.form + parts.expected_goal_involvement + parts.fixture + parts.home + parts.penalties;
    Outlook {
        expected_points: round2(sum * parts.minutes_security * parts.availability),
        parts,
        matches,
        form_value: e.form,
        xgi_per90: round2(xgi_per90),
        penalty_taker,
    }
}

/// "BUR (H, 2), WOL (A, 2)".
pub fn matches_text(m: &[MatchOutlook]) -> String {
    if m.is_empty() {
        return "no match".to_string();
    }
    m.iter()
        .map(|x| {
            format!(
                "{} ({}, {})",
                x.opponent,
                if x.home { "H" } else { "A" },
                x.difficulty
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use crate::fpl::FplSource;

    #[tokio::test]
    async fn the_estimate_is_the_weighted_sum_of_its_parts() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let d = source.data().await.unwrap();
        let haaland = d.player(430).unwrap();
        let o = outlook(&d, haaland, &[8]);
        assert_eq!(o.matches.len(), 1);
        let m = &o.matches[0];
        let xgi90 = haaland.expected_goal_involvements * 90.0 / f64::from(haaland.minutes);
        let expected = (0.5 * haaland.form
            + 4.0 * xgi90
            + (3.0 - f64::from(m.difficulty)) * 0.75
            + if m.home { 0.4 } else { 0.0 }
            + 0.6)
            * o.parts.minutes_security
            * o.parts.availability;
        assert!((o.expected_points - expected).abs() < 0.05, "{o:?}");
        assert!(o.penalty_taker);
        // Two gameweeks: two matches, about twice the estimate.
        let two = outlook(&d, haaland, &[8, 9]);
        assert_eq!(two.matches.len(), 2);
        assert!(two.expected_points > o.expected_points);
        // An injured player without a chance figure is out.
        let out = d.players().iter().find(|e| {
            e.status == PlayerStatus::Injured && e.chance_of_playing_next_round.is_none()
        });
        if let Some(e) = out {
            assert_eq!(outlook(&d, e, &[8]).expected_points, 0.0);
        }
    }
}
