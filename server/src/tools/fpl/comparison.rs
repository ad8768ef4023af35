//! `fpl_player_comparison`: two to five players side by side.
//!
//! Promises: every query must resolve to exactly one player (otherwise an `is_error` answer
//! naming the query, with candidates or suggestions); each category shows every player's
//! value and who leads it (the cheapest for price); history that the source lacks is
//! reported as not available.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fpl::model::Element;
use crate::fpl::FplSource;
use crate::tools::fpl::player::{upcoming, UpcomingFixture};
use crate::tools::fpl::{raw_players, resolve_player, unavailable, PlayerView};
use crate::tools::input::{check_items, check_query, ToolInput, MAX_QUERY_CHARS};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_player_comparison";
pub const DESCRIPTION: &str = "Compare 2 to 5 FPL players side by side on points, goals, \
assists, minutes, clean sheets, bonus, cards, saves, price, form and ownership, with optional \
upcoming fixtures and recent gameweek history.";

/// A comparison category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompareCategory {
    Points,
    Goals,
    Assists,
    Minutes,
    CleanSheets,
    Bonus,
    YellowCards,
    RedCards,
    Saves,
    Price,
    Form,
    Selected,
}

impl CompareCategory {
    const DEFAULT: [CompareCategory; 8] = [
        CompareCategory::Points,
        CompareCategory::Goals,
        CompareCategory::Assists,
        CompareCategory::Minutes,
        CompareCategory::Bonus,
        CompareCategory::Price,
        CompareCategory::Form,
        CompareCategory::Selected,
    ];

    fn label(self) -> &'static str {
        match self {
            CompareCategory::Points => "Points",
            CompareCategory::Goals => "Goals",
            CompareCategory::Assists => "Assists",
            CompareCategory::Minutes => "Minutes",
            CompareCategory::CleanSheets => "Clean sheets",
            CompareCategory::Bonus => "Bonus",
            CompareCategory::YellowCards => "Yellow cards",
            CompareCategory::RedCards => "Red cards",
            CompareCategory::Saves => "Saves",
            CompareCategory::Price => "Price",
            CompareCategory::Form => "Form",
            CompareCategory::Selected => "Selected by",
        }
    }

    fn key(self) -> &'static str {
        match self {
            CompareCategory::Points => "points",
            CompareCategory::Goals => "goals",
            CompareCategory::Assists => "assists",
            CompareCategory::Minutes => "minutes",
            CompareCategory::CleanSheets => "clean_sheets",
            CompareCategory::Bonus => "bonus",
            CompareCategory::YellowCards => "yellow_cards",
            CompareCategory::RedCards => "red_cards",
            CompareCategory::Saves => "saves",
            CompareCategory::Price => "price",
            CompareCategory::Form => "form",
            CompareCategory::Selected => "selected",
        }
    }

    fn value(self, e: &Element) -> f64 {
        match self {
            CompareCategory::Points => f64::from(e.total_points),
            CompareCategory::Goals => f64::from(e.goals_scored),
            CompareCategory::Assists => f64::from(e.assists),
            CompareCategory::Minutes => f64::from(e.minutes),
            CompareCategory::CleanSheets => f64::from(e.clean_sheets),
            CompareCategory::Bonus => f64::from(e.bonus),
            CompareCategory::YellowCards => f64::from(e.yellow_cards),
            CompareCategory::RedCards => f64::from(e.red_cards),
            CompareCategory::Saves => f64::from(e.saves),
            CompareCategory::Price => e.now_cost.millions(),
            CompareCategory::Form => e.form,
            CompareCategory::Selected => e.selected_by_percent,
        }
    }

    fn show(self, e: &Element) -> String {
        match self {
            CompareCategory::Price => e.now_cost.to_string(),
            CompareCategory::Form => format!("{:.1}", e.form),
            CompareCategory::Selected => format!("{:.1}%", e.selected_by_percent),
            _ => format!("{}", self.value(e)),
        }
    }

    /// Lower is better for price and cards.
    fn lower_is_better(self) -> bool {
        matches!(
            self,
            CompareCategory::Price | CompareCategory::YellowCards | CompareCategory::RedCards
        )
    }
}

/// Most categories in one comparison: each of the twelve once.
const MAX_CATEGORIES: usize = 12;

/// Input of `fpl_player_comparison`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlayerComparisonInput {
    /// 2 to 5 player names or ids, each at most 100 characters.
    #[schemars(length(min = 2, max = 5), inner(length(max = MAX_QUERY_CHARS)))]
    pub player_queries: Vec<String>,
    /// Categories to compare (default points, goals, assists, minutes, bonus, price, form,
    /// selected); at most 12.
    #[serde(default)]
    #[schemars(length(max = MAX_CATEGORIES))]
    pub categories: Option<Vec<CompareCategory>>,
    /// Include each player's next 3 fixtures.
    #[serde(default)]
    pub include_fixtures: bool,
    /// Include each player's last 5 gameweeks.
    #[serde(default)]
    pub include_history: bool,
    /// Append the raw FPL API player objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for PlayerComparisonInput {
    fn validate(&self) -> Result<(), String> {
        let n = self.player_queries.len();
        if !(2..=5).contains(&n) {
            return Err(format!(
                "invalid value for field `playerQueries`: give 2 to 5 players, got {n}"
            ));
        }
        for (i, q) in self.player_queries.iter().enumerate() {
            check_query(&format!("playerQueries[{i}]"), q)?;
        }
        if let Some(categories) = &self.categories {
            if categories.is_empty() {
                return Err("invalid value for field `categories`: must not be empty".into());
            }
            check_items("categories", categories, MAX_CATEGORIES)?;
        }
        Ok(())
    }
}

