//! The offline analyst's questions about one manager's FPL team and mini-leagues: reading
//! them ([`read`]) and answering them from the manager tools' typed results ([`answer`]).
//!
//! Promises: a manager's entry id is the number after "team", "entry", "id" or "manager" (or
//! any other number of 4+ digits that is not a league id or a gameweek), else one given
//! earlier in the conversation; a league id is the number after "league"; a question that
//! needs an id nobody gave is answered by asking for it (and where to find it), never with
//! a guess; answers are built from the tools' structured results deserialised into their
//! own types, so a number can only come from a tool.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::fpl::model::Position;
use crate::llm::offline::answer::ToolResultView;
use crate::tools::fpl::captain_pick::CaptainPick;
use crate::tools::fpl::dream_team::DreamTeam;
use crate::tools::fpl::live_gameweek::LiveGameweekView;
use crate::tools::fpl::manager_history::ManagerHistory;
use crate::tools::fpl::manager_team::{ManagerTeam, SquadPlayer, SquadScore};
use crate::tools::fpl::mini_league::MiniLeague;
use crate::tools::fpl::price_changes::{PriceChanges, PriceMove};
use crate::tools::fpl::transfer_suggestions::TransferPlan;

/// What a manager asked.
#[derive(Debug, Clone, PartialEq)]
pub enum ManagerAsk {
    Team {
        entry: u32,
        gameweek: Option<u32>,
    },
    History {
        entry: u32,
        focus: HistoryFocus,
    },
    League {
        league: u32,
        entry: Option<u32>,
    },
    Live {
        entry: Option<u32>,
        gameweek: Option<u32>,
    },
    DreamTeam {
        gameweek: Option<u32>,
        season: bool,
    },
    Prices {
        position: Option<Position>,
    },
    Captain {
        entry: Option<u32>,
        players: Vec<String>,
    },
    Transfers {
        entry: u32,
    },
    /// The question is about "my team" but no entry id is known.
    NeedEntry,
    /// The question is about "my mini-league" but no league id was given.
    NeedLeague,
}

/// Which part of a season history the question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryFocus {
    General,
    Bench,
    Chips,
    Hits,
    Rank,
}

/// What the question gives besides its words.
pub struct Clues<'a> {
    /// Folded question.
    pub q: &'a str,
    pub ws: &'a [String],
    pub gameweek: Option<u32>,
    pub position: Option<Position>,
    /// Players named in the question (queries).
    pub players: Vec<String>,
    /// An entry id given earlier in the conversation.
    pub remembered_entry: Option<u32>,
}

fn has(q: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| q.contains(n))
}

fn id_after(ws: &[String], keys: &[&str]) -> Option<u32> {
    ws.windows(2)
        .find(|p| keys.contains(&p[0].as_str()) && p[1].chars().all(|c| c.is_ascii_digit()))
        .and_then(|p| p[1].parse().ok())
        .or_else(|| {
            // "team id 123", "league id 456"
            ws.windows(3)
                .find(|p| keys.contains(&p[0].as_str()) && p[1] == "id")
                .and_then(|p| p[2].parse().ok())
        })
        .filter(|id| *id > 0)
}

/// The league id of a question ("league 900001", "mini league id 900001").
pub fn league_id(ws: &[String]) -> Option<u32> {
    id_after(ws, &["league", "leagues", "ml"])
}

/// The entry id of a question.
pub fn entry_id(ws: &[String]) -> Option<u32> {
    let league = league_id(ws);
    id_after(ws, &["team", "entry", "id", "manager", "squad", "is"])
        .filter(|id| Some(*id) != league && *id >= 1000)
        .or_else(|| {
            ws.iter()
                .filter(|w| w.len() >= 4 && w.len() <= 9 && w.chars().all(|c| c.is_ascii_digit()))
                .filter_map(|w| w.parse::<u32>().ok())
                .find(|id| Some(*id) != league && !(1990..=2100).contains(id))
        })
}

