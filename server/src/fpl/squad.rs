//! An entry's gameweek scored as the FPL game scores it: automatic substitutions, captaincy
//! and chips, on live (or final) player points.
//!
//! Promises: a starter who did not play (0 minutes once all his club's matches are over, or
//! a blank) is replaced by the first bench player, in bench order, who played and keeps the
//! formation legal (1 goalkeeper, at least 3 defenders, 2 midfielders, 1 forward); a
//! goalkeeper only by the bench goalkeeper; a starter whose match is still to come is never
//! replaced; no substitutions under Bench Boost, where all fifteen score. The captain's
//! points count twice (three times with Triple Captain); if the captain did not play, the
//! vice-captain's do. `points` is before any transfer hit, `bench_points` the bench's points
//! after substitutions (0 under Bench Boost), as the API reports them. Scoring the API's own
//! picks of a finished gameweek (where substitutions are already applied) gives the API's
//! `points` and `points_on_bench` exactly (tested on every shared manager and gameweek).

use crate::fpl::data::FplData;
use crate::fpl::live::LiveGameweek;
use crate::fpl::manager::Picks;
use crate::fpl::model::Position;

/// Chips as the picks payload names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    BenchBoost,
    TripleCaptain,
    FreeHit,
    Wildcard,
    /// A chip this code does not know (scored as no chip).
    Other,
}

impl Chip {
    /// From the API's name (`bboost`, `3xc`, `freehit`, `wildcard`).
    pub fn parse(raw: &str) -> Self {
        match raw {
            "bboost" => Chip::BenchBoost,
            "3xc" => Chip::TripleCaptain,
            "freehit" => Chip::FreeHit,
            "wildcard" => Chip::Wildcard,
            _ => Chip::Other,
        }
    }

    /// "Bench Boost".
    pub fn label(self) -> &'static str {
        match self {
            Chip::BenchBoost => "Bench Boost",
            Chip::TripleCaptain => "Triple Captain",
            Chip::FreeHit => "Free Hit",
            Chip::Wildcard => "Wildcard",
            Chip::Other => "another chip",
        }
    }
}

/// Whether a player has played in the gameweek.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appearance {
    Played,
    /// 0 minutes and his club's matches are over (or it had none).
    DidNotPlay,
    /// 0 minutes so far, a match still to come.
    Pending,
}

/// One of the fifteen, scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoredPick {
    pub element: u32,
    pub position: Position,
    /// 1-11 in the XI, 12-15 on the bench, after automatic substitutions.
    pub slot: u8,
    pub multiplier: u8,
    pub is_captain: bool,
    pub is_vice_captain: bool,
    pub minutes: i32,
    /// The player's gameweek points (one times), provisional bonus included.
    pub points: i32,
    pub provisional_bonus: i32,
    pub appearance: Appearance,
    /// Came off the bench (true) or was replaced (false) by an automatic substitution.
    pub auto_sub: Option<bool>,
}

impl ScoredPick {
    /// In the XI after substitutions (under Bench Boost the bench scores too).
    pub fn starts(&self) -> bool {
        self.slot <= 11
    }

    /// Points this pick adds to the entry's score.
    pub fn contribution(&self) -> i32 {
        self.points * i32::from(self.multiplier)
    }
}

/// An entry's gameweek, scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoredSquad {
    /// The fifteen by slot.
    pub picks: Vec<ScoredPick>,
    pub chip: Option<Chip>,
    /// `(out, in)` pairs, in the order they were made.
    pub auto_subs: Vec<(u32, u32)>,
    /// Before the transfer hit.
    pub points: i32,
    pub bench_points: i32,
    /// Who got the captain's multiplier (None: neither captain nor vice played).
    pub armband: Option<u32>,
}

fn legal(xi: &[Position]) -> bool {
    let count = |p: Position| xi.iter().filter(|x| **x == p).count();
    count(Position::Goalkeeper) == 1
        && count(Position::Defender) >= 3
        && count(Position::Midfielder) >= 2
        && count(Position::Forward) >= 1
}

