//! `fpl_league_data`: season leaders in one statistic, optionally within one position.
//!
//! Promises: players are ranked by the category's season total (cards = yellow + red, ties
//! broken by red cards), then by total points, then by name; only players with a non-zero
//! value are listed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::fpl::model::{Element, Position};
use crate::fpl::FplSource;
use crate::tools::fpl::typed::PlayerBrief;
use crate::tools::fpl::{dec1, raw_players, unavailable, PositionInput};
use crate::tools::input::{check_range, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_league_data";
pub const DESCRIPTION: &str = "Season leaders among FPL players in one category (goals, \
assists, cards, clean_sheets, saves, minutes, bonus, points, price, ownership, form, \
expected_goals, expected_assists, expected_goal_involvements, points_per_million), optionally \
for one position (GKP, DEF, MID, FWD), under a price cap (maxPrice, £m) or an ownership cap \
(maxOwnership, %), e.g. top scorers, most assists among defenders, best goalkeepers by saves, \
most expensive midfielders, highest xG, best defenders under £5.0m, differentials under 5% owned.";

/// Statistic to rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Goals,
    Assists,
    Cards,
    CleanSheets,
    Saves,
    Minutes,
    Bonus,
    Points,
    /// Current price (£m).
    Price,
    /// Share of managers who own him (%).
    Ownership,
    /// Points per match over the last 30 days.
    Form,
    ExpectedGoals,
    ExpectedAssists,
    ExpectedGoalInvolvements,
    /// Total points per £m of price.
    PointsPerMillion,
}

impl Category {
    /// Human label ("clean sheets").
    pub fn label(self) -> &'static str {
        match self {
            Category::Goals => "goals",
            Category::Assists => "assists",
            Category::Cards => "cards",
            Category::CleanSheets => "clean sheets",
            Category::Saves => "saves",
            Category::Minutes => "minutes",
            Category::Bonus => "bonus points",
            Category::Points => "total points",
            Category::Price => "expensive (price, £m)",
            Category::Ownership => "selected (ownership, %)",
            Category::Form => "in form (points per match, last 30 days)",
            Category::ExpectedGoals => "expected goals (xG)",
            Category::ExpectedAssists => "expected assists (xA)",
            Category::ExpectedGoalInvolvements => "expected goal involvements (xGI)",
            Category::PointsPerMillion => "points per £m",
        }
    }

    /// The field name used in structured output.
    pub fn key(self) -> &'static str {
        match self {
            Category::Goals => "goals",
            Category::Assists => "assists",
            Category::Cards => "cards",
            Category::CleanSheets => "clean_sheets",
            Category::Saves => "saves",
            Category::Minutes => "minutes",
            Category::Bonus => "bonus",
            Category::Points => "points",
            Category::Price => "price",
            Category::Ownership => "ownership",
            Category::Form => "form",
            Category::ExpectedGoals => "expected_goals",
            Category::ExpectedAssists => "expected_assists",
            Category::ExpectedGoalInvolvements => "expected_goal_involvements",
            Category::PointsPerMillion => "points_per_million",
        }
    }

    /// The player's season value.
    pub fn value(self, e: &Element) -> f64 {
        match self {
            Category::Goals => f64::from(e.goals_scored),
            Category::Assists => f64::from(e.assists),
            Category::Cards => f64::from(e.yellow_cards + e.red_cards),
            Category::CleanSheets => f64::from(e.clean_sheets),
            Category::Saves => f64::from(e.saves),
            Category::Minutes => f64::from(e.minutes),
            Category::Bonus => f64::from(e.bonus),
            Category::Points => f64::from(e.total_points),
            Category::Price => e.now_cost.millions(),
            Category::Ownership => e.selected_by_percent,
            Category::Form => e.form,
            Category::ExpectedGoals => e.expected_goals,
            Category::ExpectedAssists => e.expected_assists,
            Category::ExpectedGoalInvolvements => e.expected_goal_involvements,
            Category::PointsPerMillion => {
                let price = e.now_cost.millions();
                if price > 0.0 {
                    (f64::from(e.total_points) / price * 100.0).round() / 100.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Whether the values are whole counts (goals, minutes, points…).
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Category::Goals
                | Category::Assists
                | Category::Cards
                | Category::CleanSheets
                | Category::Saves
                | Category::Minutes
                | Category::Bonus
                | Category::Points
        )
    }

    /// The value as shown: whole numbers without decimals.
    pub fn show(self, v: f64) -> String {
        match self {
            Category::Price => format!("£{v:.1}m"),
            Category::Ownership => format!("{v:.1}%"),
            Category::Form => format!("{v:.1}"),
            Category::ExpectedGoals
            | Category::ExpectedAssists
            | Category::ExpectedGoalInvolvements
            | Category::PointsPerMillion => format!("{v:.2}"),
            _ => format!("{v:.0}"),
        }
    }
}

/// Which players a ranking considers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Filters {
    pub position: Option<Position>,
    /// At most this price, £m.
    pub max_price: Option<f64>,
    /// At most this ownership, %.
    pub max_ownership: Option<f64>,
}

impl Filters {
    fn keeps(&self, e: &Element) -> bool {
        self.position.is_none_or(|p| e.element_type == p)
            && self
                .max_price
                .is_none_or(|m| e.now_cost.millions() <= m + 1e-9)
            && self
                .max_ownership
                .is_none_or(|m| e.selected_by_percent <= m + 1e-9)
    }
}

fn ten() -> u32 {
    10
}

