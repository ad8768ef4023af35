//! Answer writing of the offline analyst.
//!
//! Promises: [`write`] turns the intent and the tool results of this turn into a short
//! Markdown answer whose numbers come from the results' `structured` data, read as each tool's
//! answer type (a result that does not read as it is answered with the tool's own text); an `is_error`
//! result (unknown or ambiguous name) becomes a clarifying answer with the tool's
//! suggestions; greetings, thanks and help are answered without tools.

use serde_json::Value;

use crate::llm::offline::intent::{GwFocus, Intent};
use crate::llm::offline::manager;
use crate::tools::fpl::comparison::ComparisonAnswer;
use crate::tools::fpl::difficulty::{DifficultyAnswer, TeamRun};
use crate::tools::fpl::fixture::FixturesAnswer;
use crate::tools::fpl::form::{FormRanking, PlayerForm, TeamFormAnswer};
use crate::tools::fpl::gameweek::{GameweekAnswer, GameweekFacts, GameweekPlayer};
use crate::tools::fpl::league::LeagueLeaders;
use crate::tools::fpl::player::{PlayerAnswer, UpcomingFixture};
use crate::tools::fpl::team::{TeamAnswer, TeamStanding};
use crate::tools::fpl::PlayerView;

/// One tool result of the turn.
#[derive(Debug, Clone)]
pub struct ToolResultView {
    pub name: String,
    pub text: String,
    pub structured: Value,
    pub is_error: bool,
}

pub const HELP: &str = "I'm the offline FPL analyst. I can answer questions about Fantasy Premier League players, teams, fixtures and gameweeks from the current FPL data, for example:\n\n\
- **Players:** \"How is Haaland doing?\", \"How much is Salah?\", \"Is Saka injured?\"\n\
- **Form:** \"Who is in form?\", \"Semenyo's form over the last 3 gameweeks\"\n\
- **Comparisons:** \"Compare Haaland and Watkins\"\n\
- **Leaders:** \"Top scorers\", \"Most assists among defenders\", \"Best goalkeepers by saves\"\n\
- **Fixtures:** \"Arsenal's next fixtures\", \"Who has the easiest fixtures for the next five gameweeks?\", \"Liverpool vs Chelsea\"\n\
- **Gameweeks:** \"When is the next deadline?\", \"What was the average score?\", \"Who was the most captained player?\"\n\
- **Teams:** \"Show the league table\", \"Where are Spurs in the table?\", \"Who is injured at Arsenal?\", \"How many goals have Chelsea scored?\"\n\
- **Your team** (give its id, the number in your team's address): \"Analyse my team 1000001\", \"Who should I captain? My team is 1000001\", \"Which transfer should I make for team 1000001?\", \"My bench points, team 84062\", \"Live points for team 84062\"\n\
- **Mini-leagues and more:** \"How is league 900001 going?\", \"Dream team of the week\", \"Price risers\"";

pub const GREETING: &str = "Hi! I'm your FPL assistant. Ask me about players, prices, injuries, form, fixtures, gameweeks or the league table — for example \"How is Haaland doing?\" or \"Who has the easiest fixtures for the next five gameweeks?\"";

