//! `fpl_fixture_difficulty`: how hard a team's next N gameweeks are — or, with teamQuery
//! "all", every team ranked from the easiest run to the hardest.
//!
//! Promises: the run starts at the next gameweek; blank gameweeks (no match) and double
//! gameweeks (two or more) are named; the average FDR is over the matches actually played;
//! with a position, a second rating on the same 1-5 scale uses the opponents' attack
//! strength (GKP/DEF) or defence strength (MID/FWD); when the season is over the answer
//! says there are no upcoming fixtures.

use schemars::JsonSchema;
use serde::Deserialize;
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

fn run_json(d: &FplData, run: &FixtureRun, rating: Option<&PositionRating>) -> Value {
    let mut pos_total = 0.0;
    let mut pos_count = 0usize;
    let gws: Vec<Value> = run
        .gameweeks
        .iter()
        .map(|g| {
            json!({
                "gameweek": g.gameweek,
                "fixtures": g.fixtures.iter().map(|f| {
                    let pr = rating.and_then(|r| r.rate(d.team(f.opponent), f.home));
                    if let Some(v) = pr { pos_total += v; pos_count += 1; }
                    json!({
                        "opponent": f.opponent_short,
                        "opponentName": d.team_name(f.opponent),
                        "home": f.home,
                        "difficulty": f.difficulty,
                        "positionDifficulty": pr.map(|v| (v * 10.0).round() / 10.0),
                        "kickoff": f.kickoff,
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "teamId": run.team,
        "team": d.team_name(run.team),
        "teamShort": d.team_short(run.team),
        "gameweeks": gws,
        "fixtureCount": run.fixture_count,
        "averageDifficulty": run.average_difficulty.map(|v| (v * 100.0).round() / 100.0),
        "positionAverage": (pos_count > 0).then(|| ((pos_total / pos_count as f64) * 100.0).round() / 100.0),
        "blankGameweeks": run.blank_gameweeks,
        "doubleGameweeks": run.double_gameweeks,
    })
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
        return Ok(ToolOutput::ok(
            text,
            json!({"seasonOver": true, "gameweeks": [], "teams": []}),
        ));
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
        let mut structured = json!({
            "seasonOver": false,
            "gameweeks": gws,
            "position": position.map(|p| p.short()),
            "teams": runs.iter().enumerate().map(|(i, r)| {
                let mut v = run_json(&d, r, rating.as_ref());
                v["rank"] = json!(i + 1);
                v
            }).collect::<Vec<_>>(),
        });
        if input.include_raw_data {
            structured["raw"] = json!("raw fixtures are only attached for a single team");
        }
        return Ok(ToolOutput::ok(lines.join("\n"), structured));
    }

    let team = match resolve_team(&d, &input.team_query) {
        Ok(t) => t,
        Err(out) => return Ok(out),
    };
    let run = d.fixture_run_over(team, &gws);
    let summary = run_json(&d, &run, rating.as_ref());
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
    if let (Some(p), Some(avg)) = (position, summary["positionAverage"].as_f64()) {
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
    let mut structured = json!({
        "seasonOver": false,
        "gameweeks": gws,
        "position": position.map(|p| p.short()),
        "teams": [summary],
    });
    if input.include_raw_data {
        let ids: Vec<u32> = run
            .gameweeks
            .iter()
            .flat_map(|g| g.fixtures.iter().map(|f| f.fixture_id))
            .collect();
        structured["raw"] = raw_fixtures(&d, &ids);
    }
    Ok(ToolOutput::ok(lines.join("\n"), structured))
}
