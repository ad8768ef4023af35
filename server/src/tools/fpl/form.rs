//! `fpl_form_analysis`: recent form of a player (from per-gameweek history) or a team (from
//! results), optionally against the window before; "all" or a position ranks players by
//! FPL form.
//!
//! Promises: a player's window is the last N gameweeks up to the current one (a double
//! gameweek counts both matches, a blank counts nothing); `compareWithPrevious` uses the N
//! gameweeks before that; a team's window is its last N finished matches. When the source
//! has no per-gameweek history, the answer says so and falls back to FPL's own form figure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fpl::league::{results_for, FormEntry};
use crate::fpl::model::{Element, History, Position};
use crate::fpl::{FplData, FplSource};
use crate::tools::fpl::team::FormMatch;
use crate::tools::fpl::typed::PlayerBrief;
use crate::tools::fpl::{
    dec1, dec2, is_all, raw_players, resolve_player, resolve_team, unavailable, PlayerView,
};
use crate::tools::input::{check_items, check_query, check_range, ToolInput, MAX_QUERY_CHARS};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_form_analysis";
pub const DESCRIPTION: &str = "Recent form of an FPL player (points, minutes, goals, assists, \
xG, xA, bonus over the last N gameweeks) or a team (results, goals for/against over the last N \
matches), optionally compared with the N before. entityQuery \"all\" (or a position: GKP, DEF, \
MID, FWD) with entityType player lists the players in the best form.";

/// Player or team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntityType {
    Player,
    Team,
}

/// A metric to focus on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Points,
    Minutes,
    Goals,
    Assists,
    Xg,
    Xa,
    Bonus,
    CleanSheets,
    GoalsConceded,
    Saves,
    Bps,
}

/// Most metrics in `metricFocus`: each of the eleven once.
const MAX_METRICS: usize = 11;

fn five() -> u32 {
    5
}

/// Input of `fpl_form_analysis`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormAnalysisInput {
    /// Analyse a player or a team.
    pub entity_type: EntityType,
    /// Player or team name; for players also "all" or a position (GKP, DEF, MID, FWD) for a
    /// ranking; at most 100 characters.
    #[schemars(length(max = MAX_QUERY_CHARS))]
    pub entity_query: String,
    /// Number of recent gameweeks (players) or matches (teams), 1-38, default 5.
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 38))]
    pub timeframe: u32,
    /// Metrics to show (default: points, minutes, goals, assists, xg, xa, bonus); at most 11.
    #[serde(default)]
    #[schemars(length(max = MAX_METRICS))]
    pub metric_focus: Option<Vec<Metric>>,
    /// Also analyse the window before and show the change.
    #[serde(default)]
    pub compare_with_previous: bool,
    /// Append the raw FPL API objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for FormAnalysisInput {
    fn validate(&self) -> Result<(), String> {
        check_query("entityQuery", &self.entity_query)?;
        if let Some(metrics) = &self.metric_focus {
            check_items("metricFocus", metrics, MAX_METRICS)?;
        }
        check_range("timeframe", self.timeframe, 1, 38)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    matches: u32,
    points: i32,
    minutes: i32,
    goals: i32,
    assists: i32,
    xg: f64,
    xa: f64,
    bonus: i32,
    clean_sheets: i32,
    goals_conceded: i32,
    saves: i32,
    bps: i32,
}

impl Totals {
    fn of<'a>(rows: impl Iterator<Item = &'a History>) -> Self {
        let mut t = Totals::default();
        for h in rows {
            t.matches += 1;
            t.points += h.total_points;
            t.minutes += h.minutes;
            t.goals += h.goals_scored;
            t.assists += h.assists;
            t.xg += h.expected_goals;
            t.xa += h.expected_assists;
            t.bonus += h.bonus;
            t.clean_sheets += h.clean_sheets;
            t.goals_conceded += h.goals_conceded;
            t.saves += h.saves;
            t.bps += h.bps;
        }
        t
    }

    fn view(&self, gameweeks: u32) -> PeriodTotals {
        PeriodTotals {
            gameweeks,
            matches: self.matches,
            points: self.points,
            points_per_gameweek: if gameweeks > 0 {
                (f64::from(self.points) / f64::from(gameweeks) * 100.0).round() / 100.0
            } else {
                0.0
            },
            minutes: self.minutes,
            goals: self.goals,
            assists: self.assists,
            xg: (self.xg * 100.0).round() / 100.0,
            xa: (self.xa * 100.0).round() / 100.0,
            bonus: self.bonus,
            clean_sheets: self.clean_sheets,
            goals_conceded: self.goals_conceded,
            saves: self.saves,
            bps: self.bps,
        }
    }

    fn text(&self, metrics: &[Metric]) -> String {
        let mut parts = vec![format!("{} pts", self.points)];
        for m in metrics {
            let s = match m {
                Metric::Points => continue,
                Metric::Minutes => format!("{} min", self.minutes),
                Metric::Goals => format!("{} goals", self.goals),
                Metric::Assists => format!("{} assists", self.assists),
                Metric::Xg => format!("xG {}", dec2(self.xg)),
                Metric::Xa => format!("xA {}", dec2(self.xa)),
                Metric::Bonus => format!("{} bonus", self.bonus),
                Metric::CleanSheets => format!("{} clean sheets", self.clean_sheets),
                Metric::GoalsConceded => format!("{} conceded", self.goals_conceded),
                Metric::Saves => format!("{} saves", self.saves),
                Metric::Bps => format!("{} BPS", self.bps),
            };
            parts.push(s);
        }
        parts.join(", ")
    }
}

