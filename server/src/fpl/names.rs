//! Name matching for players and teams.
//!
//! Promises: matching ignores case, accents and punctuation ("Dúbravka" = "dubravka",
//! "Raya Martín" = "raya martin", "Nott'm Forest" = "nottm forest"); it knows players' full
//! names, web names and surnames, and teams' names, short names and common nicknames
//! ("Spurs", "Man Utd", "Wolves", "Forest", "Villa"…). A query ends as `Exact` (one),
//! `Ambiguous` (several candidates, best known first; we ask rather than guess) or
//! `NotFound` (suggestions by spelling similarity). A unique full-name or web-name hit wins
//! over partial hits. [`NameIndex::mentions`] finds the players and teams named in a sentence.
//! The work is bounded whatever the input: a query is compared by its first
//! [`MAX_FOLDED_QUERY`] folded characters, names whose length rules out a close spelling are
//! not compared letter by letter, and a text is read up to [`MAX_TEXT_WORDS`] folded words.

use std::collections::{HashMap, HashSet};

use crate::fpl::model::{Element, Team};

/// Outcome of matching a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch<T> {
    /// Exactly one entity matches.
    Exact(T),
    /// Several entities match equally well; best known first.
    Ambiguous(Vec<T>),
    /// Nothing matches; similar names, most similar first (possibly empty).
    NotFound(Vec<T>),
}

/// Case-, accent- and punctuation-insensitive form of a name: ASCII lowercase words
/// separated by single spaces. A possessive `'s` is dropped and other apostrophes vanish.
pub fn fold(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut cleaned = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_apostrophe(c) {
            let next_is_s = chars.get(i + 1).is_some_and(|n| *n == 's' || *n == 'S');
            let after_is_word = chars.get(i + 2).is_some_and(|n| n.is_alphanumeric());
            i += if next_is_s && !after_is_word { 2 } else { 1 };
            continue;
        }
        cleaned.push(c);
        i += 1;
    }
    let ascii = deunicode::deunicode(&cleaned).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .map(|w| w.replace('\'', ""))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | 'ʼ')
}

/// Longest folded query the matcher compares, in characters; the rest is ignored. The tools
/// refuse queries over 100 characters, but folding can lengthen one ("ﷺ" folds to 28
/// letters), and no name is half this long.
pub const MAX_FOLDED_QUERY: usize = 100;

/// Most folded words of a text that [`NameIndex::mentions`] reads. A chat question (8,000
/// characters) has at most 4,000 words as typed; folding can multiply them ("ﷺ" is four).
pub const MAX_TEXT_WORDS: usize = 4_000;

/// `query` folded and cut to [`MAX_FOLDED_QUERY`] characters (only its start is folded).
fn fold_query(query: &str) -> String {
    let head: String = query.chars().take(MAX_FOLDED_QUERY * 4).collect();
    let mut folded = fold(&head);
    if folded.len() > MAX_FOLDED_QUERY {
        // Folded text is ASCII: any byte is a character boundary.
        folded.truncate(MAX_FOLDED_QUERY);
        folded.truncate(folded.trim_end().len());
    }
    folded
}

/// Edit distance between two strings (by chars).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Similarity in 0..=1 from the edit distance (1 = equal).
pub fn similarity(a: &str, b: &str) -> f64 {
    let len = a.chars().count().max(b.chars().count());
    if len == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / len as f64
}

/// [`similarity`] when it can reach `floor`, else 0. Strings whose lengths differ by more
/// edits than `floor` allows are not compared letter by letter, so a query far longer or
/// shorter than a name costs nothing against it.
pub fn similarity_from(a: &str, b: &str, floor: f64) -> f64 {
    let (la, lb) = (a.chars().count(), b.chars().count());
    let len = la.max(lb);
    if len == 0 {
        return 1.0;
    }
    // A hair of slack, so that a similarity of exactly `floor` is not lost to rounding.
    let allowed = ((1.0 - floor) * len as f64 + 1e-9).floor() as usize;
    if la.abs_diff(lb) > allowed {
        return 0.0;
    }
    1.0 - levenshtein(a, b) as f64 / len as f64
}