/// Scores `picks` on `live`; positions come from the data (the pick's own `element_type`
/// when the player is unknown).
pub fn score(d: &FplData, picks: &Picks, live: &LiveGameweek) -> ScoredSquad {
    let chip = picks.active_chip.as_deref().map(Chip::parse);
    let mut squad: Vec<ScoredPick> = picks
        .picks
        .iter()
        .map(|p| {
            let lp = live.player(p.element);
            let position = d
                .player(p.element)
                .map(|e| e.element_type)
                .or_else(|| p.element_type.and_then(Position::from_element_type))
                .unwrap_or(Position::Midfielder);
            let appearance = match (lp.minutes > 0, lp.done) {
                (true, _) => Appearance::Played,
                (false, true) => Appearance::DidNotPlay,
                (false, false) => Appearance::Pending,
            };
            ScoredPick {
                element: p.element,
                position,
                slot: p.position,
                multiplier: 0,
                is_captain: p.is_captain,
                is_vice_captain: p.is_vice_captain,
                minutes: lp.minutes,
                points: lp.points,
                provisional_bonus: lp.provisional_bonus,
                appearance,
                auto_sub: None,
            }
        })
        .collect();
    squad.sort_by_key(|p| p.slot);
    let bench_boost = chip == Some(Chip::BenchBoost);
    let auto_subs = if bench_boost {
        Vec::new()
    } else {
        substitute(&mut squad)
    };
    let armband = armband(&squad);
    let captain_times = if chip == Some(Chip::TripleCaptain) {
        3
    } else {
        2
    };
    for p in &mut squad {
        p.multiplier = match (p.starts() || bench_boost, Some(p.element) == armband) {
            (false, _) => 0,
            (true, true) => captain_times,
            (true, false) => 1,
        };
    }
    squad.sort_by_key(|p| p.slot);
    let points = squad.iter().map(ScoredPick::contribution).sum();
    let bench_points = if bench_boost {
        0
    } else {
        squad.iter().filter(|p| !p.starts()).map(|p| p.points).sum()
    };
    ScoredSquad {
        picks: squad,
        chip,
        auto_subs,
        points,
        bench_points,
        armband,
    }
}

/// Makes the automatic substitutions in place (swapping slots) and returns them.
fn substitute(squad: &mut [ScoredPick]) -> Vec<(u32, u32)> {
    let mut made = Vec::new();
    for out in 0..squad.len() {
        if !(squad[out].starts() && squad[out].appearance == Appearance::DidNotPlay) {
            continue;
        }
        let out_keeper = squad[out].position == Position::Goalkeeper;
        let mut bench: Vec<usize> = (0..squad.len()).filter(|i| !squad[*i].starts()).collect();
        bench.sort_by_key(|i| squad[*i].slot);
        let chosen = bench.into_iter().find(|&b| {
            let candidate = &squad[b];
            if candidate.appearance != Appearance::Played
                || candidate.auto_sub.is_some()
                || (candidate.position == Position::Goalkeeper) != out_keeper
            {
                return false;
            }
            let xi: Vec<Position> = squad
                .iter()
                .enumerate()
                .filter(|(i, p)| p.starts() && *i != out)
                .map(|(_, p)| p.position)
                .chain(std::iter::once(candidate.position))
                .collect();
            legal(&xi)
        });
        if let Some(b) = chosen {
            let (slot_out, slot_in) = (squad[out].slot, squad[b].slot);
            squad[out].slot = slot_in;
            squad[b].slot = slot_out;
            squad[out].auto_sub = Some(false);
            squad[b].auto_sub = Some(true);
            made.push((squad[out].element, squad[b].element));
        }
    }
    made
}

