//! Question understanding of the offline analyst.
//!
//! Promises: [`understand`] turns one user question into an [`Intent`] using the data's
//! name index (players, teams), position words, stat words, gameweek numbers and "next /
//! last N"; [`Intent::tool_calls`] gives the FPL tool calls that answer it (none for
//! greetings, thanks and questions it cannot place). The same question always gives the
//! same intent, so the answer step can re-derive it.

use serde_json::{json, Value};

use crate::fpl::model::Position;
use crate::fpl::names::{fold, similarity, MAX_FOLDED_QUERY};
use crate::fpl::{FplData, NameMatch};
use crate::llm::offline::manager::{self, Clues, ManagerAsk};

/// A player named in the question: one id, or a name that needs disambiguation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerRef {
    /// What to send as `playerQuery`.
    pub query: String,
    pub id: Option<u32>,
}

/// Focus of a gameweek question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GwFocus {
    General,
    Average,
    Highest,
    Captain,
    Chips,
    Transfers,
    TopPlayer,
}

/// Which gameweek a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GwWhich {
    Current,
    Next,
    Previous,
    Number(u32),
}

/// A ranking of players: the statistic, and who is considered.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// `fpl_league_data` category.
    pub category: &'static str,
    pub position: Option<Position>,
    pub limit: u32,
    /// Price cap, £m.
    pub max_price: Option<f64>,
    /// Ownership cap, %.
    pub max_ownership: Option<f64>,
}

/// What the user wants.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Greeting,
    Thanks,
    Help,
    PlayerStats(PlayerRef),
    PlayerPrice(PlayerRef),
    PlayerAvailability(PlayerRef),
    PlayerForm(PlayerRef, u32),
    Compare(Vec<PlayerRef>),
    TeamInfo(u32),
    TeamInjuries(u32),
    TeamGoals(u32),
    TablePosition(u32),
    LeagueTable,
    TeamForm(u32, u32),
    Leaders(Ranking),
    InForm(Option<Position>),
    TeamFixtures(u32, Option<u32>),
    HeadToHead(u32, u32),
    EasiestFixtures(u32, Option<Position>, bool),
    TeamDifficulty(u32, u32, Option<Position>),
    /// The next deadline, or one gameweek's.
    Deadline(Option<u32>),
    Gameweek(GwWhich, GwFocus),
    /// About one manager's team, a mini-league, live points, prices, captaincy or transfers.
    Manager(ManagerAsk),
}

const NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
];

fn words(q: &str) -> Vec<String> {
    q.split_whitespace().map(str::to_string).collect()
}

fn number(w: &str) -> Option<u32> {
    w.parse::<u32>()
        .ok()
        .or_else(|| NUMBER_WORDS.iter().find(|(n, _)| *n == w).map(|(_, v)| *v))
}

/// "next five", "last 3", "next 6 gameweeks".
fn span(ws: &[String], keys: &[&str]) -> Option<u32> {
    ws.windows(2)
        .find(|p| keys.contains(&p[0].as_str()) && number(&p[1]).is_some())
        .and_then(|p| number(&p[1]))
        .filter(|n| (1..=38).contains(n))
}

/// "gameweek 7", "gw7", "gw 7".
fn gameweek_number(ws: &[String]) -> Option<u32> {
    for (i, w) in ws.iter().enumerate() {
        if let Some(rest) = w.strip_prefix("gw") {
            if let Ok(n) = rest.parse::<u32>() {
                return Some(n).filter(|n| (1..=38).contains(n));
            }
        }
        if (w == "gw" || w == "gameweek" || w == "week") && i + 1 < ws.len() {
            if let Ok(n) = ws[i + 1].parse::<u32>() {
                return Some(n).filter(|n| (1..=38).contains(n));
            }
        }
    }
    None
}

fn position(ws: &[String]) -> Option<Position> {
    for w in ws {
        let p = match w.as_str() {
            "goalkeeper" | "goalkeepers" | "keeper" | "keepers" | "gk" | "gks" | "gkp"
            | "goalies" => Position::Goalkeeper,
            "defender" | "defenders" | "def" | "defs" | "defence" | "defensive" => {
                Position::Defender
            }
            "midfielder" | "midfielders" | "mid" | "mids" | "midfield" => Position::Midfielder,
            "forward" | "forwards" | "striker" | "strikers" | "fwd" | "fwds" | "attacker"
            | "attackers" => Position::Forward,
            _ => continue,
        };
        return Some(p);
    }
    None
}

