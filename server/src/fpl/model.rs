//! Typed model of the public FPL API responses.
//!
//! Promises: every payload of `/bootstrap-static/`, `/fixtures/`, `/element-summary/{id}/`
//! and `/event/{gw}/live/` parses into these types (unknown fields are ignored, nullable
//! fields are `Option`), decimal-looking strings such as `"3.3"` become `f64`, prices stay
//! in tenths of £m behind [`Price`] (which displays as `£14.5m`), and `element_type` becomes a
//! [`Position`]. The always-zero team fields of the real payload (`played`, `win`, `draw`,
//! `loss`, `points`, `form`) are deliberately not modelled so nothing can print them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Deserializers for the API's number formats.
pub mod de {
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    struct DecimalVisitor;

    impl<'de> Visitor<'de> for DecimalVisitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a decimal number or a string holding one")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<f64>()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(DecimalVisitor)
        }
    }

    /// A decimal given as a string (`"3.3"`) or a number; null or `""` become 0.0.
    pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(d.deserialize_any(DecimalVisitor)?.unwrap_or(0.0))
    }

    /// A decimal given as a string or a number; null or `""` become `None`.
    pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

/// A price in tenths of £m, as the API gives it (`now_cost` 145 = £14.5m).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Price(pub i32);

impl Price {
    /// The price in £m (145 → 14.5).
    pub fn millions(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}£{}.{}m", abs / 10, abs % 10)
    }
}

/// A player's position, from `element_type` (1 GKP, 2 DEF, 3 MID, 4 FWD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Position {
    #[serde(rename = "GKP")]
    Goalkeeper,
    #[serde(rename = "DEF")]
    Defender,
    #[serde(rename = "MID")]
    Midfielder,
    #[serde(rename = "FWD")]
    Forward,
}

impl Position {
    /// All positions in squad order.
    pub const ALL: [Position; 4] = [
        Position::Goalkeeper,
        Position::Defender,
        Position::Midfielder,
        Position::Forward,
    ];

    /// The API's `element_type` id.
    pub fn element_type(self) -> u8 {
        match self {
            Position::Goalkeeper => 1,
            Position::Defender => 2,
            Position::Midfielder => 3,
            Position::Forward => 4,
        }
    }

    /// Position from an `element_type` id.
    pub fn from_element_type(id: u8) -> Option<Self> {
        match id {
            1 => Some(Position::Goalkeeper),
            2 => Some(Position::Defender),
            3 => Some(Position::Midfielder),
            4 => Some(Position::Forward),
            _ => None,
        }
    }

    /// Short code: GKP, DEF, MID or FWD.
    pub fn short(self) -> &'static str {
        match self {
            Position::Goalkeeper => "GKP",
            Position::Defender => "DEF",
            Position::Midfielder => "MID",
            Position::Forward => "FWD",
        }
    }

    /// Plural English name ("goalkeepers").
    pub fn plural(self) -> &'static str {
        match self {
            Position::Goalkeeper => "goalkeepers",
            Position::Defender => "defenders",
            Position::Midfielder => "midfielders",
            Position::Forward => "forwards",
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

impl FromStr for Position {
    type Err = String;

    /// Accepts the short codes and the usual English words, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gkp" | "gk" | "goalkeeper" | "goalkeepers" | "keeper" | "keepers" | "1" => {
                Ok(Position::Goalkeeper)
            }
            "def" | "defender" | "defenders" | "2" => Ok(Position::Defender),
            "mid" | "midfielder" | "midfielders" | "3" => Ok(Position::Midfielder),
            "fwd" | "forward" | "forwards" | "striker" | "strikers" | "4" => Ok(Position::Forward),
            other => Err(format!(
                "unknown position '{other}' (use GKP, DEF, MID or FWD)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = u8::deserialize(d)?;
        Position::from_element_type(id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown element_type {id}")))
    }
}

/// A player's availability flag (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlayerStatus {
    #[serde(rename = "a")]
    Available,
    #[serde(rename = "d")]
    Doubtful,
    #[serde(rename = "i")]
    Injured,
    #[serde(rename = "s")]
    Suspended,
    #[serde(rename = "u")]
    Unavailable,
    #[serde(rename = "n")]
    NotInSquad,
    #[serde(other)]
    Unknown,
}

impl PlayerStatus {
    /// Plain English label.
    pub fn label(self) -> &'static str {
        match self {
            PlayerStatus::Available => "available",
            PlayerStatus::Doubtful => "doubtful",
            PlayerStatus::Injured => "injured",
            PlayerStatus::Suspended => "suspended",
            PlayerStatus::Unavailable => "unavailable",
            PlayerStatus::NotInSquad => "not in squad (ineligible)",
            PlayerStatus::Unknown => "unknown",
        }
    }
}