/// Reads a manager question, or `None` when the question is not one.
pub fn read(c: &Clues) -> Option<ManagerAsk> {
    let (q, ws) = (c.q, c.ws);
    let word = |w: &str| ws.iter().any(|x| x == w);
    let given_entry = entry_id(ws);
    let entry = given_entry.or(c.remembered_entry);
    let league = league_id(ws);
    let mine = word("my") || word("i") || word("me") || word("mine") || word("im");

    if has(
        q,
        &[
            "dream team",
            "team of the week",
            "team of the season",
            "totw",
            "best xi",
            "best eleven",
            "team of the gameweek",
        ],
    ) {
        return Some(ManagerAsk::DreamTeam {
            gameweek: c.gameweek,
            season: has(q, &["season", "so far", "this year"]) && c.gameweek.is_none(),
        });
    }
    let price_moves = has(
        q,
        &[
            "price rise",
            "price fall",
            "price change",
            "price drop",
            "risers",
            "fallers",
            "rising in price",
            "falling in price",
            "going up in price",
            "going down in price",
            "price increase",
            "price decrease",
        ],
    ) || (has(q, &["rise", "rising", "riser", "fall", "falling", "drop"])
        && has(q, &["price", "value", "cost"]));
    if price_moves && c.players.is_empty() {
        return Some(ManagerAsk::Prices {
            position: c.position,
        });
    }
    let league_words = has(
        q,
        &[
            "mini league",
            "minileague",
            "my league",
            "our league",
            "classic league",
            "rivals",
        ],
    );
    if league.is_some() || league_words {
        return Some(match league {
            Some(league) => ManagerAsk::League {
                league,
                entry: given_entry.or(c.remembered_entry),
            },
            None => ManagerAsk::NeedLeague,
        });
    }
    let captain = has(
        q,
        &[
            "captain pick",
            "captaincy",
            "who to captain",
            "should i captain",
            "should captain",
            "who should be captain",
            "who should i make captain",
            "captain choice",
            "armband",
            "captain this week",
            "captain for",
            "vice captain",
        ],
    ) || (word("captain")
        && !has(q, &["captained"])
        && (mine || word("should") || word("who") || c.players.len() >= 2));
    if captain {
        return Some(ManagerAsk::Captain {
            entry,
            players: if entry.is_some() {
                Vec::new()
            } else {
                c.players.clone()
            },
        });
    }
    let counting = has(
        q,
        &[
            "how many transfer",
            "transfers have i made",
            "transfers made",
            "transfer history",
        ],
    );
    let transfer = has(
        q,
        &[
            "transfer", "bring in", "sell", "buy", "replace", "swap", "upgrade", "get rid",
            "ship out", "move for",
        ],
    ) && !counting
        && !has(
            q,
            &[
                "most transferred",
                "transferred in",
                "transfers in",
                "transfers out",
            ],
        )
        && (mine
            || given_entry.is_some()
            || word("should")
            || word("who")
            || word("which")
            || has(q, &["suggest", "recommend", "advice"]));
    if transfer {
        return Some(match entry {
            Some(entry) => ManagerAsk::Transfers { entry },
            None => ManagerAsk::NeedEntry,
        });
    }
    let live = word("live")
        || has(
            q,
            &[
                "provisional bonus",
                "points am i on",
                "points so far",
                "how am i doing",
            ],
        );
    if live {
        return Some(ManagerAsk::Live {
            entry: entry.filter(|_| mine || given_entry.is_some()),
            gameweek: c.gameweek,
        });
    }
    let history_focus = if has(
        q,
        &[
            "bench point",
            "points on the bench",
            "points on my bench",
            "left on the bench",
            "benched points",
            "on my bench",
        ],
    ) {
        Some(HistoryFocus::Bench)
    } else if has(q, &["chip"])
        || has(
            q,
            &["wildcard", "bench boost", "triple captain", "free hit"],
        ) && (mine || given_entry.is_some())
    {
        Some(HistoryFocus::Chips)
    } else if has(q, &["hits", "hit ", "points hit", "minus 4", "-4"]) || counting {
        Some(HistoryFocus::Hits)
    } else if has(
        q,
        &[
            "rank",
            "history",
            "season so far",
            "my season",
            "past season",
            "previous season",
            "best gameweek",
            "worst gameweek",
            "how many points have i",
            "total points",
        ],
    ) && (mine || given_entry.is_some())
    {
        Some(HistoryFocus::Rank)
            .filter(|_| has(q, &["rank"]))
            .or(Some(HistoryFocus::General))
    } else {
        None
    };
    if let Some(focus) = history_focus {
        if given_entry.is_some() || mine {
            return Some(match entry {
                Some(entry) => ManagerAsk::History { entry, focus },
                None => ManagerAsk::NeedEntry,
            });
        }
    }
    let team_words = has(
        q,
        &[
            "my team",
            "my squad",
            "my side",
            "my picks",
            "my lineup",
            "my line up",
            "my xi",
            "analyse",
            "analyze",
            "rate my",
            "review my",
            "my players",
            "fpl team",
            "team id",
            "entry",
        ],
    );
    if team_words || given_entry.is_some() {
        return Some(match entry {
            Some(entry) => ManagerAsk::Team {
                entry,
                gameweek: c.gameweek,
            },
            None => ManagerAsk::NeedEntry,
        });
    }
    None
}

