//! `fpl_fixture_difficulty`: how hard a team's next N gameweeks are — or, with teamQuery
//! "all", every team ranked from the easiest run to the hardest.
//!
//! Promises: the run starts at the next gameweek; blank gameweeks (no match) and double
//! gameweeks (two or more) are named; the average FDR is over the matches actually played;
//! with a position, a second rating on the same 1-5 scale uses the opponents' attack
//! strength (GKP/DEF) or defence strength (MID/FWD); when the season is over the answer
//! says there are no upcoming fixtures.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fpl::model::{Position, Team};
use crate::fpl::{FixtureRun, FplData, FplSource};
use crate::tools::fpl::{is_all, raw_fixtures, resolve_team, unavailable, PositionInput};
use crate::tools::input::{check_query, check_range, ToolInput, MAX_QUERY_CHARS};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_fixture_difficulty";
pub const DESCRIPTION: &str = "Fixture difficulty (FDR 1 easy to 5 hard) of a team over its \
next N gameweeks, with the average, blank and double gameweeks and an optional \
position-specific rating. teamQuery \"all\" ranks every team from the easiest run to the \
hardest (who has the easiest fixtures).";

fn five() -> u32 {
    5
}

/// Input of `fpl_fixture_difficulty`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureDifficultyInput {
    /// Team name, short name or nickname; "all" ranks every team; at most 100 characters.
    #[schemars(length(max = MAX_QUERY_CHARS))]
    pub team_query: String,
    /// Number of upcoming gameweeks (1-38, default 5).
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 38))]
    pub range: u32,
    /// Rate the opponents for this position (attack strength for GKP/DEF, defence for MID/FWD).
    #[serde(default)]
    pub position: Option<PositionInput>,
    /// Append the raw FPL API fixture objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for FixtureDifficultyInput {
    fn validate(&self) -> Result<(), String> {
        check_query("teamQuery", &self.team_query)?;
        check_range("range", self.range, 1, 38)
    }
}

/// Opponent strength for a position on a 1-5 scale.
struct PositionRating {
    position: Position,
    min: f64,
    max: f64,
}

impl PositionRating {
    fn new(teams: &[Team], position: Position) -> Self {
        let values: Vec<f64> = teams
            .iter()
            .flat_map(|t| Self::pair(t, position))
            .flatten()
            .collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Self { position, min, max }
    }

    /// The opponent's (home, away) strength relevant to `position`.
    fn pair(t: &Team, position: Position) -> [Option<f64>; 2] {
        let (h, a) = match position {
            Position::Goalkeeper | Position::Defender => {
                (t.strength_attack_home, t.strength_attack_away)
            }
            Position::Midfielder | Position::Forward => {
                (t.strength_defence_home, t.strength_defence_away)
            }
        };
        [h.map(f64::from), a.map(f64::from)]
    }

    fn rate(&self, opponent: Option<&Team>, we_are_home: bool) -> Option<f64> {
        let [h, a] = Self::pair(opponent?, self.position);
        let v = if we_are_home { a? } else { h? };
        if self.max <= self.min || !self.max.is_finite() {
            return Some(3.0);
        }
        Some(1.0 + 4.0 * (v - self.min) / (self.max - self.min))
    }
}

/// One match of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunMatch {
    /// Opponent's short name.
    pub opponent: String,
    pub opponent_name: String,
    pub home: bool,
    /// FPL difficulty 1 (easy) to 5 (hard).
    pub difficulty: u8,
    /// The position rating of this opponent (1-5), with `position`.
    pub position_difficulty: Option<f64>,
    pub kickoff: Option<DateTime<Utc>>,
}

/// A team's matches in one gameweek of the run (none: a blank, two: a double).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunWeek {
    pub gameweek: u32,
    pub fixtures: Vec<RunMatch>,
}

/// One team's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamRun {
    /// Place from the easiest run (with teamQuery "all").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    pub team_id: u32,
    pub team: String,
    pub team_short: String,
    pub gameweeks: Vec<RunWeek>,
    pub fixture_count: usize,
    pub average_difficulty: Option<f64>,
    /// Mean position rating of the opponents (with `position`).
    pub position_average: Option<f64>,
    pub blank_gameweeks: Vec<u32>,
    pub double_gameweeks: Vec<u32>,
}

/// `fpl_fixture_difficulty`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DifficultyAnswer {
    /// No upcoming fixtures: the season is over.
    pub season_over: bool,
    pub gameweeks: Vec<u32>,
    pub position: Option<String>,
    /// One team, or every team from the easiest run.
    pub teams: Vec<TeamRun>,
    /// The raw FPL API fixture objects (one team, with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

fn team_run(d: &FplData, run: &FixtureRun, rating: Option<&PositionRating>) -> TeamRun {
    let mut pos_total = 0.0;
    let mut pos_count = 0usize;
    let gameweeks = run
        .gameweeks
        .iter()
        .map(|g| RunWeek {
            gameweek: g.gameweek,
            fixtures: g
                .fixtures
                .iter()
                .map(|f| {
                    let pr = rating.and_then(|r| r.rate(d.team(f.opponent), f.home));
                    if let Some(v) = pr {
                        pos_total += v;
                        pos_count += 1;
                    }
                    RunMatch {
                        opponent: f.opponent_short.clone(),
                        opponent_name: d.team_name(f.opponent).to_string(),
                        home: f.home,
                        difficulty: f.difficulty,
                        position_difficulty: pr.map(|v| (v * 10.0).round() / 10.0),
                        kickoff: f.kickoff,
                    }
                })
                .collect(),
        })
        .collect();
    TeamRun {
        rank: None,
        team_id: run.team,
        team: d.team_name(run.team).to_string(),
        team_short: d.team_short(run.team).to_string(),
        gameweeks,
        fixture_count: run.fixture_count,
        average_difficulty: run.average_difficulty.map(|v| (v * 100.0).round() / 100.0),
        position_average: (pos_count > 0)
            .then(|| ((pos_total / pos_count as f64) * 100.0).round() / 100.0),
        blank_gameweeks: run.blank_gameweeks.clone(),
        double_gameweeks: run.double_gameweeks.clone(),
    }
}