const DEFAULT_METRICS: [Metric; 7] = [
    Metric::Points,
    Metric::Minutes,
    Metric::Goals,
    Metric::Assists,
    Metric::Xg,
    Metric::Xa,
    Metric::Bonus,
];

/// Run the tool.
pub async fn run(source: &FplSource, input: FormAnalysisInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    match input.entity_type {
        EntityType::Team => Ok(team_form(&d, &input)),
        EntityType::Player => {
            let q = input.entity_query.trim();
            if is_all(q) {
                return Ok(ranking(&d, None, input.include_raw_data));
            }
            if let Ok(p) = q.parse::<Position>() {
                if q.parse::<u32>().is_err() {
                    return Ok(ranking(&d, Some(p), input.include_raw_data));
                }
            }
            let e = match resolve_player(&d, q, |_| true) {
                Ok(e) => e,
                Err(out) => return Ok(out),
            };
            player_form(source, &d, e, &input).await
        }
    }
}

/// A player's totals over some gameweeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodTotals {
    pub gameweeks: u32,
    pub matches: u32,
    pub points: i32,
    pub points_per_gameweek: f64,
    pub minutes: i32,
    pub goals: i32,
    pub assists: i32,
    pub xg: f64,
    pub xa: f64,
    pub bonus: i32,
    pub clean_sheets: i32,
    pub goals_conceded: i32,
    pub saves: i32,
    pub bps: i32,
}

/// A span of gameweeks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Window {
    pub from: u32,
    pub to: u32,
}

/// One gameweek of a player's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FormGameweek {
    pub gameweek: u32,
    pub opponent: String,
    pub home: bool,
    pub points: i32,
    pub minutes: i32,
    pub goals: i32,
    pub assists: i32,
    pub xg: f64,
    pub xa: f64,
    pub bonus: i32,
}

/// A player's season totals (when the per-gameweek history is not in the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeasonTotals {
    pub points: i32,
    pub goals: i32,
    pub assists: i32,
    pub minutes: i32,
}

/// A player's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlayerForm {
    pub player: PlayerView,
    /// The game's form figure: points per match over the last 30 days.
    pub fpl_form: f64,
    pub history_available: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<SeasonTotals>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<PeriodTotals>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gameweeks: Option<Vec<FormGameweek>>,
    /// The window before (with `compareWithPrevious`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PeriodTotals>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_window: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_change: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_history: Option<Value>,
}

/// A club, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TeamTag {
    pub id: u32,
    pub name: String,
    pub short: String,
}

/// A club's record over some matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchRecord {
    pub matches: usize,
    pub won: u32,
    pub drawn: u32,
    pub lost: u32,
    pub goals_for: u32,
    pub goals_against: u32,
    pub points: u32,
}

/// A club's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TeamFormAnswer {
    pub team: TeamTag,
    pub current: MatchRecord,
    /// The matches, oldest first.
    pub results: Vec<FormMatch>,
    /// The matches before (with `compareWithPrevious`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<MatchRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// A player in the form ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RankedForm {
    #[serde(flatten)]
    pub player: PlayerBrief,
    pub rank: usize,
    pub form: f64,
    pub total_points: i32,
}

/// The players in best form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FormRanking {
    pub ranking: Vec<RankedForm>,
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// `fpl_form_analysis`' answer: a ranking, one player's form or one club's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FormAnswer {
    Ranking(FormRanking),
    Player(Box<PlayerForm>),
    Team(TeamFormAnswer),
}

