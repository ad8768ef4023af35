//! One gameweek as it stands: every player's points so far, with the bonus the game has not
//! confirmed yet worked out from the bonus points system, and the gameweek's dream team.
//!
//! Promises: a player's `points` are the live `total_points` plus provisional bonus, and the
//! provisional bonus is only ever added for a match that has started and whose bonus the game
//! has not published (its `bonus` stat is empty), so nothing is counted twice; provisional
//! bonus follows the game's rule (3-2-1 by BPS, tied players share the higher award and the
//! next award is skipped); a player is `done` when every match of his club that gameweek is
//! over (a blank gameweek counts as done), which is when automatic substitutions may use him;
//! the dream team is the highest-scoring eleven in a legal formation (1 goalkeeper, 3-5
//! defenders, 2-5 midfielders, 1-3 forwards), ties broken by the lower player id.

use std::collections::HashMap;

use crate::fpl::data::FplData;
use crate::fpl::model::{EventLive, Fixture, Position};

/// One player's gameweek as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LivePlayer {
    pub id: u32,
    pub minutes: i32,
    /// Live total points, plus `provisional_bonus`.
    pub points: i32,
    /// Bonus not yet confirmed by the game (already inside `points`).
    pub provisional_bonus: i32,
    /// Bonus points system score so far.
    pub bps: i32,
    /// Every match of his club this gameweek is over (or it has none).
    pub done: bool,
    /// Matches of his club this gameweek (0 blank, 2 double).
    pub fixtures: u8,
}

/// A gameweek's live numbers, indexed by player.
#[derive(Debug, Clone)]
pub struct LiveGameweek {
    pub gameweek: u32,
    players: HashMap<u32, LivePlayer>,
    /// Every match of the gameweek is over.
    pub finished: bool,
    /// Matches of the gameweek that have kicked off.
    pub started_matches: usize,
    pub matches: usize,
}

/// A match is over for scoring once the game has marked it finished (provisionally or not).
fn over(f: &Fixture) -> bool {
    f.finished || f.finished_provisional
}

fn started(f: &Fixture) -> bool {
    f.started.unwrap_or(false) || over(f) || f.minutes > 0
}

/// Bonus of one match from its BPS, unless the game has already published it.
pub fn provisional_bonus(f: &Fixture) -> Vec<(u32, i32)> {
    let published = f
        .stats
        .iter()
        .any(|s| s.identifier == "bonus" && !(s.h.is_empty() && s.a.is_empty()));
    if published || !started(f) {
        return Vec::new();
    }
    bonus_from_bps(f)
}

/// The 3-2-1 awards a match's BPS gives (ties share the higher award, the next is skipped).
pub fn bonus_from_bps(f: &Fixture) -> Vec<(u32, i32)> {
    let mut bps: Vec<(u32, i32)> = f
        .stats
        .iter()
        .filter(|s| s.identifier == "bps")
        .flat_map(|s| s.h.iter().chain(&s.a))
        .map(|v| (v.element, v.value))
        .collect();
    bps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (i, (element, value)) in bps.iter().enumerate() {
        // Competition rank: 1 + how many have strictly more.
        let rank = 1 + bps[..i].iter().filter(|(_, v)| v > value).count() as i32;
        if rank > 3 {
            break;
        }
        out.push((*element, 4 - rank));
    }
    out
}

impl LiveGameweek {
    /// The gameweek `gw` from its live payload and the fixture list.
    pub fn new(d: &FplData, live: &EventLive, gw: u32) -> Self {
        let fixtures = d.fixtures_of_event(gw);
        let mut provisional: HashMap<u32, i32> = HashMap::new();
        for f in &fixtures {
            for (element, bonus) in provisional_bonus(f) {
                *provisional.entry(element).or_default() += bonus;
            }
        }
        let club_state = |team: u32| {
            let mine: Vec<&&Fixture> = fixtures.iter().filter(|f| f.involves(team)).collect();
            (mine.iter().all(|f| over(f)), mine.len() as u8)
        };
        let mut clubs: HashMap<u32, (bool, u8)> = HashMap::new();
        let players = live
            .elements
            .iter()
            .map(|e| {
                let team = d.player(e.id).map(|p| p.team).unwrap_or(0);
                let (done, count) = *clubs.entry(team).or_insert_with(|| club_state(team));
                let bonus = provisional.get(&e.id).copied().unwrap_or(0);
                let player = LivePlayer {
                    id: e.id,
                    minutes: e.stats.minutes,
                    points: e.stats.total_points + bonus,
                    provisional_bonus: bonus,
                    bps: e.stats.bps,
                    done,
                    fixtures: count,
                };
                (e.id, player)
            })
            .collect();
        Self {
            gameweek: gw,
            players,
            finished: !fixtures.is_empty() && fixtures.iter().all(|f| over(f)),
            started_matches: fixtures.iter().filter(|f| started(f)).count(),
            matches: fixtures.len(),
        }
    }

    /// One player's numbers; a player missing from the payload has not played yet (or at
    /// all) and scores nothing.
    pub fn player(&self, id: u32) -> LivePlayer {
        self.players.get(&id).copied().unwrap_or(LivePlayer {
            id,
            minutes: 0,
            points: 0,
            provisional_bonus: 0,
            bps: 0,
            done: self.finished,
            fixtures: 0,
        })
    }

    /// Every player in the payload.
    pub fn players(&self) -> impl Iterator<Item = &LivePlayer> {
        self.players.values()
    }
}

