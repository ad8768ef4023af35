//! Pictures of tool results for the tool cards: a manager's squad on a pitch, a mini-league
//! table with movement arrows, a captain score breakdown, a player's points per gameweek and
//! fixture-difficulty strips, rendered on the server as SVG / HTML so that they show without
//! JavaScript and are stored with the message.
//!
//! Promises: [`render`] returns `None` for a tool or result it has no picture for (and for
//! error results), never fails a turn; every text from the data is escaped, the markup has no
//! scripts, no event handlers and no inline styles (colours are classes of the stylesheet,
//! with a dark variant), so it is safe to insert as HTML under the page's CSP; every picture
//! is a `<figure>` with a title and a text alternative (an SVG `<title>`/`<desc>` or a real
//! table) and scales to the card's width.

mod bars;
mod markup;
mod pitch;
mod strip;
mod table;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::tools::fpl::captain_pick::CaptainPick;
use crate::tools::fpl::dream_team::DreamTeam;
use crate::tools::fpl::live_gameweek::LiveGameweekView;
use crate::tools::fpl::manager_team::ManagerTeam;
use crate::tools::fpl::mini_league::MiniLeague;
use crate::tools::fpl::player::PlayerAnswer;

/// Largest picture kept (bytes): a bigger one is dropped rather than stored.
pub const MAX_VISUAL_BYTES: usize = 64 * 1024;

fn typed<T: DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

/// The picture of one tool result; `id` makes its element ids unique on the page.
pub fn render(tool: &str, id: &str, structured: &Value) -> Option<String> {
    let id = markup::id_safe(id);
    let html = match tool {
        "fpl_manager_team" => {
            let t: ManagerTeam = typed(structured)?;
            pitch::squad(&id, &t.entry.team_name, &t.score)
        }
        "fpl_live_gameweek" => {
            let v: LiveGameweekView = typed(structured)?;
            let e = v.entry?;
            pitch::squad(&id, &e.entry.team_name, &e.score)
        }
        "fpl_dream_team" => pitch::dream_team(&id, &typed::<DreamTeam>(structured)?),
        "fpl_mini_league" => table::league(&id, &typed::<MiniLeague>(structured)?),
        "fpl_captain_pick" => bars::captain(&id, &typed::<CaptainPick>(structured)?),
        "fpl_player_data" => {
            let answer: PlayerAnswer = typed(structured)?;
            let history = bars::player_points(&id, &answer);
            let fixtures = strip::player_fixtures(&id, &answer);
            match (history, fixtures) {
                (None, None) => return None,
                (a, b) => format!("{}{}", a.unwrap_or_default(), b.unwrap_or_default()),
            }
        }
        "fpl_fixture_difficulty" => strip::teams(&id, &typed(structured)?)?,
        _ => return None,
    };
    (html.len() <= MAX_VISUAL_BYTES).then_some(html)
}

#[cfg(test)]
mod tests;