fn ranking(d: &FplData, position: Option<Position>, raw: bool) -> ToolOutput {
    let mut v: Vec<&Element> = d
        .players()
        .iter()
        .filter(|e| position.is_none_or(|p| e.element_type == p) && e.minutes > 0)
        .collect();
    v.sort_by(|a, b| {
        b.form
            .partial_cmp(&a.form)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.total_points.cmp(&a.total_points))
    });
    v.truncate(10);
    let scope = position.map(|p| p.plural()).unwrap_or("players");
    let mut lines = vec![format!(
        "In-form {scope} (FPL form = average points per match over the last 30 days):"
    )];
    for (i, e) in v.iter().enumerate() {
        lines.push(format!(
            "{}. {} ({}, {}, {}) form {} — {} pts this season",
            i + 1,
            e.web_name,
            d.team_short(e.team),
            e.element_type,
            e.now_cost,
            dec1(e.form),
            e.total_points
        ));
    }
    let answer = FormRanking {
        ranking: v
            .iter()
            .enumerate()
            .map(|(i, e)| RankedForm {
                player: PlayerBrief::of(d, e),
                rank: i + 1,
                form: e.form,
                total_points: e.total_points,
            })
            .collect(),
        position: position.map(|p| p.short().to_string()),
        raw: raw.then(|| {
            let ids: Vec<u32> = v.iter().map(|e| e.id).collect();
            raw_players(d, &ids)
        }),
    };
    ToolOutput::typed(lines.join("\n"), &FormAnswer::Ranking(answer))
}