/// `/bootstrap-static/`: the season's players, teams, gameweeks and positions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bootstrap {
    pub events: Vec<Event>,
    pub teams: Vec<Team>,
    pub elements: Vec<Element>,
    pub element_types: Vec<ElementType>,
    #[serde(default)]
    pub total_players: Option<u64>,
}

/// How many managers played one chip in a gameweek.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChipPlay {
    pub chip_name: String,
    pub num_played: u64,
}

/// The best player of a gameweek.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopElementInfo {
    pub id: u32,
    pub points: i32,
}

/// One gameweek (`events[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub deadline_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub average_entry_score: Option<i32>,
    #[serde(default)]
    pub finished: bool,
    #[serde(default)]
    pub data_checked: bool,
    #[serde(default)]
    pub highest_score: Option<i32>,
    #[serde(default)]
    pub highest_scoring_entry: Option<u64>,
    #[serde(default)]
    pub is_previous: bool,
    #[serde(default)]
    pub is_current: bool,
    #[serde(default)]
    pub is_next: bool,
    #[serde(default)]
    pub chip_plays: Vec<ChipPlay>,
    #[serde(default)]
    pub most_selected: Option<u32>,
    #[serde(default)]
    pub most_transferred_in: Option<u32>,
    #[serde(default)]
    pub top_element: Option<u32>,
    #[serde(default)]
    pub top_element_info: Option<TopElementInfo>,
    #[serde(default)]
    pub transfers_made: Option<u64>,
    #[serde(default)]
    pub most_captained: Option<u32>,
    #[serde(default)]
    pub most_vice_captained: Option<u32>,
}

/// One Premier League club (`teams[]`). Only the fields the API actually fills in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    pub id: u32,
    pub code: u32,
    pub name: String,
    pub short_name: String,
    #[serde(default)]
    pub strength: Option<u8>,
    #[serde(default)]
    pub position: Option<u32>,
    #[serde(default)]
    pub strength_overall_home: Option<u32>,
    #[serde(default)]
    pub strength_overall_away: Option<u32>,
    #[serde(default)]
    pub strength_attack_home: Option<u32>,
    #[serde(default)]
    pub strength_attack_away: Option<u32>,
    #[serde(default)]
    pub strength_defence_home: Option<u32>,
    #[serde(default)]
    pub strength_defence_away: Option<u32>,
}

/// A position as the API describes it (`element_types[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElementType {
    pub id: u8,
    pub singular_name: String,
    pub singular_name_short: String,
    pub plural_name: String,
    #[serde(default)]
    pub element_count: Option<u32>,
}

/// One player (`elements[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Element {
    pub id: u32,
    pub code: u32,
    pub first_name: String,
    pub second_name: String,
    pub web_name: String,
    pub team: u32,
    pub element_type: Position,
    pub status: PlayerStatus,
    #[serde(default)]
    pub news: String,
    #[serde(default)]
    pub news_added: Option<DateTime<Utc>>,
    #[serde(default)]
    pub chance_of_playing_next_round: Option<u8>,
    #[serde(default)]
    pub chance_of_playing_this_round: Option<u8>,
    pub now_cost: Price,
    #[serde(default)]
    pub cost_change_start: i32,
    #[serde(default)]
    pub cost_change_event: i32,
    #[serde(default)]
    pub total_points: i32,
    #[serde(default)]
    pub event_points: i32,
    #[serde(default, deserialize_with = "de::decimal")]
    pub form: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub points_per_game: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub selected_by_percent: f64,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub ep_next: Option<f64>,
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub ep_this: Option<f64>,
    #[serde(default)]
    pub minutes: i32,
    #[serde(default)]
    pub starts: i32,
    #[serde(default)]
    pub goals_scored: i32,
    #[serde(default)]
    pub assists: i32,
    #[serde(default)]
    pub clean_sheets: i32,
    #[serde(default)]
    pub goals_conceded: i32,
    #[serde(default)]
    pub own_goals: i32,
    #[serde(default)]
    pub penalties_saved: i32,
    #[serde(default)]
    pub penalties_missed: i32,
    #[serde(default)]
    pub yellow_cards: i32,
    #[serde(default)]
    pub red_cards: i32,
    #[serde(default)]
    pub saves: i32,
    #[serde(default)]
    pub bonus: i32,
    #[serde(default)]
    pub bps: i32,
    #[serde(default)]
    pub defensive_contribution: i32,
    #[serde(default, deserialize_with = "de::decimal")]
    pub influence: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub creativity: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub threat: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub ict_index: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goals: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_assists: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goal_involvements: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goals_conceded: f64,
    #[serde(default)]
    pub transfers_in: u64,
    #[serde(default)]
    pub transfers_out: u64,
    #[serde(default)]
    pub transfers_in_event: u64,
    #[serde(default)]
    pub transfers_out_event: u64,
    #[serde(default)]
    pub dreamteam_count: u32,
    /// 1 = his club's first-choice penalty taker, 2 the second (null when unknown).
    #[serde(default)]
    pub penalties_order: Option<u8>,
}