impl ManagerAsk {
    /// The tool calls that answer the question.
    pub fn tool_calls(&self) -> Vec<(&'static str, Value)> {
        let with_gw = |mut v: Value, gw: &Option<u32>| {
            if let Some(g) = gw {
                v["gameweek"] = json!(g);
            }
            v
        };
        match self {
            ManagerAsk::Team { entry, gameweek } => vec![(
                "fpl_manager_team",
                with_gw(json!({"entryId": entry}), gameweek),
            )],
            ManagerAsk::History { entry, .. } => {
                vec![("fpl_manager_history", json!({"entryId": entry}))]
            }
            ManagerAsk::League { league, entry } => {
                let mut v = json!({"leagueId": league});
                if let Some(e) = entry {
                    v["entryId"] = json!(e);
                }
                vec![("fpl_mini_league", v)]
            }
            ManagerAsk::Live { entry, gameweek } => {
                let mut v = with_gw(json!({"limit": 5}), gameweek);
                if let Some(e) = entry {
                    v["entryId"] = json!(e);
                }
                vec![("fpl_live_gameweek", v)]
            }
            ManagerAsk::DreamTeam { gameweek, season } => {
                vec![(
                    "fpl_dream_team",
                    with_gw(json!({"season": season}), gameweek),
                )]
            }
            ManagerAsk::Prices { position } => {
                let mut v = json!({"limit": 5});
                if let Some(p) = position {
                    v["position"] = json!(p.short());
                }
                vec![("fpl_price_changes", v)]
            }
            ManagerAsk::Captain { entry, players } => {
                let mut v = json!({"limit": 5});
                match (entry, players.is_empty()) {
                    (Some(e), _) => v["entryId"] = json!(e),
                    (None, false) => v["players"] = json!(players),
                    (None, true) => {}
                }
                vec![("fpl_captain_pick", v)]
            }
            ManagerAsk::Transfers { entry } => {
                vec![("fpl_transfer_suggestions", json!({"entryId": entry}))]
            }
            ManagerAsk::NeedEntry | ManagerAsk::NeedLeague => Vec::new(),
        }
    }
}

/// Asking for the entry id, with where to find it.
pub const NEED_ENTRY: &str = "To look at your team I need your FPL team id: it is the number in the address of your team's Points page, `fantasy.premierleague.com/entry/<id>/event/<gameweek>`. Ask again with it, for example \"analyse my team 1000001\" or \"who should I captain, my team is 1000001\".";

/// Asking for the league id.
pub const NEED_LEAGUE: &str = "Which mini-league? Give me its league id: the number in the league's address, `fantasy.premierleague.com/leagues/<id>/standings/c`. For example \"how is league 900001 going?\", or add your team id to see your differentials: \"league 900001, my team 1000003\".";

fn typed<T: DeserializeOwned>(results: &[ToolResultView], tool: &str) -> Option<T> {
    let r = results
        .iter()
        .find(|r| r.name == tool || results.len() == 1)?;
    serde_json::from_value(r.structured.clone()).ok()
}