pub const THANKS: &str = "You're welcome! Ask me anything else about FPL whenever you like — good luck with your team this gameweek.";

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn plural(count: &str, one: &str, many: &str) -> String {
    if count == "1" {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}

fn ordinal(v: i64) -> String {
    let suffix = match (v % 10, v % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{v}{suffix}")
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// Write the answer for `intent` from this turn's tool results.
pub fn write(intent: &Intent, results: &[ToolResultView]) -> String {
    match intent {
        Intent::Greeting => return GREETING.to_string(),
        Intent::Thanks => return THANKS.to_string(),
        Intent::Help => return HELP.to_string(),
        _ => {}
    }
    if let Intent::Manager(ask) = intent {
        if let Some(text) = manager::answer(ask, results) {
            return text;
        }
    }
    let Some(first) = results.first() else {
        return HELP.to_string();
    };
    if let Some(err) = results.iter().find(|r| r.is_error) {
        return clarify(err);
    }
    match intent {
        Intent::PlayerStats(_) => player_stats(first),
        Intent::PlayerPrice(_) => player_price(first),
        Intent::PlayerAvailability(_) => player_availability(first),
        Intent::PlayerForm(..) => player_form(first),
        Intent::Compare(_) => compare(first),
        Intent::TeamInfo(_) => team_info(first),
        Intent::TeamInjuries(_) => team_injuries(first),
        Intent::TeamGoals(_) => team_goals(first),
        Intent::TablePosition(_) => table_position(first),
        Intent::LeagueTable => league_table(first),
        Intent::TeamForm(..) => team_form(first),
        Intent::Leaders(..) => leaders(first),
        Intent::InForm(_) => in_form(first),
        Intent::TeamFixtures(..) | Intent::HeadToHead(..) => fixtures(first),
        Intent::EasiestFixtures(_, _, hardest) => easiest(first, *hardest),
        Intent::TeamDifficulty(..) => team_difficulty(first),
        Intent::Deadline(_) => deadline(first),
        Intent::Gameweek(_, focus) => gameweek(first, *focus),
        Intent::Greeting | Intent::Thanks | Intent::Help => HELP.to_string(),
        Intent::Manager(_) => results
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn clarify(r: &ToolResultView) -> String {
    let v = &r.structured;
    match s(v, "error") {
        "ambiguous" => {
            let cands: Vec<String> = arr(&v["candidates"])
                .iter()
                .map(|c| {
                    if c["position"].is_string() {
                        format!(
                            "- **{}** ({}, {}, {})",
                            s(c, "fullName"),
                            s(c, "teamName"),
                            s(c, "position"),
                            s(c, "priceText")
                        )
                    } else {
                        format!("- **{}**", s(c, "name"))
                    }
                })
                .collect();
            format!(
                "\"{}\" could be more than one {}. Which one do you mean?\n\n{}",
                s(v, "query"),
                if s(v, "kind") == "team" {
                    "team"
                } else {
                    "player"
                },
                cands.join("\n")
            )
        }
        "not_found" => {
            let sugg: Vec<String> = arr(&v["suggestions"])
                .iter()
                .map(|c| match c["team"].as_str() {
                    Some(t) => format!("**{}** ({t})", s(c, "name")),
                    None => format!("**{}**", s(c, "name")),
                })
                .collect();
            if sugg.is_empty() {
                format!(
                    "I couldn't find \"{}\" in the FPL data. Could you check the spelling?",
                    s(v, "query")
                )
            } else {
                format!(
                    "I couldn't find \"{}\". Did you mean {}?",
                    s(v, "query"),
                    sugg.join(" or ")
                )
            }
        }
        _ => format!("I couldn't answer that: {}", r.text),
    }
}

fn player_head(p: &PlayerView) -> String {
    format!(
        "**{}** ({}, {}, {})",
        p.full_name, p.team_name, p.position, p.price_text
    )
}

fn player_answer(r: &ToolResultView) -> Result<PlayerAnswer, String> {
    serde_json::from_value(r.structured.clone()).map_err(|_| r.text.clone())
}

fn upcoming_inline(fx: &[UpcomingFixture]) -> String {
    fx.iter()
        .map(|f| {
            format!(
                "{} {} ({}, FDR {})",
                f.gameweek
                    .map(|g| format!("GW{g}"))
                    .unwrap_or_else(|| "TBC".into()),
                f.opponent,
                if f.home { "H" } else { "A" },
                f.difficulty
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn player_stats(r: &ToolResultView) -> String {
    let v = match player_answer(r) {
        Ok(v) => v,
        Err(text) => return text,
    };
    let p = &v.player;
    let mut out = format!(
        "{} has **{} points** this season: {}, {} and {} in {} minutes (form {:.1}, {:.1} points per game).",
        player_head(p),
        p.total_points,
        plural(&p.goals.to_string(), "goal", "goals"),
        plural(&p.assists.to_string(), "assist", "assists"),
        plural(&p.bonus.to_string(), "bonus point", "bonus points"),
        p.minutes,
        p.form,
        p.points_per_game,
    );
    out.push_str(&format!(
        "\n\n- **xG / xA:** {:.2} / {:.2}\n- **Clean sheets:** {}",
        p.expected_goals, p.expected_assists, p.clean_sheets
    ));
    if p.position == "GKP" {
        out.push_str(&format!("\n- **Saves:** {}", p.saves));
    }
    out.push_str(&format!(
        "\n- **Selected by:** {:.1}%\n- **Availability:** {}",
        p.selected_by_percent, p.availability
    ));
    match v.fixtures.as_deref() {
        Some([]) => out.push_str("\n- **Next fixtures:** none left this season"),
        Some(fx) => out.push_str(&format!("\n- **Next fixtures:** {}", upcoming_inline(fx))),
        None => {}
    }
    out
}

fn player_price(r: &ToolResultView) -> String {
    let p = match player_answer(r) {
        Ok(v) => v.player,
        Err(text) => return text,
    };
    let change = p.price_change_since_start;
    let change_text = if change.abs() < 1e-9 {
        "unchanged since the start of the season".to_string()
    } else {
        format!(
            "{} £{:.1}m since the start of the season",
            if change > 0.0 { "up" } else { "down" },
            change.abs()
        )
    };
    format!(
        "**{}** ({}, {}) costs **{}** — {}. He has {} points and is selected by {:.1}% of managers.",
        p.full_name, p.team_name, p.position, p.price_text, change_text, p.total_points, p.selected_by_percent
    )
}

fn player_availability(r: &ToolResultView) -> String {
    let p = match player_answer(r) {
        Ok(v) => v.player,
        Err(text) => return text,
    };
    let lead = match p.status.as_str() {
        "available" if p.chance_of_playing_next_round.is_some_and(|c| c < 100) => {
            "is available but flagged"
        }
        "available" => "is **available** — no injury news",
        "injured" => "is **injured**",
        "doubtful" => "is **doubtful**",
        "suspended" => "is **suspended**",
        _ => "is **unavailable**",
    };
    let mut out = format!("**{}** ({}) {}.", p.full_name, p.team_name, lead);
    if let Some(c) = p.chance_of_playing_next_round {
        out.push_str(&format!(" Chance of playing next round: **{c}%**."));
    }
    if !p.news.is_empty() {
        out.push_str(&format!("\n\nLatest news: \"{}\"", p.news));
        if let Some(added) = p.news_added {
            out.push_str(&format!(" (added {})", added.format("%Y-%m-%d")));
        }
    }
    out
}

fn player_form(r: &ToolResultView) -> String {
    let v = match serde_json::from_value::<PlayerForm>(r.structured.clone()) {
        Ok(v) => v,
        Err(_) => return r.text.clone(),
    };
    let p = &v.player;
    let (Some(c), Some(w)) = (&v.current, &v.window) else {
        let season = v.season.as_ref();
        return format!(
            "Per-gameweek history for **{}** ({}) is not available in this data snapshot, so I can't break down recent gameweeks. His FPL form figure (average points per match over the last 30 days) is **{:.1}**, and he finished with {} points this season ({} goals, {} assists).",
            p.full_name,
            p.team_name,
            v.fpl_form,
            season.map_or(p.total_points, |s| s.points),
            season.map_or(p.goals, |s| s.goals),
            season.map_or(p.assists, |s| s.assists)
        );
    };
    let mut out = format!(
        "**{}** ({}) over the last {} gameweeks (GW{}–GW{}): **{} points** ({:.1} per gameweek), {}, {}, {} bonus, xG {:.2}, xA {:.2} in {} minutes.",
        p.full_name,
        p.team_name,
        c.gameweeks,
        w.from,
        w.to,
        c.points,
        c.points_per_gameweek,
        plural(&c.goals.to_string(), "goal", "goals"),
        plural(&c.assists.to_string(), "assist", "assists"),
        c.bonus,
        c.xg,
        c.xa,
        c.minutes
    );
    let gws: Vec<String> = v
        .gameweeks
        .iter()
        .flatten()
        .map(|g| {
            format!(
                "GW{} {} ({}) {} pts",
                g.gameweek,
                g.opponent,
                if g.home { "H" } else { "A" },
                g.points
            )
        })
        .collect();
    if !gws.is_empty() {
        out.push_str(&format!("\n\n- {}", gws.join("\n- ")));
    }
    if let (Some(prev), Some(pw)) = (&v.previous, &v.previous_window) {
        let change = v.points_change.unwrap_or(0);
        out.push_str(&format!(
            "\n\nThe {} gameweeks before that (GW{}–GW{}) brought {} points, so he is **{}**.",
            prev.gameweeks,
            pw.from,
            pw.to,
            prev.points,
            match change.signum() {
                1 => format!("up {change} points"),
                -1 => format!("down {} points", -change),
                _ => "level".to_string(),
            }
        ));
    }
    out
}

fn compare(r: &ToolResultView) -> String {
    let v = match serde_json::from_value::<ComparisonAnswer>(r.structured.clone()) {
        Ok(v) => v,
        Err(_) => return r.text.clone(),
    };
    let mut out = format!(
        "{}\n\n| | {} |\n|---|{}\n",
        v.players
            .iter()
            .map(player_head)
            .collect::<Vec<_>>()
            .join(" vs "),
        v.players
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(v.players.len())
    );
    let mut leads: Vec<String> = Vec::new();
    for c in &v.categories {
        let label = match c.category.as_str() {
            "points" => "Points",
            "goals" => "Goals",
            "assists" => "Assists",
            "minutes" => "Minutes",
            "clean_sheets" => "Clean sheets",
            "bonus" => "Bonus",
            "yellow_cards" => "Yellow cards",
            "red_cards" => "Red cards",
            "saves" => "Saves",
            "price" => "Price",
            "form" => "Form",
            "selected" => "Selected by",
            other => other,
        };
        out.push_str(&format!(
            "| {label} | {} |\n",
            c.values
                .iter()
                .map(|x| {
                    if c.leaders.contains(&x.name) {
                        format!("**{}**", x.display)
                    } else {
                        x.display.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        if c.category == "points" && c.leaders.len() == 1 {
            leads.push(format!("{} leads on points", c.leaders[0]));
        }
        if c.category == "price" && c.leaders.len() == 1 {
            leads.push(format!("{} is the cheaper option", c.leaders[0]));
        }
    }
    if !leads.is_empty() {
        out.push_str(&format!("\n{}.", leads.join("; ")));
    }
    if let Some(fx) = &v.fixtures {
        let lines: Vec<String> = v
            .players
            .iter()
            .filter_map(|p| {
                let f = upcoming_inline(fx.get(&p.id.to_string())?);
                (!f.is_empty()).then(|| format!("- **{}:** {}", p.name, f))
            })
            .collect();
        if !lines.is_empty() {
            out.push_str(&format!("\n\nNext fixtures:\n{}", lines.join("\n")));
        }
    }
    out
}

fn team_answer(r: &ToolResultView) -> Result<TeamAnswer, String> {
    serde_json::from_value(r.structured.clone()).map_err(|_| r.text.clone())
}

/// The club of a single-club answer, or the tool's text.
fn team_of(r: &ToolResultView) -> Result<(TeamStanding, TeamAnswer), String> {
    let mut v = team_answer(r)?;
    let t = v.team.take().ok_or_else(|| r.text.clone())?;
    Ok((t, v))
}

fn team_record(t: &TeamStanding) -> String {
    format!(
        "P{} W{} D{} L{}, {} scored, {} conceded (GD {:+}), {} points",
        t.played, t.won, t.drawn, t.lost, t.goals_for, t.goals_against, t.goal_difference, t.points
    )
}

fn place(t: &TeamStanding) -> String {
    ordinal(i64::from(t.position.unwrap_or(0)))
}

fn team_info(r: &ToolResultView) -> String {
    let (t, v) = match team_of(r) {
        Ok(x) => x,
        Err(text) => return text,
    };
    let mut out = format!(
        "**{}** are **{}** in the table: {}.",
        t.name,
        place(&t),
        team_record(&t)
    );
    let form: Vec<&str> = v.form.iter().flatten().map(|f| f.result.as_str()).collect();
    if !form.is_empty() {
        out.push_str(&format!(
            "\n\n- **Form (last {}):** {}",
            form.len(),
            form.join(" ")
        ));
    }
    if let Some(fx) = v.fixtures.as_deref().filter(|f| !f.is_empty()) {
        out.push_str(&format!("\n- **Next fixtures:** {}", upcoming_inline(fx)));
    }
    let top: Vec<String> = v
        .top_players
        .iter()
        .flatten()
        .take(3)
        .map(|p| {
            format!(
                "{} (£{:.1}m, {} pts)",
                p.player.name, p.player.price, p.total_points
            )
        })
        .collect();
    if !top.is_empty() {
        out.push_str(&format!("\n- **Top FPL players:** {}", top.join(", ")));
    }
    out
}

fn team_injuries(r: &ToolResultView) -> String {
    let (t, v) = match team_of(r) {
        Ok(x) => x,
        Err(text) => return text,
    };
    let list = v.injuries.unwrap_or_default();
    if list.is_empty() {
        return format!(
            "**{}** have no injured, doubtful or suspended players listed right now.",
            t.name
        );
    }
    let lines: Vec<String> = list
        .iter()
        .map(|p| {
            let chance = p
                .chance_of_playing_next_round
                .map(|c| format!(", {c}% chance of playing"))
                .unwrap_or_default();
            format!(
                "- **{}** ({}) — {}{}{}",
                p.player.name,
                p.player.position,
                p.status,
                chance,
                if p.news.is_empty() {
                    String::new()
                } else {
                    format!(": {}", p.news)
                }
            )
        })
        .collect();
    format!(
        "**{}** have {} flagged:\n\n{}",
        t.name,
        plural(&list.len().to_string(), "player", "players"),
        lines.join("\n")
    )
}

fn team_goals(r: &ToolResultView) -> String {
    let (t, _) = match team_of(r) {
        Ok(x) => x,
        Err(text) => return text,
    };
    format!(
        "**{}** have scored **{} goals** and conceded {} in {} league matches (goal difference {:+}). They are {} with {} points.",
        t.name,
        t.goals_for,
        t.goals_against,
        t.played,
        t.goal_difference,
        place(&t),
        t.points
    )
}

fn table_position(r: &ToolResultView) -> String {
    let (t, v) = match team_of(r) {
        Ok(x) => x,
        Err(text) => return text,
    };
    let form: String = v
        .form
        .iter()
        .flatten()
        .map(|f| f.result.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = format!(
        "**{}** are **{}** in the Premier League with **{} points** (P{} W{} D{} L{}, {} scored, {} conceded, GD {:+}).",
        t.name,
        place(&t),
        t.points,
        t.played,
        t.won,
        t.drawn,
        t.lost,
        t.goals_for,
        t.goals_against,
        t.goal_difference
    );
    if !form.is_empty() {
        out.push_str(&format!(" Recent form: {form}."));
    }
    out
}

fn league_table(r: &ToolResultView) -> String {
    let v = match team_answer(r) {
        Ok(v) => v,
        Err(text) => return text,
    };
    let mut out = String::from("Here is the Premier League table, computed from the finished matches:\n\n| # | Team | P | W | D | L | GF | GA | GD | Pts |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for t in v.table.iter().flatten() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:+} | **{}** |\n",
            t.position.unwrap_or(0),
            t.name,
            t.played,
            t.won,
            t.drawn,
            t.lost,
            t.goals_for,
            t.goals_against,
            t.goal_difference,
            t.points
        ));
    }
    out.trim_end().to_string()
}

fn team_form(r: &ToolResultView) -> String {
    let v = match serde_json::from_value::<TeamFormAnswer>(r.structured.clone()) {
        Ok(v) => v,
        Err(_) => return r.text.clone(),
    };
    let c = &v.current;
    let results: Vec<String> = v
        .results
        .iter()
        .map(|f| {
            format!(
                "GW{} {} ({}) {} {}-{}",
                f.gameweek.unwrap_or(0),
                f.opponent,
                if f.home { "H" } else { "A" },
                f.result,
                f.goals_for,
                f.goals_against
            )
        })
        .collect();
    let mut out = format!(
        "**{}** in their last {} matches: **W{} D{} L{}**, {} scored and {} conceded ({} points).\n\n- {}",
        v.team.name,
        c.matches,
        c.won,
        c.drawn,
        c.lost,
        c.goals_for,
        c.goals_against,
        c.points,
        results.join("\n- ")
    );
    if let Some(p) = &v.previous {
        out.push_str(&format!(
            "\n\nThe {} matches before: W{} D{} L{} ({} points).",
            p.matches, p.won, p.drawn, p.lost, p.points
        ));
    }
    out
}

fn leaders(r: &ToolResultView) -> String {
    let Ok(v) = serde_json::from_value::<LeagueLeaders>(r.structured.clone()) else {
        return r.text.clone();
    };
    let cat = match v.category.as_str() {
        "clean_sheets" => "clean sheets",
        "points" => "total points",
        "bonus" => "bonus points",
        "price" => "expensive",
        "ownership" => "selected (ownership)",
        "form" => "in form",
        "expected_goals" => "expected goals (xG)",
        "expected_assists" => "expected assists (xA)",
        "expected_goal_involvements" => "expected goal involvements (xGI)",
        "points_per_million" => "points per £m",
        other => other,
    };
    let mut scope = match v.position.as_deref() {
        Some("GKP") => " among goalkeepers",
        Some("DEF") => " among defenders",
        Some("MID") => " among midfielders",
        Some("FWD") => " among forwards",
        _ => "",
    }
    .to_string();
    if let Some(p) = v.max_price {
        scope.push_str(&format!(" at £{p:.1}m or less"));
    }
    if let Some(o) = v.max_ownership {
        scope.push_str(&format!(" owned by {o}% or less"));
    }
    if v.leaders.is_empty() {
        return format!("No player{scope} has recorded any {cat} yet this season.");
    }
    let lines: Vec<String> = v
        .leaders
        .iter()
        .map(|l| {
            let extra = match (l.yellow_cards, l.red_cards) {
                (Some(y), Some(r)) => format!(" ({y} yellow, {r} red)"),
                _ => String::new(),
            };
            format!(
                "{}. **{}** ({}, {}, £{:.1}m) — {}{}, {:.1}% owned",
                l.rank,
                l.player.name,
                l.player.team,
                l.player.position,
                l.player.price,
                l.value_text,
                extra,
                l.selected_by_percent
            )
        })
        .collect();
    format!("Most {cat}{scope} this season:\n\n{}", lines.join("\n"))
}

fn in_form(r: &ToolResultView) -> String {
    let v = match serde_json::from_value::<FormRanking>(r.structured.clone()) {
        Ok(v) => v,
        Err(_) => return r.text.clone(),
    };
    let scope = match v.position.as_deref() {
        Some("GKP") => "goalkeepers",
        Some("DEF") => "defenders",
        Some("MID") => "midfielders",
        Some("FWD") => "forwards",
        _ => "players",
    };
    let lines: Vec<String> = v
        .ranking
        .iter()
        .take(10)
        .map(|p| {
            format!(
                "{}. **{}** ({}, {}, £{:.1}m) — form {:.1}, {} pts this season",
                p.rank,
                p.player.name,
                p.player.team,
                p.player.position,
                p.player.price,
                p.form,
                p.total_points
            )
        })
        .collect();
    format!(
        "The {scope} in the best form (FPL form = average points per match over the last 30 days):\n\n{}",
        lines.join("\n")
    )
}

fn fixtures(r: &ToolResultView) -> String {
    let v = match serde_json::from_value::<FixturesAnswer>(r.structured.clone()) {
        Ok(v) => v,
        Err(_) => return r.text.clone(),
    };
    let mut out = String::new();
    if let Some(note) = &v.note {
        out.push_str(note);
        out.push_str("\n\n");
    }
    if v.fixtures.is_empty() {
        out.push_str(&format!("No matches found for {}.", v.subject));
        return out;
    }
    out.push_str(&format!("**{}**:\n\n", v.subject));
    let lines: Vec<String> = v
        .fixtures
        .iter()
        .map(|item| {
            let f = &item.fixture;
            let gw = f
                .gameweek
                .map(|g| format!("GW{g}"))
                .unwrap_or_else(|| "TBC".into());
            match (f.finished, f.home_score, f.away_score) {
                (true, Some(h), Some(a)) => format!("- {gw}: {} **{h}-{a}** {}", f.home, f.away),
                _ => format!(
                    "- {gw} ({}): {} v {} — FDR {} {} / {} {}",
                    f.kickoff_text,
                    f.home,
                    f.away,
                    f.home_short,
                    f.home_difficulty,
                    f.away_short,
                    f.away_difficulty
                ),
            }
        })
        .collect();
    out.push_str(&lines.join("\n"));
    out
}

fn run_inline(t: &TeamRun) -> String {
    t.gameweeks
        .iter()
        .map(|g| {
            if g.fixtures.is_empty() {
                format!("GW{} blank", g.gameweek)
            } else {
                format!(
                    "GW{} {}",
                    g.gameweek,
                    g.fixtures
                        .iter()
                        .map(|f| format!(
                            "{} ({}) {}",
                            f.opponent,
                            if f.home { "H" } else { "A" },
                            f.difficulty
                        ))
                        .collect::<Vec<_>>()
                        .join(" + ")
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn gameweek_list(gws: &[u32]) -> String {
    gws.iter()
        .map(|g| format!("GW{g}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn difficulty(r: &ToolResultView) -> Result<DifficultyAnswer, String> {
    serde_json::from_value(r.structured.clone()).map_err(|_| r.text.clone())
}

fn easiest(r: &ToolResultView, hardest: bool) -> String {
    let v = match difficulty(r) {
        Ok(v) => v,
        Err(text) => return text,
    };
    if v.season_over {
        return "The season is over, so there are no upcoming fixtures to rate. Ask me again once next season's fixtures are out — or ask about this season's final table or leaders.".to_string();
    }
    let from = v.gameweeks.first().copied().unwrap_or_default();
    let to = v.gameweeks.last().copied().unwrap_or_default();
    let mut teams: Vec<&TeamRun> = v.teams.iter().collect();
    if hardest {
        teams.reverse();
    }
    let lines: Vec<String> = teams
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, t)| {
            let mut extra = String::new();
            if !t.double_gameweeks.is_empty() {
                extra.push_str(" · double gameweek");
            }
            if !t.blank_gameweeks.is_empty() {
                extra.push_str(" · has a blank");
            }
            format!(
                "{}. **{}** — average FDR **{:.2}**: {}{}",
                i + 1,
                t.team,
                t.average_difficulty.unwrap_or(0.0),
                run_inline(t),
                extra
            )
        })
        .collect();
    format!(
        "{} fixtures over the next {} gameweeks (GW{from}–GW{to}), by average FPL difficulty (1 easy – 5 hard):\n\n{}",
        if hardest { "Hardest" } else { "Easiest" },
        v.gameweeks.len(),
        lines.join("\n")
    )
}

fn team_difficulty(r: &ToolResultView) -> String {
    let v = match difficulty(r) {
        Ok(v) => v,
        Err(text) => return text,
    };
    if v.season_over {
        return "The season is over, so there are no upcoming fixtures to rate.".to_string();
    }
    let Some(t) = v.teams.first() else {
        return r.text.clone();
    };
    let mut out = format!(
        "**{}** over the next {} gameweeks have an average FDR of **{:.2}** across {} matches: {}.",
        t.team,
        v.gameweeks.len(),
        t.average_difficulty.unwrap_or(0.0),
        t.fixture_count,
        run_inline(t)
    );
    if !t.double_gameweeks.is_empty() {
        out.push_str(&format!(
            " Double gameweek: {}.",
            gameweek_list(&t.double_gameweeks)
        ));
    }
    if !t.blank_gameweeks.is_empty() {
        out.push_str(&format!(" Blank: {}.", gameweek_list(&t.blank_gameweeks)));
    }
    out
}

/// The gameweek of an `fpl_get_gameweek` result, or the tool's own text when there is none.
fn gameweek_facts(r: &ToolResultView) -> Result<GameweekFacts, String> {
    serde_json::from_value::<GameweekAnswer>(r.structured.clone())
        .ok()
        .and_then(|a| a.gameweek)
        .ok_or_else(|| r.text.clone())
}

fn deadline(r: &ToolResultView) -> String {
    let g = match gameweek_facts(r) {
        Ok(g) => g,
        Err(text) => return text,
    };
    let which = if g.is_next {
        "The next deadline"
    } else {
        "The deadline"
    };
    format!("{which} is for **{}**: **{}**.", g.name, g.deadline_text)
}

fn gameweek(r: &ToolResultView, focus: GwFocus) -> String {
    let g = match gameweek_facts(r) {
        Ok(g) => g,
        Err(text) => return text,
    };
    let name = &g.name;
    if !(g.finished || g.is_current) {
        return format!("**{name}** hasn't started yet — the deadline is **{}**. Scores, captaincy and chip numbers appear once it is under way.", g.deadline_text);
    }
    let pl = |p: &Option<GameweekPlayer>| -> String {
        match p {
            Some(p) => format!("**{}** ({})", p.player.name, p.player.team),
            None => "unknown".into(),
        }
    };
    let num = |v: Option<i32>| v.map_or_else(|| "–".to_string(), |v| v.to_string());
    let chips: Vec<String> = g
        .chip_plays
        .iter()
        .map(|c| format!("{} {}", c.chip, crate::tools::fpl::thousands(c.played)))
        .collect();
    match focus {
        GwFocus::Average => format!(
            "The average score in **{name}** was **{} points**; the highest was {}.",
            num(g.average_score),
            num(g.highest_score)
        ),
        GwFocus::Highest => format!(
            "The highest score in **{name}** was **{} points** (average {}).",
            num(g.highest_score),
            num(g.average_score)
        ),
        GwFocus::Captain => format!(
            "In **{name}** the most captained player was {}, and the most vice-captained was {}.",
            pl(&g.most_captained),
            pl(&g.most_vice_captained)
        ),
        GwFocus::Chips => format!(
            "Chips played in **{name}**: {}.",
            if chips.is_empty() {
                "no data".to_string()
            } else {
                chips.join(", ")
            }
        ),
        GwFocus::Transfers => format!(
            "In **{name}** the most transferred-in player was {}; {} transfers were made.",
            pl(&g.most_transferred_in),
            crate::tools::fpl::thousands(g.transfers_made.unwrap_or(0))
        ),
        GwFocus::TopPlayer | GwFocus::General => {
            let mut out = format!(
                "**{name}** ({}): average score **{}**, highest **{}**.\n\n- **Most captained:** {}\n- **Most vice-captained:** {}\n- **Most selected:** {}\n- **Most transferred in:** {}",
                if g.finished { "finished" } else { "in progress" },
                num(g.average_score),
                num(g.highest_score),
                pl(&g.most_captained),
                pl(&g.most_vice_captained),
                pl(&g.most_selected),
                pl(&g.most_transferred_in)
            );
            if let Some(top) = &g.top_player {
                out.push_str(&format!(
                    "\n- **Top player:** {} ({}) with {} points",
                    top.player.name,
                    top.player.team,
                    num(top.points)
                ));
            }
            if !chips.is_empty() {
                out.push_str(&format!("\n- **Chips:** {}", chips.join(", ")));
            }
            out
        }
    }
}