/// How similar a misspelt name must be to be suggested.
const SUGGESTION_FLOOR: f64 = 0.6;

/// Nicknames by team short name (folded).
const TEAM_ALIASES: &[(&str, &[&str])] = &[
    ("ARS", &["arsenal", "gunners", "the gunners", "afc"]),
    ("AVL", &["villa", "aston villa", "avfc"]),
    ("BOU", &["bournemouth", "afc bournemouth", "cherries"]),
    ("BRE", &["brentford", "bees"]),
    (
        "BHA",
        &[
            "brighton",
            "brighton and hove albion",
            "brighton hove albion",
            "seagulls",
        ],
    ),
    ("BUR", &["burnley", "clarets"]),
    ("CHE", &["chelsea", "cfc"]),
    ("CRY", &["palace", "crystal palace", "cpfc"]),
    ("EVE", &["everton", "toffees", "efc"]),
    ("FUL", &["fulham", "cottagers"]),
    ("IPS", &["ipswich", "ipswich town"]),
    ("LEE", &["leeds", "leeds united", "lufc"]),
    ("LEI", &["leicester", "leicester city", "foxes"]),
    ("LIV", &["liverpool", "lfc", "pool"]),
    ("MCI", &["man city", "manchester city", "mcfc", "city"]),
    (
        "MUN",
        &[
            "man utd",
            "man united",
            "manchester united",
            "mufc",
            "utd",
            "united",
        ],
    ),
    (
        "NEW",
        &["newcastle", "newcastle united", "toon", "magpies", "nufc"],
    ),
    (
        "NFO",
        &[
            "forest",
            "nottingham forest",
            "nottm forest",
            "notts forest",
            "nffc",
        ],
    ),
    ("SOU", &["southampton", "saints"]),
    ("SUN", &["sunderland", "black cats"]),
    ("TOT", &["spurs", "tottenham", "tottenham hotspur", "thfc"]),
    (
        "WHU",
        &["west ham", "west ham united", "hammers", "irons", "whufc"],
    ),
    (
        "WOL",
        &["wolves", "wolverhampton", "wolverhampton wanderers"],
    ),
];

/// Aliases that are ordinary words and only count when the whole query is the alias, never
/// inside a sentence.
const WEAK_ALIASES: &[&str] = &[
    "city", "united", "utd", "pool", "afc", "bees", "saints", "irons",
];

/// Words never taken as a player or team name inside a sentence.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "against",
    "all",
    "among",
    "amongst",
    "an",
    "and",
    "any",
    "are",
    "as",
    "assist",
    "assists",
    "at",
    "available",
    "average",
    "away",
    "be",
    "been",
    "best",
    "better",
    "between",
    "bonus",
    "buy",
    "by",
    "can",
    "captain",
    "captained",
    "captaincy",
    "card",
    "cards",
    "chance",
    "chip",
    "chips",
    "clean",
    "compare",
    "compared",
    "cost",
    "costs",
    "current",
    "currently",
    "deadline",
    "defence",
    "defender",
    "defenders",
    "difficulty",
    "do",
    "does",
    "doing",
    "easiest",
    "easy",
    "eight",
    "expected",
    "fantasy",
    "fdr",
    "fit",
    "fitness",
    "five",
    "fixture",
    "fixtures",
    "for",
    "form",
    "forward",
    "forwards",
    "four",
    "fpl",
    "from",
    "game",
    "games",
    "gameweek",
    "gameweeks",
    "get",
    "give",
    "goal",
    "goalkeeper",
    "goalkeepers",
    "goals",
    "good",
    "gw",
    "had",
    "hard",
    "hardest",
    "has",
    "have",
    "he",
    "hello",
    "hey",
    "hi",
    "highest",
    "his",
    "home",
    "how",
    "i",
    "in",
    "injured",
    "injuries",
    "injury",
    "is",
    "it",
    "keeper",
    "keepers",
    "last",
    "latest",
    "league",
    "least",
    "less",
    "list",
    "lowest",
    "many",
    "match",
    "matches",
    "me",
    "mid",
    "midfielder",
    "midfielders",
    "minutes",
    "more",
    "most",
    "much",
    "my",
    "new",
    "news",
    "next",
    "nine",
    "now",
    "of",
    "on",
    "one",
    "or",
    "out",
    "over",
    "pick",
    "play",
    "played",
    "player",
    "players",
    "playing",
    "please",
    "points",
    "position",
    "premier",
    "previous",
    "price",
    "rank",
    "ranking",
    "red",
    "right",
    "run",
    "save",
    "saves",
    "score",
    "scored",
    "scorer",
    "scorers",
    "scores",
    "season",
    "sell",
    "selected",
    "seven",
    "sheet",
    "sheets",
    "should",
    "show",
    "six",
    "so",
    "standing",
    "standings",
    "stats",
    "still",
    "striker",
    "strikers",
    "table",
    "team",
    "teams",
    "tell",
    "ten",
    "than",
    "thank",
    "thanks",
    "the",
    "their",
    "them",
    "they",
    "this",
    "three",
    "to",
    "today",
    "top",
    "transfer",
    "transferred",
    "transfers",
    "two",
    "value",
    "versus",
    "vs",
    "v",
    "was",
    "week",
    "weeks",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "whos",
    "will",
    "with",
    "worst",
    "xa",
    "xg",
    "yellow",
    "you",
    "your",
];