/// The captain if he played or may still play, else the vice-captain if he did.
fn armband(squad: &[ScoredPick]) -> Option<u32> {
    let captain = squad.iter().find(|p| p.is_captain);
    let vice = squad.iter().find(|p| p.is_vice_captain);
    match (captain, vice) {
        (Some(c), _) if c.appearance != Appearance::DidNotPlay => Some(c.element),
        (_, Some(v)) if v.appearance != Appearance::DidNotPlay => Some(v.element),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use crate::fpl::FplSource;

    /// Every shared manager's every gameweek: our score of the API's picks is the API's
    /// points and bench points (chips, captains who did not play, substitutions included).
    #[tokio::test]
    async fn scores_equal_the_apis_for_every_shared_manager_and_gameweek() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let d = source.data().await.unwrap();
        let mut chips = Vec::new();
        let mut subs = 0;
        for entry in [84062, 1000001, 1000002, 1000003, 1000004] {
            for gw in 1..=7 {
                let picks = source.entry_picks(entry, gw).await.unwrap();
                let live = source.event_live(gw).await.unwrap();
                let g = LiveGameweek::new(&d, live.data(), gw);
                let s = score(&d, picks.data(), &g);
                let api = &picks.data().entry_history;
                assert_eq!(s.points, api.points, "entry {entry} gw {gw}");
                assert_eq!(s.bench_points, api.points_on_bench, "entry {entry} gw {gw}");
                // The API's picks already carry the substitutions: none left to make.
                assert!(s.auto_subs.is_empty(), "entry {entry} gw {gw}");
                subs += picks.data().automatic_subs.len();
                chips.extend(s.chip);
            }
        }
        assert!(chips.contains(&Chip::TripleCaptain) && chips.contains(&Chip::BenchBoost));
        assert!(subs > 0, "the data has automatic substitutions");
    }

    /// The submitted team (substitutions undone) is substituted back to the API's result.
    #[tokio::test]
    async fn substitutions_reproduce_the_apis() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let d = source.data().await.unwrap();
        let mut checked = 0;
        for entry in [84062, 1000001, 1000002, 1000003, 1000004] {
            for gw in 1..=7 {
                let picks = source.entry_picks(entry, gw).await.unwrap();
                if picks.data().automatic_subs.is_empty() {
                    continue;
                }
                let mut submitted = picks.data().clone();
                for sub in submitted.automatic_subs.iter().rev() {
                    let slot = |e: u32| submitted.picks.iter().position(|p| p.element == e);
                    if let (Some(i), Some(o)) = (slot(sub.element_in), slot(sub.element_out)) {
                        let (a, b) = (submitted.picks[i].position, submitted.picks[o].position);
                        submitted.picks[i].position = b;
                        submitted.picks[o].position = a;
                    }
                }
                let live = source.event_live(gw).await.unwrap();
                let s = score(&d, &submitted, &LiveGameweek::new(&d, live.data(), gw));
                // The API lists the XI by position after substituting, so the submitted slot
                // order (which decides who is replaced first) is lost: compare who came on
                // and the score.
                let came_on = |v: Vec<u32>| {
                    let mut v = v;
                    v.sort_unstable();
                    v
                };
                let api = came_on(
                    picks
                        .data()
                        .automatic_subs
                        .iter()
                        .map(|a| a.element_in)
                        .collect(),
                );
                assert_eq!(
                    came_on(s.auto_subs.iter().map(|x| x.1).collect()),
                    api,
                    "entry {entry} gw {gw}"
                );
                assert_eq!(s.points, picks.data().entry_history.points);
                checked += 1;
            }
        }
        assert!(checked > 0);
    }

    /// Starters are replaced in slot order and never so that the formation breaks (GW2 of 1000001: Konsa, Palmer and Acheampong did
    /// not play; only Guiu of the bench did).
    #[tokio::test]
    async fn the_first_starter_who_did_not_play_is_replaced_first() {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        let d = source.data().await.unwrap();
        let live = source.event_live(2).await.unwrap();
        let g = LiveGameweek::new(&d, live.data(), 2);
        let pick = |element, position| crate::fpl::manager::Pick {
            element,
            position,
            multiplier: 1,
            is_captain: element == 381,
            is_vice_captain: element == 430,
            element_type: None,
        };
        let mut picks = source.entry_picks(1000001, 2).await.unwrap().data().clone();
        // Submitted: Acheampong (233) second among the defenders, Konsa (38) last; Guiu (252)
        // first on the bench after the goalkeeper.
        picks.picks = [
            470, 233, 541, 610, 191, 38, 381, 16, 235, 382, 430, 675, 252, 211, 467,
        ]
        .iter()
        .zip(1..)
        .map(|(e, slot)| pick(*e, slot))
        .collect();
        let s = score(&d, &picks, &g);
        assert_eq!(s.auto_subs, vec![(233, 252)]);
        // Konsa first: now he is the one replaced.
        picks.picks.swap(1, 5);
        picks.picks[1].position = 2;
        picks.picks[5].position = 6;
        let s = score(&d, &picks, &g);
        assert_eq!(s.auto_subs, vec![(38, 252)]);
        // Three defenders only: Konsa's replacement must be a defender, so Guiu (first on the
        // bench) is passed over for Estève, and then comes on for Palmer.
        picks.picks = [
            470, 541, 610, 38, 381, 16, 235, 382, 211, 430, 467, 675, 252, 191, 233,
        ]
        .iter()
        .zip(1..)
        .map(|(e, slot)| pick(*e, slot))
        .collect();
        let s = score(&d, &picks, &g);
        assert_eq!(s.auto_subs, vec![(38, 191), (235, 252)]);
        assert_eq!(s.picks.iter().filter(|p| p.starts()).count(), 11);
        assert_eq!(s.armband, Some(381), "Salah played: he keeps the armband");
    }
}
