//! Question set of the offline analyst: everyday FPL questions run through the whole tool
//! loop (analyst → BuiltinTools → analyst) on the shared snapshots. Each answer must contain
//! facts computed here straight from the JSON files (never from the tools' output).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};

use crate::fpl::test_support::snapshot_dir;
use crate::fpl::FplSource;
use crate::llm::offline::OfflineAnalyst;
use crate::llm::{ContentBlock, LlmEvent, LlmRequest, Message, Provider, Role, StopReason};
use crate::tools::{BuiltinTools, ToolBackend, ToolList};

/// One finished turn.
pub struct Turn {
    pub answer: String,
    pub tools: Vec<String>,
    pub tool_errors: usize,
    pub rounds: usize,
}

/// Runs one question through the tool loop until the analyst ends its turn.
pub async fn ask(analyst: &OfflineAnalyst, tools: &BuiltinTools, question: &str) -> Turn {
    ask_after(analyst, tools, Vec::new(), question).await
}

/// Runs one question through the tool loop after the `earlier` messages of a conversation.
pub async fn ask_after(
    analyst: &OfflineAnalyst,
    tools: &BuiltinTools,
    earlier: Vec<Message>,
    question: &str,
) -> Turn {
    let specs = tools.list_tools().await.expect("specs");
    let mut messages = earlier;
    messages.push(Message {
        role: Role::User,
        content: vec![ContentBlock::Text {
            text: question.to_string(),
        }],
    });
    let mut answer = String::new();
    let mut used = Vec::new();
    let mut tool_errors = 0;
    let mut rounds = 0;
    for _ in 0..6 {
        rounds += 1;
        let req = LlmRequest {
            system: "You are an FPL assistant.".into(),
            messages: messages.clone(),
            tools: specs.clone(),
            max_tokens: 1024,
        };
        let mut stream = analyst.stream(&req).await.expect("stream");
        let mut uses = Vec::new();
        let mut stop = None;
        let mut saw_usage = false;
        while let Some(ev) = stream.next().await {
            match ev.expect("event") {
                LlmEvent::TextDelta(t) => answer.push_str(&t),
                LlmEvent::ToolUse { id, name, input } => uses.push((id, name, input)),
                LlmEvent::Usage { .. } => saw_usage = true,
                LlmEvent::Stop(s) => stop = Some(s),
            }
        }
        assert!(saw_usage, "every round reports usage");
        match stop {
            Some(StopReason::ToolUse) => {
                messages.push(Message {
                    role: Role::Assistant,
                    content: uses
                        .iter()
                        .map(|(id, name, input)| ContentBlock::ToolUse {
                            id: id.clone(),
                            name: name.clone(),
                            input: input.clone(),
                        })
                        .collect(),
                });
                let mut results = Vec::new();
                for (id, name, input) in uses {
                    let out = tools.call(&name, input).await.expect("tool backend");
                    if out.is_error {
                        tool_errors += 1;
                    }
                    used.push(name);
                    results.push(ContentBlock::ToolResult {
                        tool_use_id: id,
                        content: out.text,
                        structured: out.structured,
                        is_error: out.is_error,
                    });
                }
                messages.push(Message {
                    role: Role::User,
                    content: results,
                });
            }
            Some(StopReason::EndTurn) => break,
            other => panic!("unexpected stop {other:?}"),
        }
    }
    Turn {
        answer,
        tools: used,
        tool_errors,
        rounds,
    }
}

/// The raw JSON of a snapshot, for computing expected facts independently.
pub(super) struct Facts {
    pub(super) dir: std::path::PathBuf,
    pub(super) b: Value,
    fixtures: Vec<Value>,
    teams: HashMap<u64, Value>,
}

