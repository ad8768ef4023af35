//! FPL data: the typed API model, the data source (live API or snapshot directory) with its
//! cache, name matching, the league table and [`FplData`], the indexed view the tools and
//! the offline analyst read.
//!
//! Entry points: [`FplSource`] (construct with [`FplSource::from_env`],
//! [`FplSource::api`] or [`FplSource::snapshot_dir`]), then [`FplSource::data`] for
//! bootstrap + fixtures, [`FplSource::element_summary`] and [`FplSource::event_live`] for
//! the per-player and per-gameweek endpoints, [`FplSource::entry`], `entry_history`,
//! `entry_picks`, `entry_transfers` and `league_standings` for managers and their leagues
//! (typed in [`manager`]), and [`FplSource::snapshot`] to save the live API into the snapshot
//! layout.

pub mod api;
pub mod data;
pub mod error;
pub mod league;
pub mod live;
pub mod loaded;
pub mod manager;
pub mod model;
pub mod names;
pub mod snapshot;
pub mod source;
pub mod squad;

#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
pub(crate) mod test_support;

pub use api::{ApiOptions, DEFAULT_BASE_URL};
pub use data::{FixtureRun, FplData, RunFixture, RunGameweek, SeasonPhase};
pub use error::FplError;
pub use loaded::Loaded;
pub use names::{NameIndex, NameMatch};
pub use snapshot::{SnapshotOptions, SnapshotReport};
pub use source::{CacheTtls, Endpoint, FplSource};