fn has(q: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| q.contains(n))
}

fn has_word(ws: &[String], needles: &[&str]) -> bool {
    ws.iter().any(|w| needles.contains(&w.as_str()))
}

fn category(q: &str, ws: &[String]) -> Option<&'static str> {
    // "goalkeepers" is not about goals.
    let q = &q
        .replace("goalkeeper", "keeper")
        .replace("goalie", "keeper");
    if has(q, &["expected goal involvement", "xgi"]) {
        Some("expected_goal_involvements")
    } else if has(q, &["expected goal"]) || has_word(ws, &["xg"]) {
        Some("expected_goals")
    } else if has(q, &["expected assist"]) || has_word(ws, &["xa"]) {
        Some("expected_assists")
    } else if has(
        q,
        &[
            "per million",
            "per m ",
            "points per",
            "value for money",
            "bang for",
            "best value",
            "value pick",
        ],
    ) {
        Some("points_per_million")
    } else if has(
        q,
        &[
            "expensive",
            "priciest",
            "costliest",
            "most costly",
            "highest price",
            "biggest price tag",
        ],
    ) {
        Some("price")
    } else if has(
        q,
        &[
            "most selected",
            "most owned",
            "highest owned",
            "highly owned",
            "most popular",
            "highest ownership",
            "most picked",
            "ownership",
        ],
    ) {
        Some("ownership")
    } else if has(q, &["clean sheet", "cleansheet"]) {
        Some("clean_sheets")
    } else if has(q, &["save"]) {
        Some("saves")
    } else if has(q, &["assist"]) {
        Some("assists")
    } else if has(q, &["bonus"]) {
        Some("bonus")
    } else if has(q, &["card", "booking", "booked", "yellow", "dirtiest"]) {
        Some("cards")
    } else if has_word(ws, &["minutes", "mins"]) {
        Some("minutes")
    } else if has(q, &["goal", "scorer", "scoring"]) && !has(q, &["highest scoring", "top scoring"])
    {
        Some("goals")
    } else if has(
        q,
        &[
            "points",
            "highest scoring",
            "top scoring",
            "best player",
            "top player",
            "best players",
            "top players",
        ],
    ) {
        Some("points")
    } else {
        None
    }
}

/// The number after one of `keys` in `text` ("under £5.5m" → 5.5), with what follows it.
fn number_after<'a>(text: &'a str, keys: &[&str]) -> Option<(f64, &'a str)> {
    keys.iter().find_map(|k| {
        let at = text.find(k)? + k.len();
        let rest = text[at..].trim_start().trim_start_matches('£').trim_start();
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..end].trim_end_matches('.').parse().ok()?;
        Some((n, rest[end..].trim_start()))
    })
}

const CAP_WORDS: &[&str] = &[
    "under",
    "below",
    "less than",
    "cheaper than",
    "max",
    "up to",
    "at most",
    "no more than",
    "<=",
    "<",
];

/// A price cap in £m ("under £5.5m", "below 6m", "max 7.0"); "cheap" / "budget" alone give
/// a cap by position.
fn price_cap(lower: &str, pos: Option<Position>) -> Option<f64> {
    match number_after(lower, CAP_WORDS) {
        Some((n, after)) if !after.starts_with('%') && !after.starts_with("percent") => {
            (3.5..=20.0).contains(&n).then_some(n)
        }
        _ if has(lower, &["cheap", "budget", "bargain"]) && !has(lower, &["cheapest"]) => {
            Some(match pos {
                Some(Position::Goalkeeper) | Some(Position::Defender) => 4.5,
                Some(Position::Forward) => 6.0,
                _ => 5.5,
            })
        }
        _ => None,
    }
}

/// An ownership cap in % ("under 5%", "owned by less than 10 percent"); "differentials"
/// alone mean under 5 %.
fn ownership_cap(lower: &str) -> Option<f64> {
    match number_after(lower, CAP_WORDS) {
        Some((n, after)) if after.starts_with('%') || after.starts_with("percent") => {
            (0.0..=100.0).contains(&n).then_some(n)
        }
        _ if has(
            lower,
            &[
                "differential",
                "low owned",
                "low-owned",
                "lowly owned",
                "under the radar",
                "hidden gem",
            ],
        ) =>
        {
            Some(5.0)
        }
        _ => None,
    }
}