/// Input of `fpl_league_data`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeagueDataInput {
    /// Statistic to rank players by.
    pub category: Category,
    /// Only players of this position.
    #[serde(default)]
    pub position: Option<PositionInput>,
    /// Only players costing at most this, £m (3.5-20).
    #[serde(default)]
    #[schemars(range(min = 3.5, max = 20))]
    pub max_price: Option<f64>,
    /// Only players owned by at most this share of managers, % (0-100).
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub max_ownership: Option<f64>,
    /// Number of players (1-50, default 10).
    #[serde(default = "ten")]
    #[schemars(range(min = 1, max = 50))]
    pub limit: u32,
    /// Add price, minutes, ownership and points per player.
    #[serde(default)]
    pub include_details: bool,
    /// Append the raw FPL API player objects to the structured result.
    #[serde(default)]
    pub include_raw_data: bool,
}

impl ToolInput for LeagueDataInput {
    fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.max_price {
            if !(3.5..=20.0).contains(&p) {
                return Err(format!(
                    "invalid value for field `maxPrice`: {p} is out of range (3.5 to 20, £m)"
                ));
            }
        }
        if let Some(o) = self.max_ownership {
            if !(0.0..=100.0).contains(&o) {
                return Err(format!(
                    "invalid value for field `maxOwnership`: {o} is out of range (0 to 100, %)"
                ));
            }
        }
        check_range("limit", self.limit, 1, 50)
    }
}

/// Players ranked by `category` (non-zero values only) among those `filters` keep.
pub fn leaders(players: &[Element], category: Category, filters: Filters) -> Vec<&Element> {
    let mut v: Vec<&Element> = players
        .iter()
        .filter(|e| filters.keeps(e))
        .filter(|e| category.value(e) > 0.0)
        .collect();
    v.sort_by(|a, b| {
        category
            .value(b)
            .total_cmp(&category.value(a))
            .then_with(|| {
                if category == Category::Cards {
                    b.red_cards.cmp(&a.red_cards)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then(b.total_points.cmp(&a.total_points))
            .then_with(|| a.web_name.cmp(&b.web_name))
    });
    v
}

/// A player's value in the category: a count (goals, minutes, points…) or a measure (price,
/// ownership, xG…).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Stat {
    Count(i64),
    Measure(f64),
}

/// One line of the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Leader {
    #[serde(flatten)]
    pub player: PlayerBrief,
    /// Shared by equal values.
    pub rank: usize,
    pub value: Stat,
    /// The value as shown ("£14.5m", "32.1%", "7").
    pub value_text: String,
    pub total_points: i32,
    pub minutes: i32,
    pub selected_by_percent: f64,
    /// With the cards category only.
    pub yellow_cards: Option<i32>,
    pub red_cards: Option<i32>,
}

/// `fpl_league_data`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeagueLeaders {
    /// The category's key, e.g. `clean_sheets`.
    pub category: String,
    pub position: Option<String>,
    pub max_price: Option<f64>,
    pub max_ownership: Option<f64>,
    pub leaders: Vec<Leader>,
    /// The raw FPL API player objects (with `includeRawData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

/// Run the tool.
pub async fn run(source: &FplSource, input: LeagueDataInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let pos: Option<Position> = input.position.map(Into::into);
    let filters = Filters {
        position: pos,
        max_price: input.max_price,
        max_ownership: input.max_ownership,
    };
    let ranked = leaders(d.players(), input.category, filters);
    let shown: Vec<&Element> = ranked.iter().take(input.limit as usize).copied().collect();
    let mut scope = pos.map(|p| p.plural()).unwrap_or("all players").to_string();
    if let Some(p) = input.max_price {
        scope.push_str(&format!(", £{p:.1}m or less"));
    }
    if let Some(o) = input.max_ownership {
        scope.push_str(&format!(", owned by {o}% or less"));
    }
    let mut lines = vec![format!(
        "Most {} this season ({scope}):",
        input.category.label()
    )];
    if shown.is_empty() {
        lines.push("No player has any yet.".to_string());
    }
    let mut rank = 0;
    let mut prev: Option<f64> = None;
    let mut items = Vec::new();
    for (i, e) in shown.iter().enumerate() {
        let v = input.category.value(e);
        if prev != Some(v) {
            rank = i + 1;
            prev = Some(v);
        }
        let mut line = format!(
            "{rank}. {} ({}, {}) — {}",
            e.web_name,
            d.team_short(e.team),
            e.element_type,
            input.category.show(v)
        );
        if input.category == Category::Cards {
            line.push_str(&format!(" ({}Y {}R)", e.yellow_cards, e.red_cards));
        }
        if input.include_details {
            line.push_str(&format!(
                " | {} | {} pts | {} min | {}% owned",
                e.now_cost,
                e.total_points,
                e.minutes,
                dec1(e.selected_by_percent)
            ));
        }
        lines.push(line);
        let cards = input.category == Category::Cards;
        items.push(Leader {
            player: PlayerBrief::of(&d, e),
            rank,
            value: if input.category.is_count() {
                Stat::Count(v as i64)
            } else {
                Stat::Measure(v)
            },
            value_text: input.category.show(v),
            total_points: e.total_points,
            minutes: e.minutes,
            selected_by_percent: e.selected_by_percent,
            yellow_cards: cards.then_some(e.yellow_cards),
            red_cards: cards.then_some(e.red_cards),
        });
    }
    let out = LeagueLeaders {
        category: input.category.key().to_string(),
        position: pos.map(|p| p.short().to_string()),
        max_price: input.max_price,
        max_ownership: input.max_ownership,
        raw: input.include_raw_data.then(|| {
            let ids: Vec<u32> = shown.iter().map(|e| e.id).collect();
            raw_players(&d, &ids)
        }),
        leaders: items,
    };
    Ok(ToolOutput::typed(lines.join("\n"), &out))
}
