//! `FplData`: one consistent view of bootstrap-static and fixtures with the indexes the
//! tools and the analyst need.
//!
//! Promises: lookups by id never panic (missing ids are `None`); the current, next and
//! previous gameweeks follow the API flags and cope with the season being over (no next
//! gameweek) or not started (no current one); fixture runs over the next N gameweeks list
//! every gameweek, with blank gameweeks (no match) and double gameweeks (two or more)
//! called out and an average FDR over the matches actually played; the league table is
//! computed from finished fixtures.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::fpl::league::{league_table, TableRow};
use crate::fpl::loaded::Loaded;
use crate::fpl::model::{Bootstrap, Element, Event, Fixture, Team};
use crate::fpl::names::NameIndex;

/// Where the season stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeasonPhase {
    /// No gameweek has started yet.
    NotStarted,
    /// Some gameweeks are still to come.
    InProgress,
    /// Every gameweek is finished and none is next.
    Over,
}

/// One match inside a fixture run, from the team's point of view.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFixture {
    pub fixture_id: u32,
    pub opponent: u32,
    pub opponent_short: String,
    pub home: bool,
    /// FPL difficulty rating 1 (easy) to 5 (hard).
    pub difficulty: u8,
    pub kickoff: Option<DateTime<Utc>>,
}

/// A team's matches in one gameweek: none is a blank, two or more a double.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunGameweek {
    pub gameweek: u32,
    pub fixtures: Vec<RunFixture>,
}

/// A team's fixtures over consecutive gameweeks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureRun {
    pub team: u32,
    pub gameweeks: Vec<RunGameweek>,
    pub fixture_count: usize,
    /// Mean FDR of the matches in the run (`None` when there are none).
    pub average_difficulty: Option<f64>,
    pub blank_gameweeks: Vec<u32>,
    pub double_gameweeks: Vec<u32>,
}

/// Bootstrap-static and fixtures, indexed.
pub struct FplData {
    bootstrap: Arc<Loaded<Bootstrap>>,
    fixtures: Arc<Loaded<Vec<Fixture>>>,
    names: NameIndex,
    players: HashMap<u32, usize>,
    teams: HashMap<u32, usize>,
    table: Vec<TableRow>,
}

impl std::fmt::Debug for FplData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FplData")
            .field("players", &self.players.len())
            .field("teams", &self.teams.len())
            .field("fixtures", &self.fixtures.len())
            .finish()
    }
}