fn player_ref(d: &FplData, ids: &[u32], text: &str) -> PlayerRef {
    if let [id] = ids {
        if let Some(e) = d.player(*id) {
            let query = if d.names().match_player(&e.web_name) == NameMatch::Exact(*id) {
                e.web_name.clone()
            } else {
                id.to_string()
            };
            return PlayerRef {
                query,
                id: Some(*id),
            };
        }
    }
    PlayerRef {
        query: text.to_string(),
        id: None,
    }
}

/// Understand one question.
pub fn understand(d: &FplData, question: &str) -> Intent {
    understand_in(d, question, None)
}

/// Understand one question of a conversation in which the manager gave `remembered_entry`
/// as their team id earlier.
pub fn understand_in(d: &FplData, question: &str, remembered_entry: Option<u32>) -> Intent {
    let q = fold(question);
    let ws = words(&q);
    let mentions = d.names().mentions(question);
    let teams = mentions.teams.clone();
    let players: Vec<PlayerRef> = mentions
        .players
        .iter()
        .map(|m| {
            let mut ids = m.ids.clone();
            if ids.len() > 1 && !teams.is_empty() {
                let narrowed: Vec<u32> = ids
                    .iter()
                    .copied()
                    .filter(|id| d.player(*id).is_some_and(|e| teams.contains(&e.team)))
                    .collect();
                if !narrowed.is_empty() {
                    ids = narrowed;
                }
            }
            player_ref(d, &ids, &m.text)
        })
        .collect();
    // A team named only to narrow a player ("Johnson at Spurs") is not a team question.
    let player_teams: Vec<u32> = players
        .iter()
        .filter_map(|p| p.id.and_then(|id| d.player(id)).map(|e| e.team))
        .collect();
    let team_only: Vec<u32> = teams
        .iter()
        .copied()
        .filter(|t| !player_teams.contains(t))
        .collect();
    let pos = position(&ws);
    let next_n = span(&ws, &["next", "coming", "upcoming"]);
    let last_n = span(&ws, &["last", "past", "previous"]);
    let gw = gameweek_number(&ws);

    let entity_free = players.is_empty() && teams.is_empty();
    let greeting = has_word(
        &ws,
        &[
            "hi",
            "hello",
            "hey",
            "hiya",
            "howdy",
            "morning",
            "evening",
            "afternoon",
            "yo",
        ],
    );
    if entity_free && (has(&q, &["thank", "cheers"]) || has_word(&ws, &["thx", "ta", "ty"])) {
        return Intent::Thanks;
    }
    if entity_free && greeting && ws.len() <= 6 {
        return Intent::Greeting;
    }
    let clues = Clues {
        q: &q,
        ws: &ws,
        gameweek: gw,
        position: pos,
        players: players.iter().map(|p| p.query.clone()).collect(),
        remembered_entry,
    };
    if let Some(ask) = manager::read(&clues) {
        return Intent::Manager(ask);
    }

    // Comparisons.
    let comparing = has(
        &q,
        &["compare", " vs ", " versus ", " or ", "better", " v "],
    );
    if players.len() >= 2 && (comparing || has_word(&ws, &["and", "with"])) {
        return Intent::Compare(players.into_iter().take(5).collect());
    }

    if has(&q, &["deadline"]) {
        return Intent::Deadline(gw);
    }

    // League table.
    if has(&q, &["table", "standings", "league position", "standing"])
        || (has_word(&ws, &["position", "place", "where"])
            && !team_only.is_empty()
            && players.is_empty()
            && !has(&q, &["fixture"]))
    {
        return match team_only.first() {
            Some(t) => Intent::TablePosition(*t),
            None => Intent::LeagueTable,
        };
    }

    // Availability.
    let availability = has(
        &q,
        &[
            "injur",
            "fit ",
            "fitness",
            "available",
            "availability",
            "doubt",
            "suspend",
            "ban",
            "news",
            "knock",
            "flagged",
            "out for",
        ],
    ) || q.ends_with(" fit")
        || has_word(&ws, &["fit", "playing"]) && has_word(&ws, &["is", "will"]);
    if availability {
        if let Some(p) = players.first() {
            return Intent::PlayerAvailability(p.clone());
        }
        if let Some(t) = team_only.first().or(teams.first()) {
            return Intent::TeamInjuries(*t);
        }
    }

    // Gameweek facts.
    let which = match gw {
        Some(n) => GwWhich::Number(n),
        None if has_word(&ws, &["last", "previous"]) => GwWhich::Previous,
        None if has_word(&ws, &["next", "upcoming"]) => GwWhich::Next,
        None => GwWhich::Current,
    };
    if has(&q, &["captain"]) {
        return Intent::Gameweek(which, GwFocus::Captain);
    }
    if has(
        &q,
        &[
            "chip",
            "wildcard",
            "bench boost",
            "triple captain",
            "free hit",
        ],
    ) {
        return Intent::Gameweek(which, GwFocus::Chips);
    }
    if entity_free
        && has(
            &q,
            &[
                "average score",
                "average points",
                "highest score",
                "average",
            ],
        )
    {
        let focus = if has(&q, &["highest"]) {
            GwFocus::Highest
        } else {
            GwFocus::Average
        };
        return Intent::Gameweek(which, focus);
    }
    if entity_free
        && has(&q, &["highest score", "top score", "best score"])
        && !has(&q, &["scorer"])
    {
        return Intent::Gameweek(which, GwFocus::Highest);
    }
    if entity_free
        && has(
            &q,
            &["transferred in", "most transferred", "transfers made"],
        )
    {
        return Intent::Gameweek(which, GwFocus::Transfers);
    }

    // Fixtures and difficulty.
    let fixture_words = has(
        &q,
        &[
            "fixture",
            "schedule",
            "difficult",
            "fdr",
            "easiest",
            "hardest",
            "easy run",
            "kind run",
            "toughest",
            "who do",
            "who are",
            "play next",
            "playing next",
            "next game",
            "next match",
            "opponent",
        ],
    );
    if teams.len() >= 2
        && (has(&q, &[" vs ", " v ", " versus ", " against ", "play"]) || fixture_words)
    {
        return Intent::HeadToHead(teams[0], teams[1]);
    }
    if fixture_words || (next_n.is_some() && !team_only.is_empty()) {
        let n = next_n.unwrap_or(5);
        let rating = has(
            &q,
            &[
                "difficult",
                "fdr",
                "easiest",
                "hardest",
                "easy",
                "toughest",
                "hard",
            ],
        );
        if let Some(t) = team_only.first() {
            return if rating {
                Intent::TeamDifficulty(*t, n, pos)
            } else {
                Intent::TeamFixtures(*t, next_n)
            };
        }
        if players.is_empty() || rating {
            return Intent::EasiestFixtures(n, pos, has(&q, &["hardest", "toughest", "worst"]));
        }
    }
    if gw.is_some() && entity_free {
        return Intent::Gameweek(which, GwFocus::General);
    }
    if entity_free && has(&q, &["gameweek", "this week", "this round"]) {
        let focus = if has(&q, &["top player", "best player"]) {
            GwFocus::TopPlayer
        } else {
            GwFocus::General
        };
        return Intent::Gameweek(which, focus);
    }

    // Form.
    if has(
        &q,
        &[
            "form", "hot", "in-form", "on fire", "streak", "lately", "recently", "last few",
        ],
    ) || last_n.is_some()
    {
        let n = last_n.unwrap_or(5);
        if let Some(p) = players.first() {
            return Intent::PlayerForm(p.clone(), n);
        }
        if let Some(t) = team_only.first() {
            return Intent::TeamForm(*t, n);
        }
        if has(&q, &["form", "hot", "on fire"]) {
            return Intent::InForm(pos);
        }
    }

    // Price.
    if has(
        &q,
        &[
            "price",
            "cost",
            "how much",
            "expensive",
            "cheap",
            "value",
            "£",
        ],
    ) {
        if let Some(p) = players.first() {
            return Intent::PlayerPrice(p.clone());
        }
    }

    // Team goals / record.
    if let Some(t) = team_only.first() {
        if has(&q, &["goals", "scored", "conceded", "how many"]) && players.is_empty() {
            return Intent::TeamGoals(*t);
        }
    }

    // Leaders.
    let lower = question.to_lowercase();
    let max_price = price_cap(&lower, pos);
    let max_ownership = ownership_cap(&lower);
    let capped = max_price.is_some() || max_ownership.is_some();
    let best = has_word(&ws, &["best", "top", "good", "who", "which", "recommend"]) || capped;
    let category = match category(&q, &ws) {
        // "differentials under 5% ownership": the best of the lowly owned, not the most owned.
        Some("ownership") if max_ownership.is_some() => Some("points"),
        None if (capped || pos.is_some()) && best => Some("points"),
        c => c,
    };
    if players.is_empty() {
        if let Some(cat) = category {
            if team_only.is_empty()
                || has(
                    &q,
                    &[
                        "top", "most", "best", "leading", "leader", "who has", "who have",
                    ],
                )
            {
                let limit = if has_word(&ws, &["top"]) {
                    ws.windows(2)
                        .find(|p| p[0] == "top" && number(&p[1]).is_some())
                        .and_then(|p| number(&p[1]))
                        .unwrap_or(10)
                } else {
                    10
                };
                return Intent::Leaders(Ranking {
                    category: cat,
                    position: pos,
                    limit: limit.clamp(1, 50),
                    max_price,
                    max_ownership,
                });
            }
        }
    }

    if let Some(p) = players.first() {
        return Intent::PlayerStats(p.clone());
    }
    if let Some(t) = teams.first() {
        return Intent::TeamInfo(*t);
    }
    if let Some(name) = unknown_name(d, question) {
        return Intent::PlayerStats(PlayerRef {
            query: name,
            id: None,
        });
    }
    Intent::Help
}