fn run_text(d: &FplData, run: &FixtureRun) -> String {
    run.gameweeks
        .iter()
        .map(|g| {
            if g.fixtures.is_empty() {
                format!("GW{} blank", g.gameweek)
            } else {
                let parts: Vec<String> = g
                    .fixtures
                    .iter()
                    .map(|f| {
                        format!(
                            "{} ({}) {}",
                            f.opponent_short,
                            if f.home { "H" } else { "A" },
                            f.difficulty
                        )
                    })
                    .collect();
                format!("GW{} {}", g.gameweek, parts.join(" + "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
        .replace("  ", " ")
        + &extras(d, run)
}

fn extras(_d: &FplData, run: &FixtureRun) -> String {
    let mut s = String::new();
    if !run.double_gameweeks.is_empty() {
        s.push_str(&format!(
            "; double gameweek{}: {}",
            if run.double_gameweeks.len() > 1 {
                "s"
            } else {
                ""
            },
            run.double_gameweeks
                .iter()
                .map(|g| format!("GW{g}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !run.blank_gameweeks.is_empty() {
        s.push_str(&format!(
            "; blank: {}",
            run.blank_gameweeks
                .iter()
                .map(|g| format!("GW{g}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

/// Run the tool.
pub async fn run(
    source: &FplSource,
    input: FixtureDifficultyInput,
) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let gws = d.upcoming_gameweeks(input.range);
    let position: Option<Position> = input.position.map(Into::into);
    let rating = position.map(|p| PositionRating::new(d.teams(), p));
    if gws.is_empty() {
        let text = "The season is over: there are no upcoming fixtures to rate. The next season's fixtures are not published in this data yet.";
        let answer = DifficultyAnswer {
            season_over: true,
            gameweeks: Vec::new(),
            position: None,
            teams: Vec::new(),
            raw: None,
        };
        return Ok(ToolOutput::typed(text, &answer));
    }
    let span = format!(
        "GW{}–GW{}",
        gws.first().copied().unwrap_or(0),
        gws.last().copied().unwrap_or(0)
    );

    if is_all(&input.team_query) {
        let mut runs: Vec<FixtureRun> = d
            .teams()
            .iter()
            .map(|t| d.fixture_run_over(t.id, &gws))
            .collect();
        runs.sort_by(|a, b| {
            let av = a.average_difficulty.unwrap_or(f64::INFINITY);
            let bv = b.average_difficulty.unwrap_or(f64::INFINITY);
            av.partial_cmp(&bv)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.fixture_count.cmp(&a.fixture_count))
                .then(d.team_name(a.team).cmp(d.team_name(b.team)))
        });
        let mut lines = vec![format!(
            "Fixture difficulty {span} ({} gameweeks), easiest first (average FDR):",
            gws.len()
        )];
        for (i, r) in runs.iter().enumerate() {
            lines.push(format!(
                "{}. {} {} — {}",
                i + 1,
                d.team_name(r.team),
                r.average_difficulty
                    .map(|v| format!("{v:.2}"))
                    .unwrap_or_else(|| "no matches".into()),
                run_text(&d, r)
            ));
        }
        let answer = DifficultyAnswer {
            season_over: false,
            gameweeks: gws,
            position: position.map(|p| p.short().to_string()),
            teams: runs
                .iter()
                .enumerate()
                .map(|(i, r)| TeamRun {
                    rank: Some(i + 1),
                    ..team_run(&d, r, rating.as_ref())
                })
                .collect(),
            raw: input
                .include_raw_data
                .then(|| json!("raw fixtures are only attached for a single team")),
        };
        return Ok(ToolOutput::typed(lines.join("\n"), &answer));
    }

    let team = match resolve_team(&d, &input.team_query) {
        Ok(t) => t,
        Err(out) => return Ok(out),
    };
    let run = d.fixture_run_over(team, &gws);
    let summary = team_run(&d, &run, rating.as_ref());
    let mut lines = vec![format!(
        "{} — next {} gameweeks ({span}): average FDR {} over {} match{}",
        d.team_name(team),
        gws.len(),
        run.average_difficulty
            .map(|v| format!("{v:.2}"))
            .unwrap_or_else(|| "n/a".into()),
        run.fixture_count,
        if run.fixture_count == 1 { "" } else { "es" }
    )];
    lines.push(run_text(&d, &run));
    if let (Some(p), Some(avg)) = (position, summary.position_average) {
        lines.push(format!(
            "For {}: opponent {} rating {:.2} on a 1-5 scale",
            p.plural(),
            match p {
                Position::Goalkeeper | Position::Defender => "attack",
                _ => "defence",
            },
            avg
        ));
    }
    let raw = input.include_raw_data.then(|| {
        let ids: Vec<u32> = run
            .gameweeks
            .iter()
            .flat_map(|g| g.fixtures.iter().map(|f| f.fixture_id))
            .collect();
        raw_fixtures(&d, &ids)
    });
    let answer = DifficultyAnswer {
        season_over: false,
        gameweeks: gws,
        position: position.map(|p| p.short().to_string()),
        teams: vec![summary],
        raw,
    };
    Ok(ToolOutput::typed(lines.join("\n"), &answer))
}
