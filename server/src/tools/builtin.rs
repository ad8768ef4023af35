//! `BuiltinTools`: the sixteen FPL tools served in-process from an [`FplSource`].
//!
//! Promises: `list_tools` returns the eight tools with the original FPL MCP server's names
//! and input fields, then the eight manager tools (teams, leagues, live points, dream team,
//! prices, captaincy, transfers), each input schema generated from the same Rust type that
//! validates the call and each output schema from the type its answers are serialised from;
//! `call` answers bad input and unknown or ambiguous names with `is_error` outputs (the
//! text names the field or offers suggestions) and returns `ToolError` only when the data
//! source itself fails. A call runs on the blocking pool, never on an async worker: matching
//! names and building answers is CPU work, and a costly call must not stall other requests.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde_json::{json, Value};
use tokio::runtime::Handle;

use crate::fpl::FplSource;
use crate::tools::fpl::{
    captain_pick, comparison, difficulty, dream_team, fixture, form, gameweek, league,
    live_gameweek, manager_history, manager_team, mini_league, player, price_changes, team,
    transfer_suggestions,
};
use crate::tools::input::{output_schema_of, schema_of, ToolInput};
use crate::tools::{ToolBackend, ToolError, ToolList, ToolOutput, ToolSpec};

/// The built-in FPL tools.
#[derive(Debug, Clone)]
pub struct BuiltinTools {
    source: FplSource,
    /// Shared, so that each call's copy of the backend (moved to the blocking pool) is cheap.
    specs: ToolList,
}

fn spec<T: ToolInput>(name: &str, description: &str) -> ToolSpec {
    ToolSpec {
        name: name.to_string(),
        description: description.to_string(),
        input_schema: schema_of::<T>(),
        output_schema: None,
    }
}

/// A tool whose answers are `O` serialised: its output schema comes from `O`.
fn typed_spec<I: ToolInput, O: JsonSchema>(name: &str, description: &str) -> ToolSpec {
    ToolSpec {
        output_schema: Some(output_schema_of::<O>()),
        ..spec::<I>(name, description)
    }
}

/// Specs of the sixteen tools, in a stable order.
pub fn tool_specs() -> Vec<ToolSpec> {
    vec![
        typed_spec::<player::PlayerDataInput, player::PlayerAnswer>(
            player::NAME,
            player::DESCRIPTION,
        ),
        typed_spec::<team::TeamDataInput, team::TeamAnswer>(team::NAME, team::DESCRIPTION),
        typed_spec::<fixture::FixtureDataInput, fixture::FixturesAnswer>(
            fixture::NAME,
            fixture::DESCRIPTION,
        ),
        typed_spec::<league::LeagueDataInput, league::LeagueLeaders>(
            league::NAME,
            league::DESCRIPTION,
        ),
        typed_spec::<comparison::PlayerComparisonInput, comparison::ComparisonAnswer>(
            comparison::NAME,
            comparison::DESCRIPTION,
        ),
        typed_spec::<difficulty::FixtureDifficultyInput, difficulty::DifficultyAnswer>(
            difficulty::NAME,
            difficulty::DESCRIPTION,
        ),
        typed_spec::<form::FormAnalysisInput, form::FormAnswer>(form::NAME, form::DESCRIPTION),
        typed_spec::<gameweek::GameweekInput, gameweek::GameweekAnswer>(
            gameweek::NAME,
            gameweek::DESCRIPTION,
        ),
        typed_spec::<manager_team::ManagerTeamInput, manager_team::ManagerTeam>(
            manager_team::NAME,
            manager_team::DESCRIPTION,
        ),
        typed_spec::<manager_history::ManagerHistoryInput, manager_history::ManagerHistory>(
            manager_history::NAME,
            manager_history::DESCRIPTION,
        ),
        typed_spec::<mini_league::MiniLeagueInput, mini_league::MiniLeague>(
            mini_league::NAME,
            mini_league::DESCRIPTION,
        ),
        typed_spec::<live_gameweek::LiveGameweekInput, live_gameweek::LiveGameweekView>(
            live_gameweek::NAME,
            live_gameweek::DESCRIPTION,
        ),
        typed_spec::<dream_team::DreamTeamInput, dream_team::DreamTeam>(
            dream_team::NAME,
            dream_team::DESCRIPTION,
        ),
        typed_spec::<price_changes::PriceChangesInput, price_changes::PriceChanges>(
            price_changes::NAME,
            price_changes::DESCRIPTION,
        ),
        typed_spec::<captain_pick::CaptainPickInput, captain_pick::CaptainPick>(
            captain_pick::NAME,
            captain_pick::DESCRIPTION,
        ),
        typed_spec::<
            transfer_suggestions::TransferSuggestionsInput,
            transfer_suggestions::TransferPlan,
        >(
            transfer_suggestions::NAME,
            transfer_suggestions::DESCRIPTION,
        ),
    ]
}