#[derive(Debug, Clone)]
struct PlayerKey {
    id: u32,
    full: String,
    web: String,
    second: String,
    first: String,
    tokens: Vec<String>,
    weight: i32,
}

#[derive(Debug, Clone)]
struct TeamKey {
    id: u32,
    name: String,
    short: String,
    aliases: Vec<String>,
}

/// A player named in a sentence; `ids` has one id when the name is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerMention {
    /// The words of the sentence that named the player (folded).
    pub text: String,
    pub ids: Vec<u32>,
}

/// Players and teams named in a sentence, in order of appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub teams: Vec<u32>,
    pub players: Vec<PlayerMention>,
}

/// Index of every player's and team's names.
#[derive(Debug, Clone)]
pub struct NameIndex {
    players: Vec<PlayerKey>,
    teams: Vec<TeamKey>,
    phrase_players: HashMap<String, Vec<u32>>,
    phrase_teams: HashMap<String, u32>,
    short_teams: HashMap<String, u32>,
    stopwords: HashSet<&'static str>,
}

impl NameIndex {
    /// Index the given players and teams.
    pub fn new(elements: &[Element], teams: &[Team]) -> Self {
        let mut players: Vec<PlayerKey> = elements
            .iter()
            .map(|e| {
                let full = fold(&e.full_name());
                let web = fold(&e.web_name);
                let mut tokens: Vec<String> = full
                    .split(' ')
                    .chain(web.split(' '))
                    .map(str::to_string)
                    .collect();
                tokens.sort();
                tokens.dedup();
                PlayerKey {
                    id: e.id,
                    full,
                    web,
                    second: fold(&e.second_name),
                    first: fold(&e.first_name),
                    tokens,
                    weight: e.total_points,
                }
            })
            .collect();
        players.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.id.cmp(&b.id)));

        let teams: Vec<TeamKey> = teams
            .iter()
            .map(|t| {
                let short = fold(&t.short_name);
                let aliases = TEAM_ALIASES
                    .iter()
                    .find(|(s, _)| s.eq_ignore_ascii_case(&t.short_name))
                    .map(|(_, a)| a.iter().map(|x| x.to_string()).collect())
                    .unwrap_or_default();
                TeamKey {
                    id: t.id,
                    name: fold(&t.name),
                    short,
                    aliases,
                }
            })
            .collect();

        let mut phrase_players: HashMap<String, Vec<u32>> = HashMap::new();
        for p in &players {
            let mut keys = vec![p.full.clone(), p.web.clone(), p.second.clone()];
            if let Some(last) = p.second.split(' ').next_back() {
                if last.len() >= 3 {
                    keys.push(last.to_string());
                    keys.push(format!("{} {}", p.first, last));
                }
            }
            if let Some(first_of_second) = p.second.split(' ').next() {
                if first_of_second.len() >= 4 {
                    keys.push(first_of_second.to_string());
                }
            }
            keys.sort();
            keys.dedup();
            for k in keys {
                if !k.is_empty() {
                    phrase_players.entry(k).or_default().push(p.id);
                }
            }
        }

        let mut phrase_teams = HashMap::new();
        let mut short_teams = HashMap::new();
        for t in &teams {
            phrase_teams.insert(t.name.clone(), t.id);
            for a in &t.aliases {
                if !WEAK_ALIASES.contains(&a.as_str()) {
                    phrase_teams.insert(a.clone(), t.id);
                }
            }
            short_teams.insert(t.short.clone(), t.id);
        }

        Self {
            players,
            teams,
            phrase_players,
            phrase_teams,
            short_teams,
            stopwords: STOPWORDS.iter().copied().collect(),
        }
    }

    /// True for words never taken as a name inside a sentence ("form", "top", "next"…).
    pub fn is_stopword(&self, folded_word: &str) -> bool {
        self.stopwords.contains(folded_word)
    }

    /// Match a player name (or numeric id) against every player.
    pub fn match_player(&self, query: &str) -> NameMatch<u32> {
        self.match_player_where(query, |_| true)
    }

    /// Match a player name among the players for which `keep(id)` is true.
    pub fn match_player_where(&self, query: &str, keep: impl Fn(u32) -> bool) -> NameMatch<u32> {
        let q = fold_query(query);
        if q.is_empty() {
            return NameMatch::NotFound(Vec::new());
        }
        if let Ok(id) = q.parse::<u32>() {
            return match self.players.iter().find(|p| p.id == id && keep(p.id)) {
                Some(p) => NameMatch::Exact(p.id),
                None => NameMatch::NotFound(Vec::new()),
            };
        }
        let pool: Vec<&PlayerKey> = self.players.iter().filter(|p| keep(p.id)).collect();
        let q_tokens: Vec<&str> = q.split(' ').collect();
        let q_compact = q.replace(' ', "");

        let tiers: [&dyn Fn(&PlayerKey) -> bool; 3] = [
            &|p| p.full == q || p.web == q || p.second == q,
            &|p| q_tokens.iter().all(|t| p.tokens.iter().any(|pt| pt == t)),
            &|p| {
                q_tokens
                    .iter()
                    .all(|t| t.len() >= 3 && p.tokens.iter().any(|pt| pt.starts_with(t)))
                    || (q_compact.len() >= 4
                        && (p.web.replace(' ', "").contains(&q_compact)
                            || p.full.replace(' ', "").contains(&q_compact)))
            },
        ];
        for tier in tiers {
            let hits: Vec<u32> = pool.iter().filter(|p| tier(p)).map(|p| p.id).collect();
            match hits.len() {
                0 => continue,
                1 => return NameMatch::Exact(hits[0]),
                _ => return NameMatch::Ambiguous(hits),
            }
        }

        let mut scored: Vec<(f64, &PlayerKey)> = pool
            .iter()
            .map(|p| {
                let best = [&p.web, &p.full, &p.second]
                    .into_iter()
                    .chain(&p.tokens)
                    .map(|name| similarity_from(&q, name, SUGGESTION_FLOOR))
                    .fold(0.0, f64::max);
                (best, *p)
            })
            .filter(|(s, _)| *s >= SUGGESTION_FLOOR)
            .collect();
        scored.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(b.1.weight.cmp(&a.1.weight))
        });
        NameMatch::NotFound(scored.into_iter().take(5).map(|(_, p)| p.id).collect())
    }

    /// Match a team name, short name, nickname or numeric id.
    pub fn match_team(&self, query: &str) -> NameMatch<u32> {
        let q = fold_query(query);
        if q.is_empty() {
            return NameMatch::NotFound(Vec::new());
        }
        if let Ok(id) = q.parse::<u32>() {
            return match self.teams.iter().find(|t| t.id == id) {
                Some(t) => NameMatch::Exact(t.id),
                None => NameMatch::NotFound(Vec::new()),
            };
        }
        let q = q.strip_prefix("the ").unwrap_or(&q).to_string();
        let exact: Vec<u32> = self
            .teams
            .iter()
            .filter(|t| t.name == q || t.short == q || t.aliases.contains(&q))
            .map(|t| t.id)
            .collect();
        match exact.len() {
            1 => return NameMatch::Exact(exact[0]),
            n if n > 1 => return NameMatch::Ambiguous(exact),
            _ => {}
        }
        let partial: Vec<u32> = self
            .teams
            .iter()
            .filter(|t| {
                q.len() >= 3
                    && (t.name.starts_with(&q)
                        || t.name.split(' ').any(|w| w == q)
                        || t.aliases.iter().any(|a| a.starts_with(&q)))
            })
            .map(|t| t.id)
            .collect();
        match partial.len() {
            1 => return NameMatch::Exact(partial[0]),
            n if n > 1 => return NameMatch::Ambiguous(partial),
            _ => {}
        }
        let mut scored: Vec<(f64, u32)> = self
            .teams
            .iter()
            .map(|t| {
                let best = t
                    .aliases
                    .iter()
                    .chain([&t.name])
                    .map(|a| similarity_from(&q, a, SUGGESTION_FLOOR))
                    .fold(0.0, f64::max);
                (best, t.id)
            })
            .filter(|(s, _)| *s >= SUGGESTION_FLOOR)
            .collect();
        scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        NameMatch::NotFound(scored.into_iter().take(3).map(|(_, id)| id).collect())
    }

    /// Players and teams named in free text. Longer phrases win ("Man City" before "City");
    /// a team's short name counts only when written in capitals ("NEW", not "new"). Only the
    /// first [`MAX_TEXT_WORDS`] folded words are read.
    pub fn mentions(&self, text: &str) -> Mentions {
        let words: Vec<(String, bool)> = text
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '?' | '!' | ';' | ':' | '(' | ')' | '/')
            })
            .filter(|w| !w.is_empty())
            .flat_map(|w| {
                let upper = w.chars().filter(|c| c.is_alphabetic()).count() >= 2
                    && w.chars().all(|c| !c.is_lowercase());
                fold(w)
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(|s| (s.to_string(), upper))
                    .collect::<Vec<_>>()
            })
            .take(MAX_TEXT_WORDS)
            .collect();
        let mut used = vec![false; words.len()];
        let mut found: Vec<(usize, Result<u32, PlayerMention>)> = Vec::new();
        for n in (1..=4usize).rev() {
            if words.len() < n {
                continue;
            }
            for start in 0..=(words.len() - n) {
                if used[start..start + n].iter().any(|u| *u) {
                    continue;
                }
                let phrase = words[start..start + n]
                    .iter()
                    .map(|(w, _)| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let hit = if let Some(id) = self.phrase_teams.get(&phrase) {
                    Some(Ok(*id))
                } else if n == 1 && words[start].1 && self.short_teams.contains_key(&phrase) {
                    self.short_teams.get(&phrase).map(|id| Ok(*id))
                } else if n == 1 && (phrase.len() < 3 || self.stopwords.contains(phrase.as_str())) {
                    None
                } else {
                    self.phrase_players.get(&phrase).map(|ids| {
                        Err(PlayerMention {
                            text: phrase.clone(),
                            ids: ids.clone(),
                        })
                    })
                };
                if let Some(hit) = hit {
                    used[start..start + n].iter_mut().for_each(|u| *u = true);
                    found.push((start, hit));
                }
            }
        }
        found.sort_by_key(|(i, _)| *i);
        let mut out = Mentions::default();
        for (_, hit) in found {
            match hit {
                Ok(team) => {
                    if !out.teams.contains(&team) {
                        out.teams.push(team);
                    }
                }
                Err(p) => {
                    if !out.players.iter().any(|q| q.ids == p.ids) {
                        out.players.push(p);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpl::model::{Bootstrap, Position};
    use crate::fpl::test_support::snapshot_dir;

    fn gw7() -> (NameIndex, Bootstrap) {
        let bytes = std::fs::read(snapshot_dir("2025-26_gw7").join("bootstrap-static.json"))
            .expect("bootstrap-static.json");
        let b: Bootstrap = serde_json::from_slice(&bytes).expect("parse");
        (NameIndex::new(&b.elements, &b.teams), b)
    }

    fn id_of(b: &Bootstrap, web: &str) -> u32 {
        b.elements
            .iter()
            .find(|e| e.web_name == web)
            .map(|e| e.id)
            .expect(web)
    }

    #[test]
    fn fold_ignores_case_accents_and_punctuation() {
        assert_eq!(fold("Dúbravka"), "dubravka");
        assert_eq!(fold("Raya Martín"), "raya martin");
        assert_eq!(fold("Nott'm Forest"), "nottm forest");
        assert_eq!(fold("Haaland's form?"), "haaland form");
        assert_eq!(fold("  Aït-Nouri "), "ait nouri");
        assert_eq!(fold("Ødegaard"), "odegaard");
    }

    #[test]
    fn levenshtein_distance() {
        assert_eq!(levenshtein("haalnd", "haaland"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
        assert!(similarity("salha", "salah") > 0.5);
    }

    #[test]
    fn a_query_is_compared_by_its_first_hundred_folded_characters() {
        // "ﷺ" folds to 28 characters: 10,000 of them are cut, not folded whole.
        let q = fold_query(&"ﷺ".repeat(10_000));
        assert!(
            q.len() <= MAX_FOLDED_QUERY && q.starts_with("salla llahu"),
            "{q}"
        );
        assert_eq!(fold_query("  Dúbravka "), "dubravka");
        assert_eq!(
            fold_query(&format!("{} tail", "a".repeat(99))),
            "a".repeat(99)
        );
    }

    #[test]
    fn lengths_far_apart_are_not_compared_letter_by_letter() {
        assert_eq!(
            similarity_from("haalnd", "haaland", 0.6),
            similarity("haalnd", "haaland")
        );
        assert_eq!(similarity_from("haaland", &"x".repeat(100), 0.6), 0.0);
        assert_eq!(similarity_from("", "", 0.6), 1.0);
        // Lengths 10 and 6: four edits at least, similarity at most 0.6 — still compared.
        assert!(similarity_from("abcdefghij", "abcdef", 0.6) > 0.59);
    }

    #[test]
    fn huge_and_adversarial_queries_cost_little() {
        let (idx, b) = gw7();
        let started = std::time::Instant::now();
        assert_eq!(
            idx.match_player(&"abcdefghij".repeat(20_000)),
            NameMatch::NotFound(Vec::new())
        );
        assert!(matches!(
            idx.match_player(&"ﷺ".repeat(100)),
            NameMatch::NotFound(_)
        ));
        assert!(matches!(
            idx.match_team(&"ﷺ".repeat(100)),
            NameMatch::NotFound(_)
        ));
        let text = format!("A{} Haaland", "ﷺ".repeat(7_999));
        let m = idx.mentions(&text);
        assert!(m.players.is_empty(), "words past the cap are not read");
        // Unbounded, these took seconds (the 200 KB query alone 9.8 s in a release build).
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            idx.mentions(&format!("{} Haaland", "word ".repeat(100)))
                .players[0]
                .ids,
            vec![id_of(&b, "Haaland")]
        );
    }

    #[test]
    fn players_match_by_accent_free_full_web_and_surname() {
        let (idx, b) = gw7();
        assert_eq!(
            idx.match_player("dubravka"),
            NameMatch::Exact(id_of(&b, "Dúbravka"))
        );
        assert_eq!(
            idx.match_player("raya martin"),
            NameMatch::Exact(id_of(&b, "Raya"))
        );
        assert_eq!(
            idx.match_player("HAALAND"),
            NameMatch::Exact(id_of(&b, "Haaland"))
        );
        assert_eq!(
            idx.match_player("Salah"),
            NameMatch::Exact(id_of(&b, "M.Salah"))
        );
        assert_eq!(
            idx.match_player("Mohamed Salah"),
            NameMatch::Exact(id_of(&b, "M.Salah"))
        );
        assert_eq!(idx.match_player("430"), NameMatch::Exact(430));
        assert_eq!(
            idx.match_player("haal"),
            NameMatch::Exact(id_of(&b, "Haaland"))
        );
    }

    #[test]
    fn ambiguous_names_list_candidates() {
        let (idx, b) = gw7();
        match idx.match_player("Johnson") {
            NameMatch::Ambiguous(ids) => {
                assert_eq!(ids.len(), 2);
                let teams: HashSet<u32> = ids
                    .iter()
                    .map(|id| {
                        b.elements
                            .iter()
                            .find(|e| e.id == *id)
                            .map(|e| e.team)
                            .unwrap()
                    })
                    .collect();
                assert_eq!(teams.len(), 2);
            }
            other => panic!("expected ambiguous, got {other:?}"),
        }
        match idx.match_player("Martin") {
            NameMatch::Ambiguous(ids) => assert!(ids.len() >= 2),
            other => panic!("expected ambiguous, got {other:?}"),
        }
        // "Gabriel" is one player's web name: the unique web-name hit wins over first names.
        assert_eq!(
            idx.match_player("Gabriel"),
            NameMatch::Exact(id_of(&b, "Gabriel"))
        );
        // A filter narrows candidates.
        let tot = b.teams.iter().find(|t| t.short_name == "TOT").unwrap().id;
        let by_id: HashMap<u32, u32> = b.elements.iter().map(|e| (e.id, e.team)).collect();
        match idx.match_player_where("Johnson", |id| by_id.get(&id) == Some(&tot)) {
            NameMatch::Exact(id) => assert_eq!(by_id[&id], tot),
            other => panic!("expected exact, got {other:?}"),
        }
    }

    #[test]
    fn misspelled_names_get_suggestions() {
        let (idx, b) = gw7();
        match idx.match_player("Haalnd") {
            NameMatch::NotFound(s) => assert_eq!(s.first(), Some(&id_of(&b, "Haaland"))),
            other => panic!("expected not found, got {other:?}"),
        }
        match idx.match_team("Arsenl") {
            NameMatch::NotFound(s) => assert_eq!(s.first(), Some(&1)),
            other => panic!("expected not found, got {other:?}"),
        }
    }

    #[test]
    fn teams_match_names_short_names_and_nicknames() {
        let (idx, b) = gw7();
        let id = |s: &str| b.teams.iter().find(|t| t.short_name == s).unwrap().id;
        assert_eq!(idx.match_team("Spurs"), NameMatch::Exact(id("TOT")));
        assert_eq!(idx.match_team("tottenham"), NameMatch::Exact(id("TOT")));
        assert_eq!(idx.match_team("Man Utd"), NameMatch::Exact(id("MUN")));
        assert_eq!(
            idx.match_team("manchester city"),
            NameMatch::Exact(id("MCI"))
        );
        assert_eq!(idx.match_team("Wolves"), NameMatch::Exact(id("WOL")));
        assert_eq!(idx.match_team("Forest"), NameMatch::Exact(id("NFO")));
        assert_eq!(idx.match_team("nottm forest"), NameMatch::Exact(id("NFO")));
        assert_eq!(idx.match_team("Villa"), NameMatch::Exact(id("AVL")));
        assert_eq!(idx.match_team("ars"), NameMatch::Exact(id("ARS")));
        assert!(matches!(idx.match_team("man"), NameMatch::Ambiguous(v) if v.len() == 2));
    }

    #[test]
    fn mentions_in_sentences() {
        let (idx, b) = gw7();
        let m = idx.mentions("Compare Haaland and Watkins");
        let ids: Vec<Vec<u32>> = m.players.iter().map(|p| p.ids.clone()).collect();
        assert_eq!(
            ids,
            vec![vec![id_of(&b, "Haaland")], vec![id_of(&b, "Watkins")]]
        );
        let m = idx.mentions("Where are Spurs in the table?");
        assert_eq!(m.teams, vec![18]);
        assert!(m.players.is_empty());
        let m = idx.mentions("Liverpool vs Man City next?");
        assert_eq!(m.teams, vec![12, 13]);
        let m = idx.mentions("Is there any new news on Saka's injury?");
        assert!(m.teams.is_empty());
        assert_eq!(m.players.len(), 1);
        assert_eq!(m.players[0].ids, vec![id_of(&b, "Saka")]);
        let m = idx.mentions("NEW vs SUN");
        assert_eq!(m.teams.len(), 2);
        let m = idx.mentions("Who has the best form among midfielders?");
        assert!(m.teams.is_empty() && m.players.is_empty(), "{m:?}");
        assert!(Position::ALL.len() == 4);
    }
}
