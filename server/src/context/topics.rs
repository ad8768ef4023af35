//! Topics: the FPL players, teams and gameweeks a conversation is about, found in its questions
//! with the FPL name index (accents and case ignored; ambiguous names left out). They are kept
//! on the conversation, newest last, and lead its running summary.
use crate::fpl::FplData;

/// Topics kept per conversation (the oldest go first).
pub const MAX_TOPICS: usize = 12;
const PREFIX: &str = "Topics: ";

/// The players (web names), teams and gameweeks named in `text`, in order.
pub fn from_text(data: &FplData, text: &str) -> Vec<String> {
    let mentions = data.names().mentions(text);
    let mut out: Vec<String> = Vec::new();
    for player in &mentions.players {
        if let [id] = player.ids[..] {
            if let Some(p) = data.player(id) {
                out.push(p.web_name.clone());
            }
        }
    }
    for team in &mentions.teams {
        if let Some(t) = data.team(*team) {
            out.push(t.name.clone());
        }
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    for (i, word) in words.iter().enumerate() {
        let number = match word.strip_prefix("gw") {
            Some(n) if !n.is_empty() => n.parse::<u32>().ok(),
            _ if word == "gameweek" || word == "gw" => {
                words.get(i + 1).and_then(|n| n.parse::<u32>().ok())
            }
            _ => None,
        };
        if let Some(n) = number.filter(|n| (1..=38).contains(n)) {
            out.push(format!("GW{n}"));
        }
    }
    out.dedup();
    out
}

/// The title a conversation gets from its topics once it has two or more: the first three,
/// and how many more there are.
pub fn title(topics: &[String]) -> Option<String> {
    if topics.len() < 2 {
        return None;
    }
    let named = topics[..topics.len().min(3)].join(", ");
    Some(match topics.len() {
        n if n > 3 => format!("{named} +{}", n - 3),
        _ => named,
    })
}

/// `existing` with `new` added (each once, newest last), at most [`MAX_TOPICS`].
pub fn merge(existing: &[String], new: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = existing.to_vec();
    for topic in new {
        out.retain(|t| t != &topic);
        out.push(topic);
    }
    let skip = out.len().saturating_sub(MAX_TOPICS);
    out.split_off(skip)
}

/// The running summary led by the topics line (an older topics line is replaced).
pub fn lead_summary(summary: &str, topics: &[String]) -> String {
    let rest: Vec<&str> = summary.lines().filter(|l| !l.starts_with(PREFIX)).collect();
    if topics.is_empty() {
        return rest.join("\n");
    }
    format!("{PREFIX}{}\n{}", topics.join(", "), rest.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::FplSource;

    async fn data() -> std::sync::Arc<FplData> {
        let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let snapshot = loop {
            let candidate = dir.join("shared/fpl-data/2025-26_gw7");
            if candidate.is_dir() {
                break candidate;
            }
            assert!(dir.pop(), "shared/fpl-data not found");
        };
        FplSource::snapshot_dir(&snapshot)
            .unwrap()
            .data()
            .await
            .unwrap()
    }

    #[test]
    fn two_topics_or_more_name_a_conversation() {
        let t = |names: &[&str]| title(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&["Haaland"]), None);
        assert_eq!(t(&["Haaland", "Salah"]).as_deref(), Some("Haaland, Salah"));
        assert_eq!(
            t(&["Haaland", "Salah", "Arsenal", "GW8", "Saka"]).as_deref(),
            Some("Haaland, Salah, Arsenal +2")
        );
    }

    #[tokio::test]
    async fn players_teams_and_gameweeks_are_found() {
        let data = data().await;
        let found = from_text(
            &data,
            "Is haaland or Dúbravka better than Arsenal's defence for GW8 and gameweek 9?",
        );
        assert!(found.contains(&"Haaland".to_string()), "{found:?}");
        assert!(found.contains(&"Dúbravka".to_string()), "{found:?}");
        assert!(found.contains(&"Arsenal".to_string()), "{found:?}");
        assert!(
            found.contains(&"GW8".to_string()) && found.contains(&"GW9".to_string()),
            "{found:?}"
        );
        assert!(from_text(&data, "hello there").is_empty());
    }

    #[test]
    fn topics_merge_newest_last_and_lead_the_summary() {
        let merged = merge(
            &["Haaland".into(), "Arsenal".into()],
            vec!["Haaland".into(), "GW8".into()],
        );
        assert_eq!(merged, ["Arsenal", "Haaland", "GW8"]);
        let many: Vec<String> = (0..20).map(|i| format!("T{i}")).collect();
        assert_eq!(merge(&[], many).len(), MAX_TOPICS);
        let led = lead_summary("Topics: old\n- Asked: x", &merged);
        assert_eq!(led, "Topics: Arsenal, Haaland, GW8\n- Asked: x");
    }
}