impl BuiltinTools {
    /// Tools answering from `source` (shares its cache).
    pub fn new(source: FplSource) -> Self {
        Self {
            source,
            specs: tool_specs().into(),
        }
    }

    /// The data source behind the tools.
    pub fn source(&self) -> &FplSource {
        &self.source
    }

    async fn dispatch(&self, name: &str, input: Value) -> Result<ToolOutput, ToolError> {
        let s = &self.source;
        macro_rules! call {
            ($module:ident, $ty:ty) => {
                match <$ty>::parse(input) {
                    Ok(parsed) => $module::run(s, parsed).await,
                    Err(msg) => Ok(invalid(name, msg)),
                }
            };
        }
        match name {
            player::NAME => call!(player, player::PlayerDataInput),
            team::NAME => call!(team, team::TeamDataInput),
            fixture::NAME => call!(fixture, fixture::FixtureDataInput),
            league::NAME => call!(league, league::LeagueDataInput),
            comparison::NAME => call!(comparison, comparison::PlayerComparisonInput),
            difficulty::NAME => call!(difficulty, difficulty::FixtureDifficultyInput),
            form::NAME => call!(form, form::FormAnalysisInput),
            gameweek::NAME => call!(gameweek, gameweek::GameweekInput),
            manager_team::NAME => call!(manager_team, manager_team::ManagerTeamInput),
            manager_history::NAME => call!(manager_history, manager_history::ManagerHistoryInput),
            mini_league::NAME => call!(mini_league, mini_league::MiniLeagueInput),
            live_gameweek::NAME => call!(live_gameweek, live_gameweek::LiveGameweekInput),
            dream_team::NAME => call!(dream_team, dream_team::DreamTeamInput),
            price_changes::NAME => call!(price_changes, price_changes::PriceChangesInput),
            captain_pick::NAME => call!(captain_pick, captain_pick::CaptainPickInput),
            transfer_suggestions::NAME => {
                call!(
                    transfer_suggestions,
                    transfer_suggestions::TransferSuggestionsInput
                )
            }
            other => Ok(ToolOutput::error(
                format!(
                    "Unknown tool '{other}'. Available tools: {}.",
                    self.specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                json!({"error": "unknown_tool", "tool": other}),
            )),
        }
    }
}

fn invalid(tool: &str, message: String) -> ToolOutput {
    let field = message
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_default();
    ToolOutput::error(
        format!("{tool}: {message}"),
        json!({"error": "invalid_input", "field": field, "message": message}),
    )
}

#[async_trait]
impl ToolBackend for BuiltinTools {
    async fn list_tools(&self) -> Result<ToolList, ToolError> {
        Ok(self.specs.clone())
    }