impl Element {
    /// "First Second" as the API spells it.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.second_name)
    }
}

/// One value of a per-fixture stat (`stats[].h[]` / `stats[].a[]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatValue {
    pub value: i32,
    pub element: u32,
}

/// One per-fixture stat such as `goals_scored`, split by home (`h`) and away (`a`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FixtureStat {
    pub identifier: String,
    #[serde(default)]
    pub a: Vec<StatValue>,
    #[serde(default)]
    pub h: Vec<StatValue>,
}

/// One match (`/fixtures/`). `event` is null for a postponed, unscheduled match.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub id: u32,
    #[serde(default)]
    pub code: u64,
    #[serde(default)]
    pub event: Option<u32>,
    #[serde(default)]
    pub finished: bool,
    #[serde(default)]
    pub finished_provisional: bool,
    #[serde(default)]
    pub started: Option<bool>,
    #[serde(default)]
    pub kickoff_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub minutes: u32,
    pub team_h: u32,
    pub team_a: u32,
    #[serde(default)]
    pub team_h_score: Option<u32>,
    #[serde(default)]
    pub team_a_score: Option<u32>,
    #[serde(default)]
    pub team_h_difficulty: u8,
    #[serde(default)]
    pub team_a_difficulty: u8,
    #[serde(default)]
    pub stats: Vec<FixtureStat>,
}

impl Fixture {
    /// The final score (home, away) once the match is over.
    pub fn result(&self) -> Option<(u32, u32)> {
        if !(self.finished || self.finished_provisional) {
            return None;
        }
        Some((self.team_h_score?, self.team_a_score?))
    }

    /// Whether `team` plays in this match.
    pub fn involves(&self, team: u32) -> bool {
        self.team_h == team || self.team_a == team
    }

    /// Difficulty (FDR 1–5) of this match for `team`.
    pub fn difficulty_for(&self, team: u32) -> u8 {
        if self.team_h == team {
            self.team_h_difficulty
        } else {
            self.team_a_difficulty
        }
    }

    /// The other team of the match, seen from `team`.
    pub fn opponent_of(&self, team: u32) -> u32 {
        if self.team_h == team {
            self.team_a
        } else {
            self.team_h
        }
    }

    /// A named per-fixture stat.
    pub fn stat(&self, identifier: &str) -> Option<&FixtureStat> {
        self.stats.iter().find(|s| s.identifier == identifier)
    }
}

/// `/element-summary/{id}/`: one player's fixtures, this season's matches and past seasons.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElementSummary {
    #[serde(default)]
    pub fixtures: Vec<SummaryFixture>,
    #[serde(default)]
    pub history: Vec<History>,
    #[serde(default)]
    pub history_past: Vec<HistoryPast>,
}

/// An upcoming match in an element summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SummaryFixture {
    pub id: u32,
    pub team_h: u32,
    pub team_a: u32,
    #[serde(default)]
    pub team_h_score: Option<u32>,
    #[serde(default)]
    pub team_a_score: Option<u32>,
    #[serde(default)]
    pub event: Option<u32>,
    #[serde(default)]
    pub finished: bool,
    #[serde(default)]
    pub kickoff_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_home: bool,
    #[serde(default)]
    pub difficulty: u8,
}

/// One match a player was registered for this season (`history[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct History {
    pub element: u32,
    pub fixture: u32,
    pub opponent_team: u32,
    pub total_points: i32,
    #[serde(default)]
    pub was_home: bool,
    #[serde(default)]
    pub kickoff_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub team_h_score: Option<u32>,
    #[serde(default)]
    pub team_a_score: Option<u32>,
    pub round: u32,
    #[serde(default)]
    pub minutes: i32,
    #[serde(default)]
    pub goals_scored: i32,
    #[serde(default)]
    pub assists: i32,
    #[serde(default)]
    pub clean_sheets: i32,
    #[serde(default)]
    pub goals_conceded: i32,
    #[serde(default)]
    pub own_goals: i32,
    #[serde(default)]
    pub penalties_saved: i32,
    #[serde(default)]
    pub penalties_missed: i32,
    #[serde(default)]
    pub yellow_cards: i32,
    #[serde(default)]
    pub red_cards: i32,
    #[serde(default)]
    pub saves: i32,
    #[serde(default)]
    pub bonus: i32,
    #[serde(default)]
    pub bps: i32,
    #[serde(default)]
    pub starts: i32,
    #[serde(default, deserialize_with = "de::decimal")]
    pub ict_index: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goals: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_assists: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goal_involvements: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goals_conceded: f64,
    #[serde(default)]
    pub value: Price,
    #[serde(default)]
    pub selected: u64,
    #[serde(default)]
    pub transfers_in: u64,
    #[serde(default)]
    pub transfers_out: u64,
}