/// The best eleven in a legal formation from `(id, position, points)` candidates, in squad
/// order (goalkeeper, defenders, midfielders, forwards; best first within a line).
pub fn dream_team(candidates: &[(u32, Position, i32)]) -> Vec<(u32, Position, i32)> {
    let line = |pos: Position| {
        let mut v: Vec<(u32, Position, i32)> =
            candidates.iter().copied().filter(|c| c.1 == pos).collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        v
    };
    let (gk, def, mid, fwd) = (
        line(Position::Goalkeeper),
        line(Position::Defender),
        line(Position::Midfielder),
        line(Position::Forward),
    );
    let sum = |v: &[(u32, Position, i32)], n: usize| -> Option<i32> {
        (v.len() >= n).then(|| v[..n].iter().map(|c| c.2).sum())
    };
    let mut best: Option<(i32, usize, usize, usize)> = None;
    for d in 3..=5 {
        for m in 2..=5 {
            let f = 10 - d - m;
            if !(1..=3).contains(&f) {
                continue;
            }
            let total = match (sum(&gk, 1), sum(&def, d), sum(&mid, m), sum(&fwd, f)) {
                (Some(a), Some(b), Some(c), Some(e)) => a + b + c + e,
                _ => continue,
            };
            if best.is_none_or(|(t, ..)| total > t) {
                best = Some((total, d, m, f));
            }
        }
    }
    let Some((_, d, m, f)) = best else {
        return Vec::new();
    };
    gk[..1]
        .iter()
        .chain(&def[..d])
        .chain(&mid[..m])
        .chain(&fwd[..f])
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use crate::fpl::FplSource;

    async fn gw7() -> (std::sync::Arc<FplData>, FplSource) {
        let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
        (source.data().await.unwrap(), source)
    }

    /// The rule, checked against the game's own awards: for every finished match of GW1-7
    /// the 3-2-1 from BPS equals the bonus the game published.
    #[tokio::test]
    async fn bonus_from_bps_matches_every_published_award() {
        let (d, _) = gw7().await;
        let mut checked = 0;
        for f in d.fixtures().iter().filter(|f| f.finished) {
            let mut published: Vec<(u32, i32)> = f
                .stats
                .iter()
                .filter(|s| s.identifier == "bonus")
                .flat_map(|s| s.h.iter().chain(&s.a))
                .map(|v| (v.element, v.value))
                .collect();
            let mut ours = bonus_from_bps(f);
            published.sort();
            ours.sort();
            assert_eq!(ours, published, "fixture {}", f.id);
            assert!(
                provisional_bonus(f).is_empty(),
                "published: none provisional"
            );
            checked += 1;
        }
        assert_eq!(checked, 70);
    }

    #[test]
    fn ties_share_the_higher_award_and_skip_the_next() {
        use crate::fpl::model::{FixtureStat, StatValue};
        let mut f: Fixture = serde_json::from_value(serde_json::json!({
            "id": 1, "event": 8, "team_h": 1, "team_a": 2, "started": true,
            "team_h_difficulty": 2, "team_a_difficulty": 3
        }))
        .unwrap();
        let v = |element, value| StatValue { element, value };
        f.stats = vec![FixtureStat {
            identifier: "bps".into(),
            h: vec![v(10, 30), v(11, 30), v(12, 25), v(13, 20)],
            a: vec![v(20, 24)],
        }];
        assert_eq!(provisional_bonus(&f), vec![(10, 3), (11, 3), (12, 1)]);
        f.stats[0].h[1].value = 25;
        assert_eq!(provisional_bonus(&f), vec![(10, 3), (11, 2), (12, 2)]);
        f.started = Some(false);
        assert!(provisional_bonus(&f).is_empty(), "not kicked off");
    }

    /// The dream team of GW7 is the game's: its points equal those of the players the live
    /// payload flags `in_dreamteam`, in the same formation.
    #[tokio::test]
    async fn dream_team_equals_the_games_flags() {
        let (d, source) = gw7().await;
        for gw in 1..=7 {
            let live = source.event_live(gw).await.unwrap();
            let candidates: Vec<(u32, Position, i32)> = live
                .data()
                .elements
                .iter()
                .filter_map(|e| {
                    let p = d.player(e.id)?;
                    Some((e.id, p.element_type, e.stats.total_points))
                })
                .collect();
            let ours = dream_team(&candidates);
            let flagged: Vec<&crate::fpl::model::LiveElement> = live
                .data()
                .elements
                .iter()
                .filter(|e| e.stats.in_dreamteam)
                .collect();
            assert_eq!(ours.len(), 11);
            assert_eq!(flagged.len(), 11, "gw {gw}");
            assert_eq!(
                ours.iter().map(|c| c.2).sum::<i32>(),
                flagged.iter().map(|e| e.stats.total_points).sum::<i32>(),
                "gw {gw}"
            );
        }
    }

    #[tokio::test]
    async fn a_finished_gameweek_has_no_provisional_bonus_and_every_player_done() {
        let (d, source) = gw7().await;
        let live = source.event_live(7).await.unwrap();
        let g = LiveGameweek::new(&d, live.data(), 7);
        assert!(g.finished);
        assert_eq!((g.matches, g.started_matches), (10, 10));
        assert!(g.players().all(|p| p.done && p.provisional_bonus == 0));
        let haaland = g.player(430);
        assert_eq!(haaland.points, d.player(430).unwrap().event_points);
    }
}