/// Writes the answer from this turn's results (`None` when they are not what the question
/// needed, so the caller can fall back to the tools' text).
pub fn answer(ask: &ManagerAsk, results: &[ToolResultView]) -> Option<String> {
    if let Some(err) = results.iter().find(|r| r.is_error) {
        let hint = match ask {
            ManagerAsk::League { .. } => "League ids are in the league's address: `fantasy.premierleague.com/leagues/<id>/standings/c`.",
            _ => "Team ids are in the address of your team's Points page: `fantasy.premierleague.com/entry/<id>/event/<gameweek>`.",
        };
        return Some(format!(
            "{}

{hint}",
            err.text
        ));
    }
    Some(match ask {
        ManagerAsk::NeedEntry => NEED_ENTRY.to_string(),
        ManagerAsk::NeedLeague => NEED_LEAGUE.to_string(),
        ManagerAsk::Team { .. } => team(&typed::<ManagerTeam>(results, "fpl_manager_team")?),
        ManagerAsk::History { focus, .. } => {
            history(&typed(results, "fpl_manager_history")?, *focus)
        }
        ManagerAsk::League { .. } => league(&typed(results, "fpl_mini_league")?),
        ManagerAsk::Live { .. } => live(&typed(results, "fpl_live_gameweek")?),
        ManagerAsk::DreamTeam { .. } => dream(&typed(results, "fpl_dream_team")?),
        ManagerAsk::Prices { .. } => prices(&typed(results, "fpl_price_changes")?),
        ManagerAsk::Captain { .. } => captain(&typed(results, "fpl_captain_pick")?),
        ManagerAsk::Transfers { .. } => transfers(&typed(results, "fpl_transfer_suggestions")?),
    })
}

fn rank(r: Option<u64>) -> String {
    r.map(crate::tools::fpl::thousands)
        .unwrap_or_else(|| "–".into())
}

fn player_line(p: &SquadPlayer) -> String {
    let mut s = format!(
        "{} ({}) **{}**",
        p.player.name, p.player.team, p.contribution
    );
    if p.is_captain {
        s.push_str(" (C)");
    } else if p.is_vice_captain {
        s.push_str(" (V)");
    }
    match p.auto_sub.as_deref() {
        Some("in") => s.push_str(" ↑ auto-sub"),
        Some("out") => s.push_str(" ↓ auto-sub"),
        _ => {}
    }
    if p.status == "pending" {
        s.push_str(" (yet to play)");
    }
    s
}