/// One past season of a player (`history_past[]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryPast {
    pub season_name: String,
    #[serde(default)]
    pub start_cost: Price,
    #[serde(default)]
    pub end_cost: Price,
    #[serde(default)]
    pub total_points: i32,
    #[serde(default)]
    pub minutes: i32,
    #[serde(default)]
    pub goals_scored: i32,
    #[serde(default)]
    pub assists: i32,
    #[serde(default)]
    pub clean_sheets: i32,
    #[serde(default)]
    pub bonus: i32,
}

/// `/event/{gw}/live/`: every player's numbers in one gameweek.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventLive {
    pub elements: Vec<LiveElement>,
}

/// One player's numbers in a live gameweek.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveElement {
    pub id: u32,
    pub stats: LiveStats,
    #[serde(default)]
    pub explain: Vec<LiveExplain>,
}

/// `/dream-team/{gw}/`: the game's best eleven of a gameweek.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DreamTeamPayload {
    #[serde(default)]
    pub top_player: Option<DreamTopPlayer>,
    pub team: Vec<DreamTeamPick>,
}

/// The gameweek's best scorer, as the dream team names him.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DreamTopPlayer {
    pub id: u32,
    pub points: i32,
}

/// One of the dream team's eleven.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DreamTeamPick {
    pub element: u32,
    pub points: i32,
    /// 1-11 in formation order.
    pub position: u8,
}

/// A player's totals in one gameweek.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveStats {
    #[serde(default)]
    pub minutes: i32,
    #[serde(default)]
    pub goals_scored: i32,
    #[serde(default)]
    pub assists: i32,
    #[serde(default)]
    pub clean_sheets: i32,
    #[serde(default)]
    pub goals_conceded: i32,
    #[serde(default)]
    pub saves: i32,
    #[serde(default)]
    pub bonus: i32,
    #[serde(default)]
    pub bps: i32,
    #[serde(default)]
    pub yellow_cards: i32,
    #[serde(default)]
    pub red_cards: i32,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_goals: f64,
    #[serde(default, deserialize_with = "de::decimal")]
    pub expected_assists: f64,
    pub total_points: i32,
    #[serde(default)]
    pub in_dreamteam: bool,
}

/// How one fixture's points of a player are made up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveExplain {
    pub fixture: u32,
    #[serde(default)]
    pub stats: Vec<LiveExplainStat>,
}

/// One line of a points explanation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveExplainStat {
    pub identifier: String,
    pub points: i32,
    pub value: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_displays_in_millions() {
        assert_eq!(Price(145).to_string(), "£14.5m");
        assert_eq!(Price(40).to_string(), "£4.0m");
        assert_eq!(Price(-3).to_string(), "-£0.3m");
        assert!((Price(57).millions() - 5.7).abs() < 1e-9);
    }

    #[test]
    fn decimal_strings_numbers_and_nulls_parse() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "de::decimal")]
            a: f64,
            #[serde(deserialize_with = "de::decimal")]
            b: f64,
            #[serde(default, deserialize_with = "de::opt_decimal")]
            c: Option<f64>,
            #[serde(default, deserialize_with = "de::opt_decimal")]
            d: Option<f64>,
        }
        let t: T = serde_json::from_str(r#"{"a":"3.3","b":7,"c":null,"d":"0.45"}"#).unwrap();
        assert_eq!(t.a, 3.3);
        assert_eq!(t.b, 7.0);
        assert_eq!(t.c, None);
        assert_eq!(t.d, Some(0.45));
        assert!(serde_json::from_str::<T>(r#"{"a":"x","b":1}"#).is_err());
    }

    #[test]
    fn position_from_element_type_and_words() {
        let p: Position = serde_json::from_str("4").unwrap();
        assert_eq!(p, Position::Forward);
        assert!(serde_json::from_str::<Position>("9").is_err());
        assert_eq!("Keepers".parse::<Position>().unwrap(), Position::Goalkeeper);
        assert_eq!("def".parse::<Position>().unwrap(), Position::Defender);
        assert!("striker?".parse::<Position>().is_err());
        assert_eq!(
            serde_json::to_string(&Position::Midfielder).unwrap(),
            "\"MID\""
        );
    }

    #[test]
    fn unknown_status_does_not_fail() {
        let s: PlayerStatus = serde_json::from_str("\"z\"").unwrap();
        assert_eq!(s, PlayerStatus::Unknown);
        let s: PlayerStatus = serde_json::from_str("\"i\"").unwrap();
        assert_eq!(s, PlayerStatus::Injured);
    }
}