impl FplData {
    /// Index the two payloads.
    pub fn new(bootstrap: Arc<Loaded<Bootstrap>>, fixtures: Arc<Loaded<Vec<Fixture>>>) -> Self {
        let names = NameIndex::new(&bootstrap.elements, &bootstrap.teams);
        let players = bootstrap
            .elements
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, i))
            .collect();
        let teams = bootstrap
            .teams
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id, i))
            .collect();
        let table = league_table(&bootstrap.teams, &fixtures, 5);
        Self {
            bootstrap,
            fixtures,
            names,
            players,
            teams,
            table,
        }
    }

    /// Build directly from parsed values (tests, tools).
    pub fn from_parts(bootstrap: Bootstrap, fixtures: Vec<Fixture>) -> Self {
        Self::new(
            Arc::new(Loaded::from_parsed(bootstrap)),
            Arc::new(Loaded::from_parsed(fixtures)),
        )
    }

    pub(crate) fn is_built_from(
        &self,
        bootstrap: &Arc<Loaded<Bootstrap>>,
        fixtures: &Arc<Loaded<Vec<Fixture>>>,
    ) -> bool {
        Arc::ptr_eq(&self.bootstrap, bootstrap) && Arc::ptr_eq(&self.fixtures, fixtures)
    }

    /// The bootstrap payload (with its raw bytes).
    pub fn bootstrap(&self) -> &Arc<Loaded<Bootstrap>> {
        &self.bootstrap
    }

    /// The fixtures payload (with its raw bytes).
    pub fn fixtures_loaded(&self) -> &Arc<Loaded<Vec<Fixture>>> {
        &self.fixtures
    }

    /// Every match of the season.
    pub fn fixtures(&self) -> &[Fixture] {
        &self.fixtures
    }

    /// The name index of players and teams.
    pub fn names(&self) -> &NameIndex {
        &self.names
    }

    /// Every player.
    pub fn players(&self) -> &[Element] {
        &self.bootstrap.elements
    }

    /// Every team.
    pub fn teams(&self) -> &[Team] {
        &self.bootstrap.teams
    }

    /// Every gameweek.
    pub fn events(&self) -> &[Event] {
        &self.bootstrap.events
    }

    /// A player by id.
    pub fn player(&self, id: u32) -> Option<&Element> {
        self.players
            .get(&id)
            .and_then(|i| self.bootstrap.elements.get(*i))
    }

    /// A team by id.
    pub fn team(&self, id: u32) -> Option<&Team> {
        self.teams
            .get(&id)
            .and_then(|i| self.bootstrap.teams.get(*i))
    }

    /// A team's short name ("ARS"), or "?" for an unknown id.
    pub fn team_short(&self, id: u32) -> &str {
        self.team(id).map(|t| t.short_name.as_str()).unwrap_or("?")
    }

    /// A team's name ("Arsenal"), or "Unknown team" for an unknown id.
    pub fn team_name(&self, id: u32) -> &str {
        self.team(id)
            .map(|t| t.name.as_str())
            .unwrap_or("Unknown team")
    }

    /// A gameweek by number.
    pub fn event(&self, id: u32) -> Option<&Event> {
        self.bootstrap.events.iter().find(|e| e.id == id)
    }

    /// The gameweek flagged current (the latest one that has started).
    pub fn current_event(&self) -> Option<&Event> {
        self.bootstrap.events.iter().find(|e| e.is_current)
    }

    /// The gameweek flagged next; `None` between seasons.
    pub fn next_event(&self) -> Option<&Event> {
        self.bootstrap.events.iter().find(|e| e.is_next)
    }

    /// The gameweek before the current one.
    pub fn previous_event(&self) -> Option<&Event> {
        self.bootstrap
            .events
            .iter()
            .find(|e| e.is_previous)
            .or_else(|| {
                let cur = self.current_event()?.id;
                self.event(cur.checked_sub(1)?)
            })
    }

    /// The latest finished gameweek.
    pub fn last_finished_event(&self) -> Option<&Event> {
        self.bootstrap
            .events
            .iter()
            .filter(|e| e.finished)
            .max_by_key(|e| e.id)
    }

    /// Where the season stands.
    pub fn phase(&self) -> SeasonPhase {
        if self.current_event().is_none() && !self.bootstrap.events.iter().any(|e| e.finished) {
            SeasonPhase::NotStarted
        } else if self.next_event().is_none() && self.bootstrap.events.iter().all(|e| e.finished) {
            SeasonPhase::Over
        } else {
            SeasonPhase::InProgress
        }
    }

    /// The league table computed from finished fixtures.
    pub fn table(&self) -> &[TableRow] {
        &self.table
    }

    /// A team's row of the league table.
    pub fn table_row(&self, team: u32) -> Option<&TableRow> {
        self.table.iter().find(|r| r.team == team)
    }

    /// A team's players, most points first.
    pub fn squad(&self, team: u32) -> Vec<&Element> {
        let mut v: Vec<&Element> = self
            .bootstrap
            .elements
            .iter()
            .filter(|e| e.team == team)
            .collect();
        v.sort_by(|a, b| b.total_points.cmp(&a.total_points).then(a.id.cmp(&b.id)));
        v
    }

    /// The matches of one gameweek, by kickoff.
    pub fn fixtures_of_event(&self, gw: u32) -> Vec<&Fixture> {
        let mut v: Vec<&Fixture> = self
            .fixtures
            .iter()
            .filter(|f| f.event == Some(gw))
            .collect();
        v.sort_by_key(|f| (f.kickoff_time, f.id));
        v
    }

    /// The numbers of the next `n` gameweeks, starting at the next one (empty when the
    /// season is over).
    pub fn upcoming_gameweeks(&self, n: u32) -> Vec<u32> {
        let Some(next) = self.next_event() else {
            return Vec::new();
        };
        self.bootstrap
            .events
            .iter()
            .map(|e| e.id)
            .filter(|id| *id >= next.id && *id < next.id + n)
            .collect()
    }

    /// A team's matches still to be played, by kickoff (unscheduled ones last).
    pub fn upcoming_fixtures(&self, team: u32) -> Vec<&Fixture> {
        let mut v: Vec<&Fixture> = self
            .fixtures
            .iter()
            .filter(|f| f.involves(team) && !f.finished && !f.finished_provisional)
            .collect();
        v.sort_by_key(|f| (f.event.is_none(), f.event, f.kickoff_time, f.id));
        v
    }

    /// A team's fixtures over the next `n` gameweeks, with blanks, doubles and average FDR.
    pub fn fixture_run(&self, team: u32, n: u32) -> FixtureRun {
        self.fixture_run_over(team, &self.upcoming_gameweeks(n))
    }

    /// A team's fixtures over the given gameweeks.
    pub fn fixture_run_over(&self, team: u32, gameweeks: &[u32]) -> FixtureRun {
        let mut out = Vec::with_capacity(gameweeks.len());
        let mut total: u32 = 0;
        let mut count = 0usize;
        let mut blanks = Vec::new();
        let mut doubles = Vec::new();
        for gw in gameweeks {
            let mut fixtures: Vec<RunFixture> = self
                .fixtures
                .iter()
                .filter(|f| f.event == Some(*gw) && f.involves(team))
                .map(|f| {
                    let opponent = f.opponent_of(team);
                    RunFixture {
                        fixture_id: f.id,
                        opponent,
                        opponent_short: self.team_short(opponent).to_string(),
                        home: f.team_h == team,
                        difficulty: f.difficulty_for(team),
                        kickoff: f.kickoff_time,
                    }
                })
                .collect();
            fixtures.sort_by_key(|f| (f.kickoff, f.fixture_id));
            match fixtures.len() {
                0 => blanks.push(*gw),
                1 => {}
                _ => doubles.push(*gw),
            }
            for f in &fixtures {
                total += u32::from(f.difficulty);
                count += 1;
            }
            out.push(RunGameweek {
                gameweek: *gw,
                fixtures,
            });
        }
        FixtureRun {
            team,
            gameweeks: out,
            fixture_count: count,
            average_difficulty: (count > 0).then(|| f64::from(total) / count as f64),
            blank_gameweeks: blanks,
            double_gameweeks: doubles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;

    fn load(name: &str) -> FplData {
        let dir = snapshot_dir(name);
        let b: Bootstrap =
            serde_json::from_slice(&std::fs::read(dir.join("bootstrap-static.json")).unwrap())
                .unwrap();
        let f: Vec<Fixture> =
            serde_json::from_slice(&std::fs::read(dir.join("fixtures.json")).unwrap()).unwrap();
        FplData::from_parts(b, f)
    }

    #[test]
    fn gw7_gameweeks_and_phase() {
        let d = load("2025-26_gw7");
        assert_eq!(d.players().len(), 743);
        assert_eq!(d.current_event().map(|e| e.id), Some(7));
        assert_eq!(d.next_event().map(|e| e.id), Some(8));
        assert_eq!(d.previous_event().map(|e| e.id), Some(6));
        assert_eq!(d.phase(), SeasonPhase::InProgress);
        assert_eq!(d.upcoming_gameweeks(5), vec![8, 9, 10, 11, 12]);
        let played: u32 = d.table().iter().map(|r| r.played).sum();
        assert_eq!(played, 140, "70 finished fixtures, two teams each");
    }

    #[test]
    fn final_snapshot_is_over_with_no_next() {
        let d = load("2025-26_final");
        assert_eq!(d.players().len(), 841);
        assert!(d.next_event().is_none());
        assert_eq!(d.phase(), SeasonPhase::Over);
        assert!(d.upcoming_gameweeks(5).is_empty());
        let run = d.fixture_run(1, 5);
        assert!(run.gameweeks.is_empty());
        assert_eq!(run.average_difficulty, None);
        assert!(d.table().iter().all(|r| r.played == 38));
    }

    #[test]
    fn fixture_runs_report_blanks_and_doubles() {
        let d = load("2025-26_final");
        // GW33 has 13 fixtures (several doubles), GW34 7 (blanks).
        let run = d.fixture_run_over(11, &[33, 34]);
        assert_eq!(run.double_gameweeks, vec![33]);
        assert_eq!(run.gameweeks[0].fixtures.len(), 2);
        let blanks: usize = d
            .teams()
            .iter()
            .filter(|t| d.fixture_run_over(t.id, &[34]).blank_gameweeks == vec![34])
            .count();
        assert_eq!(blanks, 6);
        let f = &run.gameweeks[0].fixtures;
        let avg_first_two = f64::from(u32::from(f[0].difficulty) + u32::from(f[1].difficulty));
        let rest: u32 = run.gameweeks[1]
            .fixtures
            .iter()
            .map(|x| u32::from(x.difficulty))
            .sum();
        let expected = (avg_first_two + f64::from(rest)) / run.fixture_count as f64;
        assert_eq!(run.average_difficulty, Some(expected));
    }
}