/// Most capitalised words tried as a misspelt name: each try compares it with every player.
const MAX_NAME_TRIES: usize = 8;

/// A word that looks like a misspelt player name ("Haalnd", "haalnd"), so the tool can
/// offer suggestions instead of the analyst giving up. Only the first [`MAX_NAME_TRIES`]
/// candidates, of at most [`MAX_FOLDED_QUERY`] bytes, are tried.
fn unknown_name(d: &FplData, question: &str) -> Option<String> {
    let capitalised = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    question
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .filter(|w| {
            w.len() <= MAX_FOLDED_QUERY
                && (capitalised(w) || (w.len() >= 5 && w.chars().all(|c| c.is_lowercase())))
        })
        .map(|w| w.trim_end_matches("'s").to_string())
        .filter(|w| {
            let f = fold(w);
            f.len() >= 4 && !d.names().is_stopword(&f) && !QUESTION_WORDS.contains(&f.as_str())
        })
        .take(MAX_NAME_TRIES)
        .find(|w| {
            let folded = fold(w);
            // A lowercase word must be closer to a name: it is more often just a word.
            let least = if capitalised(w) { 0.75 } else { 0.8 };
            match d.names().match_player(w) {
                NameMatch::NotFound(s) => s.first().and_then(|id| d.player(*id)).is_some_and(|e| {
                    similarity(&folded, &fold(&e.web_name)) >= least
                        || similarity(&folded, &fold(&e.second_name)) >= least
                }),
                _ => false,
            }
        })
}

