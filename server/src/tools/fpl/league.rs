//! `fpl_league_data`: season leaders in one statistic, optionally within one position.
//!
//! Promises: players are ranked by the category's season total (cards = yellow + red, ties
//! broken by red cards), then by total points, then by name; only players with a non-zero
//! value are listed.

use std::cmp::Reverse;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::fpl::model::{Element, Position};
use crate::fpl::FplSource;
use crate::tools::fpl::{dec1, player_ref, raw_players, unavailable, PositionInput};
use crate::tools::input::{check_range, ToolInput};
use crate::tools::{ToolError, ToolOutput};

pub const NAME: &str = "fpl_league_data";
pub const DESCRIPTION: &str = "Season leaders among FPL players in one category (goals, \
assists, cards, clean_sheets, saves, minutes, bonus, points), optionally for one position \
(GKP, DEF, MID, FWD), e.g. top scorers, most assists among defenders, best goalkeepers by saves.";

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
        }
    }

    /// The player's season value.
    pub fn value(self, e: &Element) -> i32 {
        match self {
            Category::Goals => e.goals_scored,
            Category::Assists => e.assists,
            Category::Cards => e.yellow_cards + e.red_cards,
            Category::CleanSheets => e.clean_sheets,
            Category::Saves => e.saves,
            Category::Minutes => e.minutes,
            Category::Bonus => e.bonus,
            Category::Points => e.total_points,
        }
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
        check_range("limit", self.limit, 1, 50)
    }
}

/// Players ranked by `category` (non-zero values only).
pub fn leaders(
    players: &[Element],
    category: Category,
    position: Option<Position>,
) -> Vec<&Element> {
    let mut v: Vec<&Element> = players
        .iter()
        .filter(|e| position.is_none_or(|p| e.element_type == p))
        .filter(|e| category.value(e) > 0)
        .collect();
    v.sort_by_key(|e| {
        (
            Reverse(category.value(e)),
            Reverse(if category == Category::Cards {
                e.red_cards
            } else {
                0
            }),
            Reverse(e.total_points),
            e.web_name.clone(),
        )
    });
    v
}

/// Run the tool.
pub async fn run(source: &FplSource, input: LeagueDataInput) -> Result<ToolOutput, ToolError> {
    let d = source.data().await.map_err(unavailable)?;
    let pos: Option<Position> = input.position.map(Into::into);
    let ranked = leaders(d.players(), input.category, pos);
    let shown: Vec<&Element> = ranked.iter().take(input.limit as usize).copied().collect();
    let scope = pos.map(|p| p.plural()).unwrap_or("all players");
    let mut lines = vec![format!(
        "Most {} this season ({scope}):",
        input.category.label()
    )];
    if shown.is_empty() {
        lines.push("No player has any yet.".to_string());
    }
    let mut rank = 0;
    let mut prev: Option<i32> = None;
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
            v
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
        let mut item = player_ref(&d, e);
        item["rank"] = json!(rank);
        item["value"] = json!(v);
        item["totalPoints"] = json!(e.total_points);
        item["minutes"] = json!(e.minutes);
        item["selectedByPercent"] = json!(e.selected_by_percent);
        if input.category == Category::Cards {
            item["yellowCards"] = json!(e.yellow_cards);
            item["redCards"] = json!(e.red_cards);
        }
        items.push(item);
    }
    let mut structured = json!({
        "category": input.category.key(),
        "position": pos.map(|p| p.short()),
        "leaders": items,
    });
    if input.include_raw_data {
        let ids: Vec<u32> = shown.iter().map(|e| e.id).collect();
        structured["raw"] = raw_players(&d, &ids);
    }
    Ok(ToolOutput::ok(lines.join("\n"), structured))
}