    async fn call(&self, name: &str, input: Value) -> Result<ToolOutput, ToolError> {
        let started = std::time::Instant::now();
        let (tools, owned, runtime) = (self.clone(), name.to_string(), Handle::current());
        // The data it awaits (cached, or fetched once) is driven from the blocking thread.
        let out =
            tokio::task::spawn_blocking(move || runtime.block_on(tools.dispatch(&owned, input)))
                .await
                .unwrap_or_else(|e| Err(ToolError::Unavailable(format!("the tool failed: {e}"))));
        match &out {
            Ok(o) => tracing::debug!(
                tool = name,
                is_error = o.is_error,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "tool call"
            ),
            Err(e) => tracing::warn!(tool = name, error = %e, "tool backend failed"),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::test_support::snapshot_dir;
    use crate::tools::input::MAX_QUERY_CHARS;
    use std::collections::BTreeSet;

    fn tools(name: &str) -> BuiltinTools {
        BuiltinTools::new(FplSource::snapshot_dir(snapshot_dir(name)).expect("snapshot"))
    }

    async fn call(t: &BuiltinTools, name: &str, input: Value) -> ToolOutput {
        t.call(name, input).await.expect("backend")
    }

    fn raw_element(web: &str) -> Value {
        let b: Value = serde_json::from_slice(
            &std::fs::read(snapshot_dir("2025-26_gw7").join("bootstrap-static.json")).unwrap(),
        )
        .unwrap();
        b["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["web_name"] == web)
            .cloned()
            .unwrap()
    }

    #[tokio::test]
    async fn specs_have_the_original_names_and_fields() {
        let specs = tools("2025-26_gw7").list_tools().await.unwrap();
        let expected: [(&str, &[&str], &[&str]); 8] = [
            (
                "fpl_player_data",
                &[
                    "playerQuery",
                    "teamId",
                    "teamName",
                    "position",
                    "includeHistory",
                    "includeFixtures",
                    "includeRawData",
                ],
                &["playerQuery"],
            ),
            (
                "fpl_team_data",
                &[
                    "teamQuery",
                    "includeFixtures",
                    "includePlayers",
                    "includeForm",
                    "includeRawData",
                ],
                &["teamQuery"],
            ),
            (
                "fpl_fixture_data",
                &[
                    "teamQuery",
                    "gameweekId",
                    "range",
                    "difficultyMin",
                    "difficultyMax",
                    "sortBy",
                    "includeStats",
                    "limit",
                    "includeRawData",
                ],
                &[],
            ),
            (
                "fpl_league_data",
                &[
                    "category",
                    "position",
                    "maxPrice",
                    "maxOwnership",
                    "limit",
                    "includeDetails",
                    "includeRawData",
                ],
                &["category"],
            ),
            (
                "fpl_player_comparison",
                &[
                    "playerQueries",
                    "categories",
                    "includeFixtures",
                    "includeHistory",
                    "includeRawData",
                ],
                &["playerQueries"],
            ),
            (
                "fpl_fixture_difficulty",
                &["teamQuery", "range", "position", "includeRawData"],
                &["teamQuery"],
            ),
            (
                "fpl_form_analysis",
                &[
                    "entityType",
                    "entityQuery",
                    "timeframe",
                    "metricFocus",
                    "compareWithPrevious",
                    "includeRawData",
                ],
                &["entityType", "entityQuery"],
            ),
            (
                "fpl_get_gameweek",
                &["gameweekId", "type", "includeFixtures", "includeRawData"],
                &[],
            ),
        ];
        assert_eq!(specs.len(), 16);
        // Every tool declares its output schema, an object at the root.
        for spec in specs.iter() {
            let schema = spec
                .output_schema
                .as_ref()
                .unwrap_or_else(|| panic!("{}", spec.name));
            assert_eq!(schema["type"], "object", "{}", spec.name);
        }
        for ((name, fields, required), spec) in expected.iter().zip(specs.iter()) {
            assert_eq!(spec.name, *name);
            let schema = &spec.input_schema;
            assert_eq!(schema["type"], "object", "{name}");
            assert_eq!(schema["additionalProperties"], false, "{name}");
            assert!(
                !schema.to_string().contains("$ref"),
                "{name} schema is inlined"
            );
            let props: BTreeSet<&str> = schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(props, fields.iter().copied().collect(), "{name}");
            let req: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            assert_eq!(req, required.iter().copied().collect(), "{name}");
        }
        let cmp = &specs[4].input_schema["properties"]["playerQueries"];
        assert_eq!(cmp["type"], "array");
        assert_eq!(
            (cmp["minItems"].as_u64(), cmp["maxItems"].as_u64()),
            (Some(2), Some(5))
        );
        let cats = specs[3].input_schema["properties"]["category"].to_string();
        for c in [
            "goals",
            "assists",
            "cards",
            "clean_sheets",
            "saves",
            "minutes",
            "bonus",
            "points",
        ] {
            assert!(cats.contains(&format!("\"{c}\"")), "{c}");
        }
    }

    #[tokio::test]
    async fn invalid_input_names_the_field() {
        let t = tools("2025-26_gw7");
        let cases = [
            ("fpl_player_data", json!({}), "playerQuery"),
            (
                "fpl_player_data",
                json!({"playerQuery": "Haaland", "position": "GK"}),
                "position",
            ),
            (
                "fpl_player_comparison",
                json!({"playerQueries": "Haaland,Watkins"}),
                "playerQueries",
            ),
            (
                "fpl_player_comparison",
                json!({"playerQueries": ["Haaland"]}),
                "playerQueries",
            ),
            (
                "fpl_player_comparison",
                json!({"playerQueries": ["Haaland", 5]}),
                "playerQueries[1]",
            ),
            (
                "fpl_league_data",
                json!({"category": "goals", "limit": 0}),
                "limit",
            ),
            (
                "fpl_league_data",
                json!({"category": "tackles"}),
                "category",
            ),
            (
                "fpl_form_analysis",
                json!({"entityType": "player", "entityQuery": "Saka", "timeframe": 99}),
                "timeframe",
            ),
            (
                "fpl_team_data",
                json!({"teamQuery": "Arsenal", "includeSquad": true}),
                "includeSquad",
            ),
            ("fpl_fixture_data", json!({"range": "later"}), "range"),
            ("fpl_get_gameweek", json!({"gameweekId": 40}), "gameweekId"),
        ];
        for (name, input, field) in cases {
            let out = call(&t, name, input.clone()).await;
            assert!(out.is_error, "{name} {input}");
            assert!(out.text.contains(field), "{name} {input}: {}", out.text);
        }
        let out = call(&t, "fpl_transfers", json!({})).await;
        assert!(out.is_error && out.text.contains("fpl_player_data"));
    }

    #[tokio::test]
    async fn every_text_and_list_field_has_a_documented_limit() {
        let t = tools("2025-26_gw7");
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        let cases = [
            (
                "fpl_player_data",
                json!({"playerQuery": long}),
                "playerQuery",
            ),
            (
                "fpl_player_data",
                json!({"playerQuery": "Saka", "teamName": long}),
                "teamName",
            ),
            ("fpl_team_data", json!({"teamQuery": long}), "teamQuery"),
            ("fpl_fixture_data", json!({"teamQuery": long}), "teamQuery"),
            (
                "fpl_fixture_difficulty",
                json!({"teamQuery": long}),
                "teamQuery",
            ),
            (
                "fpl_form_analysis",
                json!({"entityType": "team", "entityQuery": long}),
                "entityQuery",
            ),
            (
                "fpl_player_comparison",
                json!({"playerQueries": ["Saka", long]}),
                "playerQueries[1]",
            ),
            (
                "fpl_player_comparison",
                json!({"playerQueries": ["Saka", "Salah"], "categories": vec!["goals"; 13]}),
                "categories",
            ),
            (
                "fpl_form_analysis",
                json!({"entityType": "player", "entityQuery": "Saka", "metricFocus": vec!["xg"; 12]}),
                "metricFocus",
            ),
        ];
        for (name, input, field) in cases {
            let out = call(&t, name, input.clone()).await;
            assert!(out.is_error, "{name} {field}");
            assert_eq!(out.structured.unwrap()["field"], field, "{}", out.text);
            assert!(out.text.contains("at most"), "{}", out.text);
        }
        // Each limit is in the schema, and the field's description says it.
        let specs = tool_specs();
        let mut documented = 0;
        for spec in &specs {
            for (field, schema) in spec.input_schema["properties"].as_object().unwrap() {
                let types = schema["type"].to_string();
                let choice = ["enum", "anyOf", "oneOf"]
                    .iter()
                    .any(|k| schema.get(k).is_some());
                if choice || !(types.contains("string") || types.contains("array")) {
                    continue;
                }
                let limit = schema["maxLength"]
                    .as_u64()
                    .or(schema["maxItems"].as_u64())
                    .unwrap_or_else(|| panic!("{} {field}: no limit in {schema}", spec.name));
                let doc = schema["description"].as_str().unwrap();
                assert!(doc.contains(&limit.to_string()), "{field}: {doc}");
                documented += 1;
            }
        }
        assert_eq!(documented, 11);
        let queries = &specs[4].input_schema["properties"]["playerQueries"]["items"];
        assert_eq!(queries["maxLength"], MAX_QUERY_CHARS);
    }

    #[tokio::test]
    async fn unknown_and_ambiguous_names() {
        let t = tools("2025-26_gw7");
        let out = call(&t, "fpl_player_data", json!({"playerQuery": "Haalnd"})).await;
        assert!(out.is_error);
        assert_eq!(
            out.text,
            "No player matches 'Haalnd'. Did you mean: Haaland (MCI)?"
        );
        let out = call(&t, "fpl_player_data", json!({"playerQuery": "Johnson"})).await;
        assert!(out.is_error);
        assert_eq!(
            out.structured.as_ref().unwrap()["candidates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let out = call(
            &t,
            "fpl_player_data",
            json!({"playerQuery": "Johnson", "teamName": "Spurs"}),
        )
        .await;
        assert!(!out.is_error, "{}", out.text);
        assert!(out.text.starts_with("Brennan Johnson"));
        let out = call(&t, "fpl_team_data", json!({"teamQuery": "Arsnal"})).await;
        assert!(
            out.is_error && out.text.contains("Did you mean: Arsenal?"),
            "{}",
            out.text
        );
    }

    #[tokio::test]
    async fn player_data_reports_real_numbers_and_raw_data() {
        let t = tools("2025-26_gw7");
        let raw = raw_element("Haaland");
        let out = call(
            &t,
            "fpl_player_data",
            json!({"playerQuery": 430, "includeRawData": true, "includeHistory": true}),
        )
        .await;
        assert!(!out.is_error);
        let cost = raw["now_cost"].as_i64().unwrap();
        assert!(
            out.text.contains(&format!("£{}.{}m", cost / 10, cost % 10)),
            "{}",
            out.text
        );
        let s = out.structured.unwrap();
        assert_eq!(s["player"]["totalPoints"], raw["total_points"]);
        assert_eq!(
            s["player"]["form"].as_f64().unwrap(),
            raw["form"].as_str().unwrap().parse::<f64>().unwrap()
        );
        assert_eq!(s["raw"][0]["id"], 430);
        assert_eq!(s["history"].as_array().unwrap().len(), 5);
        assert_eq!(s["historyAvailable"], true);
        assert!(!out.text.contains("played: 0"));
    }

    #[tokio::test]
    async fn league_leaders_respect_position_and_order() {
        let t = tools("2025-26_gw7");
        let out = call(
            &t,
            "fpl_league_data",
            json!({"category": "saves", "position": "GKP", "limit": 5}),
        )
        .await;
        let leaders = out.structured.unwrap()["leaders"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(leaders.len(), 5);
        assert!(leaders.iter().all(|l| l["position"] == "GKP"));
        let values: Vec<i64> = leaders
            .iter()
            .map(|l| l["value"].as_i64().unwrap())
            .collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    }

    #[tokio::test]
    async fn season_over_answers_sensibly() {
        let t = tools("2025-26_final");
        let out = call(
            &t,
            "fpl_player_data",
            json!({"playerQuery": "Saka", "includeHistory": true}),
        )
        .await;
        assert!(!out.is_error);
        assert!(out.text.contains("not available in this data snapshot"));
        assert_eq!(out.structured.unwrap()["historyAvailable"], false);
        let out = call(&t, "fpl_get_gameweek", json!({"type": "next"})).await;
        assert!(!out.is_error && out.text.contains("season is over"));
        let out = call(
            &t,
            "fpl_fixture_difficulty",
            json!({"teamQuery": "Arsenal", "range": 5}),
        )
        .await;
        assert!(!out.is_error && out.structured.unwrap()["seasonOver"] == true);
        let out = call(
            &t,
            "fpl_form_analysis",
            json!({"entityType": "player", "entityQuery": "Haaland", "compareWithPrevious": true}),
        )
        .await;
        assert!(!out.is_error && out.text.contains("not available"));
        let out = call(&t, "fpl_player_comparison", json!({"playerQueries": ["Haaland", "Salah"], "includeHistory": true, "includeFixtures": true})).await;
        assert!(!out.is_error, "{}", out.text);
        let out = call(&t, "fpl_fixture_data", json!({"range": "next"})).await;
        assert!(!out.is_error && out.text.contains("No matches left"));
    }
}