async fn player_form(
    source: &FplSource,
    d: &FplData,
    e: &Element,
    input: &FormAnalysisInput,
) -> Result<ToolOutput, ToolError> {
    let n = input.timeframe;
    let metrics: Vec<Metric> = input
        .metric_focus
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| DEFAULT_METRICS.to_vec());
    let end = d
        .current_event()
        .or_else(|| d.last_finished_event())
        .map(|e| e.id)
        .unwrap_or(0);
    let head = format!(
        "{} ({}, {}, {})",
        e.web_name,
        d.team_short(e.team),
        e.element_type,
        e.now_cost
    );
    let mut answer = PlayerForm {
        player: PlayerView::of(d, e),
        fpl_form: e.form,
        history_available: true,
        season: None,
        window: None,
        current: None,
        gameweeks: None,
        previous: None,
        previous_window: None,
        points_change: None,
        raw: None,
        raw_history: None,
    };
    let summary = match source.element_summary(e.id).await {
        Ok(s) => s,
        Err(err) if err.is_not_available() => {
            let text = format!(
                "{head}: per-gameweek history is not available in this data snapshot, so the last {n} gameweeks cannot be broken down. FPL form (average points per match over the last 30 days): {}. Season: {} pts, {} goals, {} assists in {} min.",
                dec1(e.form), e.total_points, e.goals_scored, e.assists, e.minutes
            );
            answer.history_available = false;
            answer.season = Some(SeasonTotals {
                points: e.total_points,
                goals: e.goals_scored,
                assists: e.assists,
                minutes: e.minutes,
            });
            return Ok(ToolOutput::typed(
                text,
                &FormAnswer::Player(Box::new(answer)),
            ));
        }
        Err(err) => return Err(unavailable(err)),
    };
    let window = |from: u32, to: u32| {
        summary
            .history
            .iter()
            .filter(move |h| h.round >= from && h.round <= to)
    };
    let from = end.saturating_sub(n - 1).max(1);
    let gws_in_window = if end == 0 { 0 } else { end - from + 1 };
    let cur = Totals::of(window(from, end));
    let mut lines = vec![format!(
        "{head} — last {gws_in_window} gameweeks (GW{from}–GW{end}): {} ({} per gameweek)",
        cur.text(&metrics),
        dec1(if gws_in_window > 0 {
            f64::from(cur.points) / f64::from(gws_in_window)
        } else {
            0.0
        })
    )];
    let per_gw: Vec<FormGameweek> = window(from, end)
        .map(|h| FormGameweek {
            gameweek: h.round,
            opponent: d.team_short(h.opponent_team).to_string(),
            home: h.was_home,
            points: h.total_points,
            minutes: h.minutes,
            goals: h.goals_scored,
            assists: h.assists,
            xg: h.expected_goals,
            xa: h.expected_assists,
            bonus: h.bonus,
        })
        .collect();
    lines.push(format!(
        "By gameweek: {}",
        window(from, end)
            .map(|h| format!(
                "GW{} {} ({}) {} pts",
                h.round,
                d.team_short(h.opponent_team),
                if h.was_home { "H" } else { "A" },
                h.total_points
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    answer.window = Some(Window { from, to: end });
    answer.current = Some(cur.view(gws_in_window));
    answer.gameweeks = Some(per_gw);
    if input.compare_with_previous && from > 1 {
        let pto = from - 1;
        let pfrom = pto.saturating_sub(n - 1).max(1);
        let prev = Totals::of(window(pfrom, pto));
        let pgws = pto - pfrom + 1;
        let diff = cur.points - prev.points;
        lines.push(format!(
            "Previous {pgws} (GW{pfrom}–GW{pto}): {} → {} {} pts",
            prev.text(&metrics),
            if diff >= 0 { "up" } else { "down" },
            diff.abs()
        ));
        answer.previous = Some(prev.view(pgws));
        answer.previous_window = Some(Window {
            from: pfrom,
            to: pto,
        });
        answer.points_change = Some(diff);
    } else if input.compare_with_previous {
        lines.push("No earlier gameweeks to compare with.".to_string());
    }
    lines.push(format!("FPL form figure: {}", dec1(e.form)));
    if input.include_raw_data {
        answer.raw = Some(raw_players(d, &[e.id]));
        answer.raw_history = summary.raw_json().ok();
    }
    Ok(ToolOutput::typed(
        lines.join("\n"),
        &FormAnswer::Player(Box::new(answer)),
    ))
}

fn record(entries: &[FormEntry]) -> MatchRecord {
    let (won, drawn, lost, goals_for, goals_against, points) = summary(entries);
    MatchRecord {
        matches: entries.len(),
        won,
        drawn,
        lost,
        goals_for,
        goals_against,
        points,
    }
}

fn summary(entries: &[FormEntry]) -> (u32, u32, u32, u32, u32, u32) {
    let w = entries.iter().filter(|e| e.outcome.letter() == "W").count() as u32;
    let dr = entries.iter().filter(|e| e.outcome.letter() == "D").count() as u32;
    let l = entries.len() as u32 - w - dr;
    let gf = entries.iter().map(|e| e.goals_for).sum();
    let ga = entries.iter().map(|e| e.goals_against).sum();
    (w, dr, l, gf, ga, w * 3 + dr)
}

fn team_form(d: &FplData, input: &FormAnalysisInput) -> ToolOutput {
    let team = match resolve_team(d, &input.entity_query) {
        Ok(t) => t,
        Err(out) => return out,
    };
    let all = results_for(team, d.fixtures());
    let n = input.timeframe as usize;
    let split = all.len().saturating_sub(n);
    let cur = &all[split..];
    let (w, dr, l, gf, ga, pts) = summary(cur);
    let mut lines = vec![format!(
        "{} — last {} matches: W{w} D{dr} L{l}, {gf} scored, {ga} conceded, {pts} points ({})",
        d.team_name(team),
        cur.len(),
        cur.iter()
            .map(|e| e.outcome.letter())
            .collect::<Vec<_>>()
            .join(" ")
    )];
    lines.push(
        cur.iter()
            .map(|f| {
                format!(
                    "GW{} {} ({}) {} {}-{}",
                    f.gameweek.unwrap_or(0),
                    d.team_short(f.opponent),
                    if f.home { "H" } else { "A" },
                    f.outcome.letter(),
                    f.goals_for,
                    f.goals_against
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    let mut answer = TeamFormAnswer {
        team: TeamTag {
            id: team,
            name: d.team_name(team).to_string(),
            short: d.team_short(team).to_string(),
        },
        current: record(cur),
        results: cur.iter().map(|f| FormMatch::of(d, f)).collect(),
        previous: None,
        raw: None,
    };
    if input.compare_with_previous {
        let pstart = split.saturating_sub(n);
        let prev = &all[pstart..split];
        if prev.is_empty() {
            lines.push("No earlier matches to compare with.".to_string());
        } else {
            let p = record(prev);
            lines.push(format!(
                "Previous {} matches: W{} D{} L{}, {} scored, {} conceded, {} points",
                p.matches, p.won, p.drawn, p.lost, p.goals_for, p.goals_against, p.points
            ));
            answer.previous = Some(p);
        }
    }
    if input.include_raw_data {
        let ids: Vec<u32> = cur.iter().map(|f| f.fixture_id).collect();
        answer.raw = Some(crate::tools::fpl::raw_fixtures(d, &ids));
    }
    ToolOutput::typed(lines.join("\n"), &FormAnswer::Team(answer))
}