fn squad_lines(s: &SquadScore) -> String {
    let mut out = String::new();
    for pos in ["GKP", "DEF", "MID", "FWD"] {
        let line: Vec<String> = s
            .starting
            .iter()
            .filter(|p| p.player.position == pos)
            .map(player_line)
            .collect();
        if !line.is_empty() {
            out.push_str(&format!("- **{pos}:** {}\n", line.join(", ")));
        }
    }
    out.push_str(&format!(
        "- **Bench:** {}\n",
        s.bench
            .iter()
            .map(|p| format!("{} ({}) {}", p.player.name, p.player.team, p.points))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

fn score_line(s: &SquadScore) -> String {
    let mut out = format!(
        "**{} points**{}",
        s.net_points,
        if s.live { " so far (live)" } else { "" }
    );
    if s.transfer_cost > 0 {
        out.push_str(&format!(
            " ({} before a -{} hit)",
            s.points, s.transfer_cost
        ));
    }
    out.push_str(&format!(
        ", {} on the bench, formation {}",
        s.bench_points, s.formation
    ));
    if let Some(chip) = &s.chip {
        out.push_str(&format!(", **{chip}** played"));
    }
    if let Some(a) = &s.armband {
        if s.captain.as_ref().is_some_and(|c| c.id != a.id) {
            out.push_str(&format!(
                ". The captain did not play, so {} got the armband",
                a.name
            ));
        }
    }
    out
}

fn team(t: &ManagerTeam) -> String {
    let best = t.score.starting.iter().max_by_key(|p| p.contribution);
    let mut out = format!(
        "**{}** ({}) — gameweek {}: {}.\n\n{}",
        t.entry.team_name,
        t.entry.manager,
        t.score.gameweek,
        score_line(&t.score),
        squad_lines(&t.score)
    );
    if let Some(b) = best {
        out.push_str(&format!(
            "\nTop scorer: **{}** with {} points.",
            b.player.name, b.contribution
        ));
    }
    out.push_str(&format!(
        " Bank **£{:.1}m**, team value £{:.1}m, overall rank **{}** ({} points in total).",
        t.bank,
        t.team_value,
        rank(t.overall_rank),
        t.total_points
    ));
    if !t.score.auto_subs.is_empty() {
        out.push_str(&format!(
            " Automatic substitutions: {}.",
            t.score
                .auto_subs
                .iter()
                .map(|s| format!("{} for {}", s.came_in.name, s.out.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

fn history(h: &ManagerHistory, focus: HistoryFocus) -> String {
    let t = &h.totals;
    let head = format!("**{}** ({})", h.entry.team_name, h.entry.manager);
    match focus {
        HistoryFocus::Bench => {
            let worst = h.gameweeks.iter().max_by_key(|r| r.bench_points);
            format!(
                "{head} has left **{} points** on the bench over {} gameweeks{}.",
                t.bench_points,
                t.gameweeks,
                worst
                    .map(|r| format!(", the most in gameweek {} ({})", r.gameweek, r.bench_points))
                    .unwrap_or_default()
            )
        }
        HistoryFocus::Chips => {
            if h.chips.is_empty() {
                format!("{head} has not played a chip yet this season.")
            } else {
                format!(
                    "{head} has played: {}.",
                    h.chips
                        .iter()
                        .map(|c| format!("**{}** in gameweek {}", c.name, c.gameweek))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        }
        HistoryFocus::Hits => format!(
            "{head} has made **{} transfers** and taken **{} points** of hits{}.",
            t.transfers,
            t.hit_points,
            {
                let hits: Vec<String> = h
                    .gameweeks
                    .iter()
                    .filter(|r| r.transfer_cost > 0)
                    .map(|r| format!("-{} in gameweek {}", r.transfer_cost, r.gameweek))
                    .collect();
                if hits.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", hits.join(", "))
                }
            }
        ),
        HistoryFocus::Rank | HistoryFocus::General => {
            let mut out = format!("{head}, gameweek by gameweek:\n\n| GW | Points | Overall rank | Transfers | Bench | Chip |\n|---|---|---|---|---|---|\n");
            for r in &h.gameweeks {
                out.push_str(&format!(
                    "| {} | {}{} | {} | {} | {} | {} |\n",
                    r.gameweek,
                    r.net_points,
                    if r.transfer_cost > 0 {
                        format!(" (-{})", r.transfer_cost)
                    } else {
                        String::new()
                    },
                    rank(r.overall_rank),
                    r.transfers,
                    r.bench_points,
                    r.chip.as_deref().unwrap_or("")
                ));
            }
            if let (Some(b), Some(bp), Some(w), Some(wp)) = (
                t.best_gameweek,
                t.best_points,
                t.worst_gameweek,
                t.worst_points,
            ) {
                out.push_str(&format!(
                    "\nBest gameweek **{b}** ({bp} points), worst **{w}** ({wp}); average {:.1}. {} points in hits, {} left on the bench.",
                    t.average_points.unwrap_or(0.0),
                    t.hit_points,
                    t.bench_points
                ));
            }
            if let Some(last) = h.gameweeks.last() {
                out.push_str(&format!(
                    " Overall rank now **{}** with {} points.",
                    rank(last.overall_rank),
                    last.total_points
                ));
            }
            out
        }
    }
}

fn league(m: &MiniLeague) -> String {
    let mut out = format!("**{}** — {} teams:\n\n| # | Team | Manager | GW | Total | Gap |\n|---|---|---|---|---|---|\n", m.league.name, m.entries);
    for r in &m.standings {
        let arrow = match r.movement {
            0 => String::new(),
            x if x > 0 => format!(" ▲{x}"),
            x => format!(" ▼{}", -x),
        };
        out.push_str(&format!(
            "| {}{arrow} | {} | {} | {} | **{}** | {} |\n",
            r.rank,
            r.team_name,
            r.manager,
            r.gameweek_points,
            r.total,
            if r.gap_to_leader == 0 {
                "–".to_string()
            } else {
                format!("-{}", r.gap_to_leader)
            }
        ));
    }
    if let Some(a) = &m.analytics {
        if let Some(c) = a.captains.first() {
            out.push_str(&format!(
                "\nIn gameweek {}, **{}** was the most popular captain ({} of {} teams).",
                a.gameweek, c.player.name, c.count, a.analysed
            ));
        }
        let owned: Vec<String> = a
            .most_owned
            .iter()
            .take(3)
            .map(|s| format!("{} ({}/{})", s.player.name, s.count, a.analysed))
            .collect();
        if !owned.is_empty() {
            out.push_str(&format!(" Most owned: {}.", owned.join(", ")));
        }
        if !a.not_analysed.is_empty() {
            out.push_str(&format!(
                " ({} squad(s) could not be read.)",
                a.not_analysed.len()
            ));
        }
    }
    if let Some(d) = &m.differentials {
        let names = |v: &[crate::tools::fpl::mini_league::Share]| {
            v.iter()
                .map(|s| s.player.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "\n\nYour differentials: **{}**. Popular picks you don't have: {}.",
            if d.differentials.is_empty() {
                "none".into()
            } else {
                names(&d.differentials)
            },
            if d.missing.is_empty() {
                "none".into()
            } else {
                names(&d.missing)
            }
        ));
    }
    out
}

fn live(v: &LiveGameweekView) -> String {
    let mut out = format!(
        "Gameweek {} {} ({} of {} matches started).",
        v.gameweek,
        if v.finished { "is finished" } else { "is live" },
        v.started_matches,
        v.matches
    );
    if let Some(e) = &v.entry {
        out.push_str(&format!(
            "\n\n**{}**: {}.\n\n{}",
            e.entry.team_name,
            score_line(&e.score),
            squad_lines(&e.score)
        ));
    }
    out.push_str(&format!(
        "\nTop scorers: {}.",
        v.top_players
            .iter()
            .map(|l| format!(
                "**{}** {} pts{}",
                l.player.name,
                l.points,
                if l.provisional_bonus > 0 {
                    format!(" (+{} provisional bonus)", l.provisional_bonus)
                } else {
                    String::new()
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

fn dream(t: &DreamTeam) -> String {
    let title = match t.gameweek {
        Some(g) => format!("Gameweek {g} dream team"),
        None => "Dream team of the season so far".to_string(),
    };
    let mut out = format!(
        "**{title}** ({}, **{} points**{}):\n\n",
        t.formation,
        t.total_points,
        if t.provisional { ", provisional" } else { "" }
    );
    for pos in ["GKP", "DEF", "MID", "FWD"] {
        let line: Vec<String> = t
            .players
            .iter()
            .filter(|p| p.player.position == pos)
            .map(|p| format!("{} ({}) {}", p.player.name, p.player.team, p.points))
            .collect();
        out.push_str(&format!("- **{pos}:** {}\n", line.join(", ")));
    }
    if let Some(top) = &t.top_player {
        out.push_str(&format!(
            "\nPlayer of the {}: **{}** with {} points.",
            if t.gameweek.is_some() {
                "week"
            } else {
                "season"
            },
            top.player.name,
            top.points
        ));
    }
    out
}

fn moves(v: &[PriceMove], since_start: bool) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|m| {
            let c = if since_start {
                m.change_since_start
            } else {
                m.change_this_gameweek
            };
            format!(
                "**{}** ({}) {}£{:.1}m to £{:.1}m, {}% owned",
                m.player.name,
                m.player.team,
                if c >= 0.0 { "+" } else { "-" },
                c.abs(),
                m.player.price,
                m.selected_by_percent
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn prices(p: &PriceChanges) -> String {
    format!(
        "Price changes{}{}: **{} risers** and **{} fallers** this gameweek.\n\n- **Risers:** {}\n- **Fallers:** {}\n- **Biggest risers since the start:** {}\n- **Biggest fallers since the start:** {}",
        p.position.as_deref().map(|x| format!(" ({x})")).unwrap_or_default(),
        p.gameweek.map(|g| format!(" in gameweek {g}")).unwrap_or_default(),
        p.risers_this_gameweek,
        p.fallers_this_gameweek,
        moves(&p.risers, false),
        moves(&p.fallers, false),
        moves(&p.risers_since_start, true),
        moves(&p.fallers_since_start, true)
    )
}

fn captain(c: &CaptainPick) -> String {
    let Some(best) = c.candidates.first() else {
        return "I found no captain candidates.".into();
    };
    let mut out = format!(
        "For gameweek {}{}, captain **{}** ({}): {:.1} expected points — {}; against {}.\n\n",
        c.gameweek,
        c.entry
            .as_ref()
            .map(|e| format!(" in **{}**", e.team_name))
            .unwrap_or_default(),
        best.player.name,
        best.player.team,
        best.outlook.expected_points,
        best.outlook.parts.text(),
        crate::tools::fpl::outlook::matches_text(&best.outlook.matches)
    );
    out.push_str(
        "| # | Player | Expected | Form | xGI/90 | Fixture |\n|---|---|---|---|---|---|\n",
    );
    for x in &c.candidates {
        out.push_str(&format!(
            "| {} | {} ({}) | **{:.1}** | {} | {:.2} | {} |\n",
            x.rank,
            x.player.name,
            x.player.team,
            x.outlook.expected_points,
            x.outlook.form_value,
            x.outlook.xgi_per90,
            crate::tools::fpl::outlook::matches_text(&x.outlook.matches)
        ));
    }
    out.push_str(&format!("\nHow the score is made: {}.", c.method));
    out
}

fn transfers(p: &TransferPlan) -> String {
    let mut out = format!(
        "Transfers{} for gameweeks {}-{} (bank £{:.1}m, {} free transfer{}):\n\n",
        p.entry
            .as_ref()
            .map(|e| format!(" for **{}**", e.team_name))
            .unwrap_or_default(),
        p.gameweeks.first().copied().unwrap_or_default(),
        p.gameweeks.last().copied().unwrap_or_default(),
        p.bank,
        p.free_transfers,
        if p.free_transfers == 1 { "" } else { "s" }
    );
    if p.options.is_empty() {
        out.push_str("No transfer is expected to gain points: **roll the transfer**.");
        return out;
    }
    for (i, o) in p.options.iter().enumerate() {
        out.push_str(&format!(
            "{}. {} — **{:+.1} expected points**{}, £{:.1}m left.\n",
            i + 1,
            o.moves
                .iter()
                .map(|m| format!(
                    "**{}** (sell £{:.1}m) → **{}** (£{:.1}m)",
                    m.out.name, m.selling_price, m.came_in.name, m.price
                ))
                .collect::<Vec<_>>()
                .join(" and "),
            o.net_gain,
            if o.hit_cost > 0 {
                format!(" after a -{} hit", o.hit_cost)
            } else {
                String::new()
            },
            o.bank_after
        ));
    }
    if let Some(best) = p.options.first() {
        out.push_str(&format!("\nWhy: {}.", best.reasons.join("; ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::names::fold;

    fn ask(q: &str, remembered: Option<u32>) -> Option<ManagerAsk> {
        let f = fold(q);
        let ws: Vec<String> = f.split_whitespace().map(str::to_string).collect();
        read(&Clues {
            q: &f,
            ws: &ws,
            gameweek: None,
            position: None,
            players: Vec::new(),
            remembered_entry: remembered,
        })
    }

    #[test]
    fn ids_and_asks() {
        assert_eq!(
            ask("analyse my team 1000001", None),
            Some(ManagerAsk::Team {
                entry: 1000001,
                gameweek: None
            })
        );
        assert_eq!(
            ask("how is league 900001 going", None),
            Some(ManagerAsk::League {
                league: 900001,
                entry: None
            })
        );
        assert_eq!(
            ask("who should I captain?", None),
            Some(ManagerAsk::Captain {
                entry: None,
                players: vec![]
            })
        );
        assert_eq!(
            ask("who should I captain?", Some(84062)),
            Some(ManagerAsk::Captain {
                entry: Some(84062),
                players: vec![]
            })
        );
        assert_eq!(
            ask("which transfer should I make", None),
            Some(ManagerAsk::NeedEntry)
        );
        assert_eq!(
            ask("how is my mini-league going", None),
            Some(ManagerAsk::NeedLeague)
        );
        assert_eq!(ask("who was the most captained player", None), None);
        assert_eq!(ask("most transferred in players", None), None);
        assert_eq!(
            ask("how many points did i leave on my bench, team 84062", None),
            Some(ManagerAsk::History {
                entry: 84062,
                focus: HistoryFocus::Bench
            })
        );
    }
}