/// Capitalised words that start questions and are never names.
const QUESTION_WORDS: &[&str] = &[
    "tell", "what", "whats", "when", "where", "which", "who", "whos", "how", "show", "give",
    "list", "could", "would", "should", "does", "please", "hello", "thanks", "also", "okay",
    "weather", "today", "tomorrow", "is", "are", "can",
];

impl Intent {
    /// The tool calls that answer this intent, as (tool name, input).
    pub fn tool_calls(&self, d: &FplData) -> Vec<(&'static str, Value)> {
        let team = |t: &u32| d.team_name(*t).to_string();
        match self {
            Intent::Greeting | Intent::Thanks | Intent::Help => Vec::new(),
            Intent::Manager(ask) => ask.tool_calls(),
            Intent::PlayerStats(p) => vec![(
                "fpl_player_data",
                json!({"playerQuery": p.query, "includeFixtures": true, "includeHistory": true}),
            )],
            Intent::PlayerPrice(p) | Intent::PlayerAvailability(p) => vec![(
                "fpl_player_data",
                json!({"playerQuery": p.query, "includeFixtures": false}),
            )],
            Intent::PlayerForm(p, n) => vec![(
                "fpl_form_analysis",
                json!({"entityType": "player", "entityQuery": p.query, "timeframe": n, "compareWithPrevious": true}),
            )],
            Intent::Compare(ps) => vec![(
                "fpl_player_comparison",
                json!({"playerQueries": ps.iter().map(|p| p.query.clone()).collect::<Vec<_>>(), "includeFixtures": true}),
            )],
            Intent::TeamInfo(t)
            | Intent::TeamInjuries(t)
            | Intent::TeamGoals(t)
            | Intent::TablePosition(t) => {
                vec![("fpl_team_data", json!({"teamQuery": team(t)}))]
            }
            Intent::LeagueTable => vec![("fpl_team_data", json!({"teamQuery": "all"}))],
            Intent::TeamForm(t, n) => vec![(
                "fpl_form_analysis",
                json!({"entityType": "team", "entityQuery": team(t), "timeframe": n, "compareWithPrevious": true}),
            )],
            Intent::Leaders(r) => {
                let mut input = json!({"category": r.category, "limit": r.limit});
                if let Some(p) = r.position {
                    input["position"] = json!(p.short());
                }
                if let Some(m) = r.max_price {
                    input["maxPrice"] = json!(m);
                }
                if let Some(m) = r.max_ownership {
                    input["maxOwnership"] = json!(m);
                }
                vec![("fpl_league_data", input)]
            }
            Intent::InForm(pos) => vec![(
                "fpl_form_analysis",
                json!({"entityType": "player", "entityQuery": pos.map(|p| p.short()).unwrap_or("all")}),
            )],
            Intent::TeamFixtures(t, n) => {
                let mut input = json!({"teamQuery": team(t)});
                match n {
                    Some(n) => input["range"] = json!(n),
                    None => input["limit"] = json!(5),
                }
                vec![("fpl_fixture_data", input)]
            }
            Intent::HeadToHead(a, b) => vec![(
                "fpl_fixture_data",
                json!({"teamQuery": format!("{} vs {}", team(a), team(b)), "includeStats": true}),
            )],
            Intent::EasiestFixtures(n, pos, _) => {
                let mut input = json!({"teamQuery": "all", "range": n});
                if let Some(p) = pos {
                    input["position"] = json!(p.short());
                }
                vec![("fpl_fixture_difficulty", input)]
            }
            Intent::TeamDifficulty(t, n, pos) => {
                let mut input = json!({"teamQuery": team(t), "range": n});
                if let Some(p) = pos {
                    input["position"] = json!(p.short());
                }
                vec![("fpl_fixture_difficulty", input)]
            }
            Intent::Deadline(None) => vec![(
                "fpl_get_gameweek",
                json!({"type": "next", "includeFixtures": false}),
            )],
            Intent::Deadline(Some(n)) => vec![(
                "fpl_get_gameweek",
                json!({"gameweekId": n, "includeFixtures": false}),
            )],
            Intent::Gameweek(which, focus) => {
                let mut input = match which {
                    GwWhich::Number(n) => json!({"gameweekId": n}),
                    GwWhich::Current => json!({"type": "current"}),
                    GwWhich::Next => json!({"type": "next"}),
                    GwWhich::Previous => json!({"type": "previous"}),
                };
                input["includeFixtures"] = json!(*focus == GwFocus::General);
                vec![("fpl_get_gameweek", input)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_spans_and_positions() {
        let ws = words("who has the easiest fixtures for the next five gameweeks");
        assert_eq!(span(&ws, &["next"]), Some(5));
        let ws = words("semenyo form over the last 3 gameweeks");
        assert_eq!(span(&ws, &["last"]), Some(3));
        assert_eq!(gameweek_number(&words("average score in gw7")), Some(7));
        assert_eq!(gameweek_number(&words("gameweek 12 fixtures")), Some(12));
        assert_eq!(
            position(&words("best goalkeepers by saves")),
            Some(Position::Goalkeeper)
        );
        assert_eq!(
            position(&words("most assists among defenders")),
            Some(Position::Defender)
        );
        let ws = words("most clean sheets");
        assert_eq!(category("most clean sheets", &ws), Some("clean_sheets"));
        assert_eq!(
            category("top scorers", &words("top scorers")),
            Some("goals")
        );
    }
}