/// One player's value in a category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryValue {
    pub id: u32,
    pub name: String,
    pub value: f64,
    /// As shown ("£14.5m", "7.2").
    pub display: String,
}

/// One category across the players.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryComparison {
    pub category: String,
    pub values: Vec<CategoryValue>,
    /// Names of the best (cheapest for price); empty when all are level.
    pub leaders: Vec<String>,
}

/// One of a player's recent gameweeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecentGameweek {
    pub gameweek: u32,
    pub points: i32,
    pub minutes: i32,
    pub goals: i32,
    pub assists: i32,
}

/// `fpl_player_comparison`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonAnswer {
    pub players: Vec<PlayerView>,
    pub categories: Vec<CategoryComparison>,
    /// Next three matches by player id (with `includeFixtures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<BTreeMap<String, Vec<UpcomingFixture>>>,
    /// Last five gameweeks by player id; null where the data has none (with `includeHistory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<BTreeMap<String, Option<Vec<RecentGameweek>>>>,
    /// The raw bootstrap player objects (with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// Run the tool.
pub async fn run(
    source: &FplSource,
    input: PlayerComparisonInput,
) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let mut players: Vec<&Element> = Vec::new();
    for q in &input.player_queries {
        match resolve_player(&d, q, |_| true) {
            Ok(e) => {
                if players.iter().any(|p| p.id == e.id) {
                    return Ok(ToolOutput::error(
                        format!(
                            "'{q}' names {} twice; compare different players.",
                            e.web_name
                        ),
                        json!({"error": "duplicate", "query": q}),
                    ));
                }
                players.push(e)
            }
            Err(out) => return Ok(out),
        }
    }
    let categories = input
        .categories
        .clone()
        .unwrap_or_else(|| CompareCategory::DEFAULT.to_vec());
    let mut lines = vec![format!(
        "Comparison: {}",
        players
            .iter()
            .map(|e| format!(
                "{} ({}, {}, {})",
                e.web_name,
                d.team_short(e.team),
                e.element_type,
                e.now_cost
            ))
            .collect::<Vec<_>>()
            .join(" vs ")
    )];
    let mut cats = Vec::new();
    for c in &categories {
        let values: Vec<f64> = players.iter().map(|e| c.value(e)).collect();
        let best = if c.lower_is_better() {
            values.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        let leaders: Vec<&str> = players
            .iter()
            .zip(&values)
            .filter(|(_, v)| (**v - best).abs() < 1e-9)
            .map(|(e, _)| e.web_name.as_str())
            .collect();
        let all_equal = leaders.len() == players.len();
        lines.push(format!(
            "{}: {}{}",
            c.label(),
            players
                .iter()
                .map(|e| format!("{} {}", e.web_name, c.show(e)))
                .collect::<Vec<_>>()
                .join(" | "),
            if all_equal {
                " (level)".to_string()
            } else if *c == CompareCategory::Price {
                format!(" → cheapest: {}", leaders.join(", "))
            } else {
                format!(" → best: {}", leaders.join(", "))
            }
        ));
        cats.push(CategoryComparison {
            category: c.key().to_string(),
            values: players
                .iter()
                .map(|e| CategoryValue {
                    id: e.id,
                    name: e.web_name.clone(),
                    value: c.value(e),
                    display: c.show(e),
                })
                .collect(),
            leaders: if all_equal {
                Vec::new()
            } else {
                leaders.iter().map(|l| l.to_string()).collect()
            },
        });
    }
    let mut answer = ComparisonAnswer {
        players: players.iter().map(|e| PlayerView::of(&d, e)).collect(),
        categories: cats,
        fixtures: None,
        history: None,
        raw: None,
    };
    if input.include_fixtures {
        let mut fx = BTreeMap::new();
        for e in &players {
            let (text, upcoming) = upcoming(&d, e.team, 3);
            lines.push(format!("{}: {}", e.web_name, text));
            fx.insert(e.id.to_string(), upcoming);
        }
        answer.fixtures = Some(fx);
    }
    if input.include_history {
        let mut hist = BTreeMap::new();
        for e in &players {
            match source.element_summary(e.id).await {
                Ok(s) => {
                    let recent: Vec<_> = s.history.iter().rev().take(5).rev().collect();
                    lines.push(format!(
                        "{} last {} GWs: {}",
                        e.web_name,
                        recent.len(),
                        recent
                            .iter()
                            .map(|h| format!("GW{} {}", h.round, h.total_points))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    hist.insert(
                        e.id.to_string(),
                        Some(
                            recent
                                .iter()
                                .map(|h| RecentGameweek {
                                    gameweek: h.round,
                                    points: h.total_points,
                                    minutes: h.minutes,
                                    goals: h.goals_scored,
                                    assists: h.assists,
                                })
                                .collect(),
                        ),
                    );
                }
                Err(err) if err.is_not_available() => {
                    lines.push(format!(
                        "{}: per-gameweek history is not available in this data snapshot.",
                        e.web_name
                    ));
                    hist.insert(e.id.to_string(), None);
                }
                Err(err) => return Err(unavailable(err)),
            }
        }
        answer.history = Some(hist);
    }
    if input.include_raw_data {
        let ids: Vec<u32> = players.iter().map(|e| e.id).collect();
        answer.raw = Some(raw_players(&d, &ids));
    }
    Ok(ToolOutput::typed(lines.join("\n"), &answer))
}