impl Facts {
    pub(super) fn load(name: &str) -> Self {
        let dir = snapshot_dir(name);
        let b: Value =
            serde_json::from_slice(&std::fs::read(dir.join("bootstrap-static.json")).unwrap())
                .unwrap();
        let fixtures: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join("fixtures.json")).unwrap()).unwrap();
        let teams = b["teams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_u64().unwrap(), t.clone()))
            .collect();
        Self {
            dir,
            b,
            fixtures,
            teams,
        }
    }

    pub(super) fn elements(&self) -> &Vec<Value> {
        self.b["elements"].as_array().unwrap()
    }

    pub(super) fn web(&self, web: &str) -> &Value {
        self.elements()
            .iter()
            .find(|e| e["web_name"] == web)
            .unwrap_or_else(|| panic!("{web}"))
    }

    pub(super) fn int(e: &Value, k: &str) -> i64 {
        e[k].as_i64().unwrap_or(0)
    }

    pub(super) fn price(e: &Value) -> String {
        let c = Self::int(e, "now_cost");
        format!("£{}.{}m", c / 10, c % 10)
    }

    fn team_name(&self, id: u64) -> String {
        self.teams[&id]["name"].as_str().unwrap().to_string()
    }

    fn team_id(&self, short: &str) -> u64 {
        self.teams
            .values()
            .find(|t| t["short_name"] == short)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    }

    /// Leader by a key (optionally one element_type): (web_name, value).
    fn leader(&self, key: impl Fn(&Value) -> i64, et: Option<i64>) -> (String, i64) {
        let mut best: Vec<&Value> = self
            .elements()
            .iter()
            .filter(|e| et.is_none_or(|t| Self::int(e, "element_type") == t))
            .collect();
        best.sort_by_key(|e| (-key(e), -Self::int(e, "total_points")));
        let e = best[0];
        (e["web_name"].as_str().unwrap().to_string(), key(e))
    }

    /// (played, won, drawn, lost, gf, ga, points) from finished fixtures.
    fn record(&self, team: u64) -> (i64, i64, i64, i64, i64, i64, i64) {
        let mut r = (0, 0, 0, 0, 0, 0, 0);
        for f in &self.fixtures {
            if f["finished"] != json!(true) {
                continue;
            }
            let (h, a) = (f["team_h"].as_u64().unwrap(), f["team_a"].as_u64().unwrap());
            let (hs, as_) = (Self::int(f, "team_h_score"), Self::int(f, "team_a_score"));
            let (gf, ga) = if h == team {
                (hs, as_)
            } else if a == team {
                (as_, hs)
            } else {
                continue;
            };
            r.0 += 1;
            r.4 += gf;
            r.5 += ga;
            match gf.cmp(&ga) {
                std::cmp::Ordering::Greater => {
                    r.1 += 1;
                    r.6 += 3
                }
                std::cmp::Ordering::Equal => {
                    r.2 += 1;
                    r.6 += 1
                }
                std::cmp::Ordering::Less => r.3 += 1,
            }
        }
        r
    }

    /// League position of a team (points, GD, GF, name).
    fn position(&self, team: u64) -> usize {
        let mut rows: Vec<(i64, i64, i64, String, u64)> = self
            .teams
            .keys()
            .map(|id| {
                let r = self.record(*id);
                (r.6, r.4 - r.5, r.4, self.team_name(*id), *id)
            })
            .collect();
        rows.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(b.2.cmp(&a.2))
                .then(a.3.cmp(&b.3))
        });
        rows.iter().position(|r| r.4 == team).unwrap() + 1
    }

    fn ordinal(n: usize) -> String {
        let s = match (n % 10, n % 100) {
            (1, 11) | (2, 12) | (3, 13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{s}")
    }

    fn history_points(&self, id: i64, from: i64, to: i64) -> i64 {
        let s: Value = serde_json::from_slice(
            &std::fs::read(self.dir.join(format!("element-summary/{id}.json"))).unwrap(),
        )
        .unwrap();
        s["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| (from..=to).contains(&Self::int(h, "round")))
            .map(|h| Self::int(h, "total_points"))
            .sum()
    }

    /// Average FDR per team over gameweeks `from..=to`: sorted easiest first (ties: more
    /// matches, then name) as (name, average).
    fn fdr_ranking(&self, from: i64, to: i64) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64, usize)> = self
            .teams
            .keys()
            .map(|id| {
                let diffs: Vec<i64> = self
                    .fixtures
                    .iter()
                    .filter(|f| {
                        f["event"]
                            .as_i64()
                            .is_some_and(|e| (from..=to).contains(&e))
                    })
                    .filter_map(|f| {
                        if f["team_h"].as_u64() == Some(*id) {
                            Some(Self::int(f, "team_h_difficulty"))
                        } else if f["team_a"].as_u64() == Some(*id) {
                            Some(Self::int(f, "team_a_difficulty"))
                        } else {
                            None
                        }
                    })
                    .collect();
                (
                    self.team_name(*id),
                    diffs.iter().sum::<i64>() as f64 / diffs.len() as f64,
                    diffs.len(),
                )
            })
            .collect();
        v.sort_by(|a, b| {
            a.1.partial_cmp(&b.1)
                .unwrap()
                .then(b.2.cmp(&a.2))
                .then(a.0.cmp(&b.0))
        });
        v.into_iter().map(|(n, a, _)| (n, a)).collect()
    }

    fn event(&self, id: i64) -> &Value {
        self.b["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| Self::int(e, "id") == id)
            .unwrap()
    }

    fn web_of(&self, id: i64) -> String {
        self.elements()
            .iter()
            .find(|e| Self::int(e, "id") == id)
            .unwrap()["web_name"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn full(e: &Value) -> String {
        format!(
            "{} {}",
            e["first_name"].as_str().unwrap(),
            e["second_name"].as_str().unwrap()
        )
    }
}

pub(super) struct Case {
    pub(super) question: String,
    pub(super) tool: Option<&'static str>,
    pub(super) facts: Vec<String>,
    /// The answer may be a clarification built from an is_error result.
    pub(super) allow_tool_error: bool,
}

pub(super) fn case(q: &str, tool: Option<&'static str>, facts: Vec<String>) -> Case {
    Case {
        question: q.to_string(),
        tool,
        facts,
        allow_tool_error: false,
    }
}

fn gw7_cases(f: &Facts) -> Vec<Case> {
    let mut v = Vec::new();
    let haaland = f.web("Haaland");
    v.push(case(
        "How is Haaland doing?",
        Some("fpl_player_data"),
        vec![
            format!("{} points", Facts::int(haaland, "total_points")),
            Facts::price(haaland),
            format!("{} goals", Facts::int(haaland, "goals_scored")),
            "Everton".replace("Everton", "EVE"),
        ],
    ));
    let salah = f.web("M.Salah");
    v.push(case(
        "Tell me about Mohamed Salah",
        Some("fpl_player_data"),
        vec![
            format!("{} points", Facts::int(salah, "total_points")),
            Facts::price(salah),
        ],
    ));
    let dub = f.web("Dúbravka");
    v.push(case(
        "How is Dubravka doing?",
        Some("fpl_player_data"),
        vec![
            Facts::full(dub),
            format!("{} points", Facts::int(dub, "total_points")),
            format!("**Saves:** {}", Facts::int(dub, "saves")),
        ],
    ));
    let sem = f.web("Semenyo");
    v.push(case(
        "What are Semenyo's stats this season?",
        Some("fpl_player_data"),
        vec![
            format!("{} points", Facts::int(sem, "total_points")),
            format!("{} assists", Facts::int(sem, "assists")),
        ],
    ));
    v.push(case(
        "How much is Salah?",
        Some("fpl_player_data"),
        vec![Facts::price(salah)],
    ));
    let palmer = f.web("Palmer");
    v.push(case(
        "What does Palmer cost?",
        Some("fpl_player_data"),
        vec![Facts::price(palmer)],
    ));
    let raya = f.web("Raya");
    v.push(case(
        "Price of Raya Martín?",
        Some("fpl_player_data"),
        vec![Facts::price(raya), "Raya Martín".into()],
    ));
    let saka = f.web("Saka");
    assert_eq!(saka["status"], "a");
    v.push(case(
        "Is Saka injured?",
        Some("fpl_player_data"),
        vec!["Bukayo Saka".into(), "available".into()],
    ));
    assert_eq!(palmer["status"], "d");
    v.push(case(
        "Is Palmer fit?",
        Some("fpl_player_data"),
        vec![
            "doubtful".into(),
            format!("{}%", Facts::int(palmer, "chance_of_playing_next_round")),
            palmer["news"].as_str().unwrap().to_string(),
        ],
    ));
    let watkins = f.web("Watkins");
    v.push(case(
        "Any injury news on Watkins?",
        Some("fpl_player_data"),
        vec![format!(
            "{}%",
            Facts::int(watkins, "chance_of_playing_next_round")
        )],
    ));
    for short in ["ARS", "CHE"] {
        let tid = f.team_id(short);
        let flagged: Vec<String> = f
            .elements()
            .iter()
            .filter(|e| {
                e["team"].as_u64() == Some(tid)
                    && ["i", "d", "s"].contains(&e["status"].as_str().unwrap())
            })
            .map(|e| e["web_name"].as_str().unwrap().to_string())
            .collect();
        assert!(!flagged.is_empty());
        let q = if short == "ARS" {
            "Who is injured at Arsenal?".to_string()
        } else {
            "Injury news for Chelsea".to_string()
        };
        v.push(case(&q, Some("fpl_team_data"), flagged));
    }
    // Form.
    let in_form = f.leader(
        |e| {
            (e["form"].as_str().unwrap().parse::<f64>().unwrap() * 10.0) as i64
                * i64::from(Facts::int(e, "minutes") > 0)
        },
        None,
    );
    v.push(case(
        "Who is in form?",
        Some("fpl_form_analysis"),
        vec![in_form.0.clone()],
    ));
    let mid_form = f.leader(
        |e| (e["form"].as_str().unwrap().parse::<f64>().unwrap() * 10.0) as i64,
        Some(3),
    );
    v.push(case(
        "Which midfielders are in form right now?",
        Some("fpl_form_analysis"),
        vec![mid_form.0],
    ));
    v.push(case(
        "Semenyo's form over the last 3 gameweeks",
        Some("fpl_form_analysis"),
        vec![
            format!("{} points", f.history_points(Facts::int(sem, "id"), 5, 7)),
            "GW5–GW7".into(),
            format!("{} points", f.history_points(Facts::int(sem, "id"), 2, 4)),
        ],
    ));
    v.push(case(
        "How has Haaland played in the last 4 gameweeks?",
        Some("fpl_form_analysis"),
        vec![format!(
            "{} points",
            f.history_points(Facts::int(haaland, "id"), 4, 7)
        )],
    ));
    // Team form: Chelsea's last five results, computed.
    let che = f.team_id("CHE");
    let mut che_results: Vec<(String, i64, i64)> = f
        .fixtures
        .iter()
        .filter(|x| {
            x["finished"] == json!(true)
                && (x["team_h"].as_u64() == Some(che) || x["team_a"].as_u64() == Some(che))
        })
        .map(|x| {
            let home = x["team_h"].as_u64() == Some(che);
            let (hs, as_) = (Facts::int(x, "team_h_score"), Facts::int(x, "team_a_score"));
            let (gf, ga) = if home { (hs, as_) } else { (as_, hs) };
            (x["kickoff_time"].as_str().unwrap().to_string(), gf, ga)
        })
        .collect();
    che_results.sort();
    let last5 = &che_results[che_results.len() - 5..];
    let w = last5.iter().filter(|r| r.1 > r.2).count();
    let d = last5.iter().filter(|r| r.1 == r.2).count();
    let l = 5 - w - d;
    v.push(case(
        "How are Chelsea doing lately?",
        Some("fpl_form_analysis"),
        vec![format!("W{w} D{d} L{l}")],
    ));
    // Comparisons.
    v.push(case(
        "Compare Haaland and Watkins",
        Some("fpl_player_comparison"),
        vec![
            Facts::int(haaland, "total_points").to_string(),
            Facts::int(watkins, "total_points").to_string(),
            Facts::price(watkins),
            "Haaland leads on points".into(),
        ],
    ));
    v.push(case(
        "Salah or Saka?",
        Some("fpl_player_comparison"),
        vec![
            Facts::price(salah),
            Facts::price(saka),
            Facts::int(saka, "total_points").to_string(),
        ],
    ));
    v.push(case(
        "Compare Haaland, Salah and Semenyo",
        Some("fpl_player_comparison"),
        vec![
            Facts::int(sem, "total_points").to_string(),
            Facts::int(salah, "total_points").to_string(),
            Facts::price(sem),
        ],
    ));
    // Leaders.
    let goals = f.leader(|e| Facts::int(e, "goals_scored"), None);
    v.push(case(
        "Top scorers",
        Some("fpl_league_data"),
        vec![format!("**{}**", goals.0), format!("— {}", goals.1)],
    ));
    let def_assists = f.leader(|e| Facts::int(e, "assists"), Some(2));
    v.push(case(
        "Most assists among defenders",
        Some("fpl_league_data"),
        vec![
            format!("**{}**", def_assists.0),
            format!("— {}", def_assists.1),
            "defenders".into(),
        ],
    ));
    let saves = f.leader(|e| Facts::int(e, "saves"), Some(1));
    v.push(case(
        "Best goalkeepers by saves",
        Some("fpl_league_data"),
        vec![format!("**{}**", saves.0), format!("— {}", saves.1)],
    ));
    let cs = f.leader(|e| Facts::int(e, "clean_sheets"), None);
    v.push(case(
        "Who has the most clean sheets?",
        Some("fpl_league_data"),
        vec![format!("— {}", cs.1), "clean sheets".into()],
    ));
    let bonus = f.leader(|e| Facts::int(e, "bonus"), None);
    v.push(case(
        "Which player has the most bonus points?",
        Some("fpl_league_data"),
        vec![format!("**{}**", bonus.0), format!("— {}", bonus.1)],
    ));
    let cards = f.leader(
        |e| Facts::int(e, "yellow_cards") + Facts::int(e, "red_cards"),
        None,
    );
    v.push(case(
        "Who has the most yellow cards?",
        Some("fpl_league_data"),
        vec![format!("— {}", cards.1)],
    ));
    let pts = f.leader(|e| Facts::int(e, "total_points"), None);
    v.push(case(
        "Who has the most points?",
        Some("fpl_league_data"),
        vec![format!("**{}**", pts.0), format!("— {}", pts.1)],
    ));
    let fwd = f.leader(|e| Facts::int(e, "goals_scored"), Some(4));
    v.push(case(
        "Top 5 forwards by goals",
        Some("fpl_league_data"),
        vec![format!("**{}**", fwd.0), "forwards".into()],
    ));
    let mins = f.leader(|e| Facts::int(e, "minutes"), None);
    v.push(case(
        "Most minutes played",
        Some("fpl_league_data"),
        vec![format!("— {}", mins.1)],
    ));
    // Fixtures.
    let ars = f.team_id("ARS");
    let mut ars_next: Vec<(i64, String)> = f
        .fixtures
        .iter()
        .filter(|x| {
            x["finished"] == json!(false)
                && (x["team_h"].as_u64() == Some(ars) || x["team_a"].as_u64() == Some(ars))
        })
        .map(|x| {
            let opp = if x["team_h"].as_u64() == Some(ars) {
                x["team_a"].as_u64().unwrap()
            } else {
                x["team_h"].as_u64().unwrap()
            };
            (Facts::int(x, "event"), f.team_name(opp))
        })
        .collect();
    ars_next.sort();
    v.push(case(
        "Arsenal's next fixtures",
        Some("fpl_fixture_data"),
        ars_next.iter().take(3).map(|x| x.1.clone()).collect(),
    ));
    let ranking = f.fdr_ranking(8, 12);
    v.push(case(
        "Who has the easiest fixtures for the next five gameweeks?",
        Some("fpl_fixture_difficulty"),
        vec![
            format!("**{}**", ranking[0].0),
            format!("{:.2}", ranking[0].1),
            "GW8–GW12".into(),
        ],
    ));
    let hard = f.fdr_ranking(8, 10);
    let hardest = hard.last().unwrap();
    v.push(case(
        "Who has the hardest fixtures over the next 3 gameweeks?",
        Some("fpl_fixture_difficulty"),
        vec![format!("**{}**", hardest.0), format!("{:.2}", hardest.1)],
    ));
    let lc = f
        .fixtures
        .iter()
        .find(|x| {
            x["finished"] == json!(true)
                && [x["team_h"].as_u64(), x["team_a"].as_u64()]
                    .iter()
                    .all(|t| [Some(f.team_id("LIV")), Some(f.team_id("CHE"))].contains(t))
        })
        .unwrap();
    v.push(case(
        "Liverpool vs Chelsea",
        Some("fpl_fixture_data"),
        vec![format!(
            "**{}-{}**",
            Facts::int(lc, "team_h_score"),
            Facts::int(lc, "team_a_score")
        )],
    ));
    let tot_avg = f
        .fdr_ranking(8, 12)
        .into_iter()
        .find(|x| x.0 == "Spurs")
        .unwrap()
        .1;
    v.push(case(
        "How difficult are Spurs' next 5 fixtures?",
        Some("fpl_fixture_difficulty"),
        vec![format!("{tot_avg:.2}")],
    ));
    let mci = f.team_id("MCI");
    let mci_next = f
        .fixtures
        .iter()
        .find(|x| {
            Facts::int(x, "event") == 8
                && (x["team_h"].as_u64() == Some(mci) || x["team_a"].as_u64() == Some(mci))
        })
        .unwrap();
    let opp = if mci_next["team_h"].as_u64() == Some(mci) {
        mci_next["team_a"].as_u64().unwrap()
    } else {
        mci_next["team_h"].as_u64().unwrap()
    };
    v.push(case(
        "Who do Man City play next?",
        Some("fpl_fixture_data"),
        vec![f.team_name(opp)],
    ));
    // Gameweeks.
    let gw8 = f.event(8);
    let deadline =
        chrono::DateTime::parse_from_rfc3339(gw8["deadline_time"].as_str().unwrap()).unwrap();
    v.push(case(
        "When is the next deadline?",
        Some("fpl_get_gameweek"),
        vec![
            deadline.format("%-d %b %Y %H:%M").to_string(),
            "Gameweek 8".into(),
        ],
    ));
    let gw7 = f.event(7);
    v.push(case(
        "What was the average score this gameweek?",
        Some("fpl_get_gameweek"),
        vec![format!("{} points", Facts::int(gw7, "average_entry_score"))],
    ));
    v.push(case(
        "What was the highest score in gameweek 7?",
        Some("fpl_get_gameweek"),
        vec![format!("{} points", Facts::int(gw7, "highest_score"))],
    ));
    v.push(case(
        "Who was the most captained player?",
        Some("fpl_get_gameweek"),
        vec![
            f.web_of(Facts::int(gw7, "most_captained")),
            f.web_of(Facts::int(gw7, "most_vice_captained")),
        ],
    ));
    let wc = gw7["chip_plays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chip_name"] == "wildcard")
        .unwrap();
    v.push(case(
        "How many chips were played this gameweek?",
        Some("fpl_get_gameweek"),
        vec![crate::tools::fpl::thousands(
            wc["num_played"].as_u64().unwrap(),
        )],
    ));
    let gw5 = f.event(5);
    v.push(case(
        "What was the average score in GW5?",
        Some("fpl_get_gameweek"),
        vec![
            format!("{} points", Facts::int(gw5, "average_entry_score")),
            "Gameweek 5".into(),
        ],
    ));
    // Table.
    let leader_id = f
        .teams
        .keys()
        .copied()
        .find(|id| f.position(*id) == 1)
        .unwrap();
    v.push(case(
        "Show the league table",
        Some("fpl_team_data"),
        vec![
            format!("| 1 | {} |", f.team_name(leader_id)),
            format!("**{}**", f.record(leader_id).6),
        ],
    ));
    let tot = f.team_id("TOT");
    v.push(case(
        "Where are Spurs in the table?",
        Some("fpl_team_data"),
        vec![
            Facts::ordinal(f.position(tot)),
            format!("{} points", f.record(tot).6),
        ],
    ));
    let wol = f.team_id("WOL");
    v.push(case(
        "What position are Wolves in the league?",
        Some("fpl_team_data"),
        vec![Facts::ordinal(f.position(wol))],
    ));
    // Teams.
    v.push(case(
        "How many goals have Chelsea scored?",
        Some("fpl_team_data"),
        vec![
            format!("{} goals", f.record(che).4),
            format!("conceded {}", f.record(che).5),
        ],
    ));
    v.push(case(
        "Tell me about Arsenal",
        Some("fpl_team_data"),
        vec![
            Facts::ordinal(f.position(ars)),
            format!("{} points", f.record(ars).6),
        ],
    ));
    // No tools.
    v.push(case("Hello!", None, vec!["FPL".into()]));
    v.push(case("Thanks a lot", None, vec!["welcome".into()]));
    v.push(case(
        "What's the weather like in London?",
        None,
        vec!["How is Haaland doing?".into()],
    ));
    // Recoverable errors.
    let mut c = case(
        "How is Haalnd doing?",
        Some("fpl_player_data"),
        vec!["Did you mean".into(), "**Haaland**".into()],
    );
    c.allow_tool_error = true;
    v.push(c);
    let johnsons: Vec<String> = f
        .elements()
        .iter()
        .filter(|e| e["web_name"] == "Johnson")
        .map(Facts::full)
        .collect();
    let mut c = case(
        "Is Johnson fit?",
        Some("fpl_player_data"),
        [johnsons, vec!["Which one".into()]].concat(),
    );
    c.allow_tool_error = true;
    v.push(c);
    v
}

fn final_cases(f: &Facts) -> Vec<Case> {
    let mut v = Vec::new();
    let haaland = f.web("Haaland");
    v.push(case(
        "How is Haaland doing?",
        Some("fpl_player_data"),
        vec![
            format!("{} points", Facts::int(haaland, "total_points")),
            "none left this season".into(),
        ],
    ));
    v.push(case(
        "When is the next deadline?",
        Some("fpl_get_gameweek"),
        vec!["season is over".into()],
    ));
    v.push(case(
        "Who has the easiest fixtures for the next five gameweeks?",
        Some("fpl_fixture_difficulty"),
        vec!["season is over".into()],
    ));
    v.push(case(
        "Semenyo's form over the last 3 gameweeks",
        Some("fpl_form_analysis"),
        vec!["not available".into()],
    ));
    let ars = f.team_id("ARS");
    v.push(case(
        "Show the league table",
        Some("fpl_team_data"),
        vec![format!("**{}**", f.record(ars).6), "| 38 |".into()],
    ));
    let goals = f.leader(|e| Facts::int(e, "goals_scored"), None);
    v.push(case(
        "Top scorers",
        Some("fpl_league_data"),
        vec![format!("**{}**", goals.0), format!("— {}", goals.1)],
    ));
    v.push(case(
        "Arsenal's next fixtures",
        Some("fpl_fixture_data"),
        vec!["No matches left".into()],
    ));
    let salah = f.web("M.Salah");
    v.push(case(
        "Compare Haaland and Salah",
        Some("fpl_player_comparison"),
        vec![
            Facts::int(salah, "total_points").to_string(),
            Facts::price(haaland),
        ],
    ));
    v.push(case(
        "Who is injured at Arsenal?",
        Some("fpl_team_data"),
        vec!["Arsenal".into()],
    ));
    let gw38 = f.event(38);
    v.push(case(
        "What was the average score this gameweek?",
        Some("fpl_get_gameweek"),
        vec![format!(
            "{} points",
            Facts::int(gw38, "average_entry_score")
        )],
    ));
    let tot = f.team_id("TOT");
    v.push(case(
        "Where are Spurs in the table?",
        Some("fpl_team_data"),
        vec![Facts::ordinal(f.position(tot))],
    ));
    v.push(case(
        "Is Saka injured?",
        Some("fpl_player_data"),
        vec!["Bukayo Saka".into()],
    ));
    v
}

pub(super) async fn run_set(name: &str, cases: Vec<Case>) -> (usize, usize) {
    let source = FplSource::snapshot_dir(snapshot_dir(name)).unwrap();
    let tools = BuiltinTools::new(source.clone());
    let analyst = OfflineAnalyst::new(source).with_pacing(Duration::ZERO);
    let total = cases.len();
    let mut passed = 0;
    for c in cases {
        let turn = ask(&analyst, &tools, &c.question).await;
        let mut problems = Vec::new();
        match c.tool {
            Some(t) if !turn.tools.iter().any(|u| u == t) => {
                problems.push(format!("expected tool {t}, used {:?}", turn.tools))
            }
            None if !turn.tools.is_empty() => {
                problems.push(format!("expected no tools, used {:?}", turn.tools))
            }
            _ => {}
        }
        if turn.tool_errors > 0 && !c.allow_tool_error {
            problems.push(format!("{} tool errors", turn.tool_errors));
        }
        if turn.rounds > 4 {
            problems.push(format!("{} rounds", turn.rounds));
        }
        for fact in &c.facts {
            if !turn.answer.contains(fact.as_str()) {
                problems.push(format!("missing fact {fact:?}"));
            }
        }
        for bad in ["played: 0", "I couldn't answer", "null"] {
            if turn.answer.contains(bad) {
                problems.push(format!("answer contains {bad:?}"));
            }
        }
        if std::env::var_os("FPL_PRINT_ANSWERS").is_some() {
            println!("Q: {}\n{}\n", c.question, turn.answer);
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            println!(
                "FAIL [{name}] {:?}: {}\n--- answer ---\n{}\n",
                c.question,
                problems.join("; "),
                turn.answer
            );
        }
    }
    println!("question set {name}: {passed}/{total} passed");
    (passed, total)
}

#[tokio::test]
async fn question_set_gw7() {
    let facts = Facts::load("2025-26_gw7");
    let cases = gw7_cases(&facts);
    assert!(cases.len() >= 40, "{} questions", cases.len());
    let (passed, total) = run_set("2025-26_gw7", cases).await;
    assert_eq!(passed, total, "question set score {passed}/{total}");
}

#[tokio::test]
async fn question_set_final_season() {
    let facts = Facts::load("2025-26_final");
    let (passed, total) = run_set("2025-26_final", final_cases(&facts)).await;
    assert_eq!(passed, total, "question set score {passed}/{total}");
}

#[tokio::test]
async fn streams_small_pieces_with_pacing_and_ids() {
    let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
    let tools = BuiltinTools::new(source.clone());
    let analyst = OfflineAnalyst::new(source).with_pacing(Duration::from_millis(2));
    assert_eq!(analyst.name(), "offline");
    assert_eq!(analyst.model(), "fpl-analyst");
    let q = Message {
        role: Role::User,
        content: vec![ContentBlock::Text {
            text: "How is Haaland doing?".into(),
        }],
    };
    let req = |messages: Vec<Message>| LlmRequest {
        system: "".into(),
        messages,
        tools: ToolList::from([]),
        max_tokens: 512,
    };
    let events: Vec<LlmEvent> = analyst
        .stream(&req(vec![q.clone()]))
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let LlmEvent::ToolUse { id, name, input } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(id, "toolu_offline_1");
    assert_eq!(name, "fpl_player_data");
    assert!(matches!(events[events.len() - 2], LlmEvent::Usage { .. }));
    assert_eq!(events.last(), Some(&LlmEvent::Stop(StopReason::ToolUse)));
    let out = tools.call(name, input.clone()).await.unwrap();
    let msgs = vec![
        q,
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: id.clone(),
                name: name.clone(),
                input: input.clone(),
            }],
        },
        Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: id.clone(),
                content: out.text,
                structured: out.structured,
                is_error: false,
            }],
        },
    ];
    let started = std::time::Instant::now();
    let events: Vec<LlmEvent> = analyst
        .stream(&req(msgs))
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let deltas: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            LlmEvent::TextDelta(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(deltas.len() > 20, "{} pieces", deltas.len());
    assert!(deltas.iter().all(|d| d.split_whitespace().count() <= 2));
    assert!(started.elapsed() >= Duration::from_millis(2 * (deltas.len() as u64 - 1)));
    let text: String = deltas.iter().map(|s| s.as_str()).collect();
    let LlmEvent::Usage { output_tokens, .. } = events[events.len() - 2] else {
        panic!()
    };
    assert_eq!(output_tokens, (text.chars().count() as u64).div_ceil(4));
    assert_eq!(events.last(), Some(&LlmEvent::Stop(StopReason::EndTurn)));
}

/// Time to first text of a typical question (round 1 + tool + first delta of round 2),
/// printed, with the default pacing. Not a timed assertion.
#[tokio::test]
async fn measure_time_to_first_text() {
    let source = FplSource::snapshot_dir(snapshot_dir("2025-26_gw7")).unwrap();
    let tools = BuiltinTools::new(source.clone());
    let analyst = OfflineAnalyst::new(source.clone());
    for (label, question) in [
        ("cold cache", "How is Haaland doing?"),
        ("warm", "How is Haaland doing?"),
        (
            "warm",
            "Who has the easiest fixtures for the next five gameweeks?",
        ),
    ] {
        let started = std::time::Instant::now();
        let q = Message {
            role: Role::User,
            content: vec![ContentBlock::Text {
                text: question.into(),
            }],
        };
        let req = |messages: Vec<Message>| LlmRequest {
            system: "".into(),
            messages,
            tools: ToolList::from([]),
            max_tokens: 512,
        };
        let events: Vec<LlmEvent> = analyst
            .stream(&req(vec![q.clone()]))
            .await
            .unwrap()
            .map(|e| e.unwrap())
            .collect()
            .await;
        let mut uses = Vec::new();
        let mut results = Vec::new();
        for e in events {
            if let LlmEvent::ToolUse { id, name, input } = e {
                let out = tools.call(&name, input.clone()).await.unwrap();
                results.push(ContentBlock::ToolResult {
                    tool_use_id: id.clone(),
                    content: out.text,
                    structured: out.structured,
                    is_error: out.is_error,
                });
                uses.push(ContentBlock::ToolUse { id, name, input });
            }
        }
        let msgs = vec![
            q,
            Message {
                role: Role::Assistant,
                content: uses,
            },
            Message {
                role: Role::User,
                content: results,
            },
        ];
        let mut stream = analyst.stream(&req(msgs)).await.unwrap();
        while let Some(e) = stream.next().await {
            if let Ok(LlmEvent::TextDelta(_)) = e {
                break;
            }
        }
        println!(
            "time to first text ({label}, {question:?}): {:?}",
            started.elapsed()
        );
    }
}
