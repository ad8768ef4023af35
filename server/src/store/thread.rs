//! A conversation's branches: its messages form a tree (each names the message it follows,
//! `parent_seq`), and the conversation names the newest message of the branch the user sees
//! (`leaf_seq`). Regenerating an answer adds a sibling answer to the same question; editing a
//! question adds a sibling question after the same message; later turns then continue the new
//! branch, and the old one stays, one click away.
//!
//! Promises:
//! - [`branch`] is the leaf and its ancestors, oldest first, each with its place among its
//!   versions (the messages with the same parent and role, oldest first); a leaf that is not
//!   stored (a conversation with no messages) gives an empty branch;
//! - [`newest_leaf`] of a message is where showing that version leads: down its newest
//!   children to the end, so going back to a version shows it as it was left;
//! - [`Store::show_version`] moves the branch shown to a message of the owner's conversation,
//!   [`Store::resume_at`] to one of its questions (a regenerated answer is written after it);
//!   both are owner-checked and change nothing for another owner.
use std::collections::HashMap;

use app::types::Versions;
use uuid::Uuid;

use crate::store::messages::message_columns;
use crate::store::model::{now, Message, Owner, Role};
use crate::store::{on_read, on_write, owner_sql, Store, StoreError};

/// The messages from the first to `leaf`, oldest first, each with its versions (`None`: it has
/// no other version).
pub fn branch(all: &[Message], leaf: i64) -> Vec<(&Message, Option<Versions>)> {
    let by_seq: HashMap<i64, &Message> = all.iter().map(|m| (m.seq, m)).collect();
    let mut siblings: HashMap<(Option<i64>, Role), Vec<&Message>> = HashMap::new();
    for m in all {
        siblings.entry((m.parent_seq, m.role)).or_default().push(m);
    }
    for group in siblings.values_mut() {
        group.sort_by_key(|m| m.seq);
    }
    let mut path = Vec::new();
    let mut at = by_seq.get(&leaf).copied();
    // Parents have lower seqs (the schema checks it), so the walk ends.
    while let Some(m) = at {
        path.push(m);
        at = m.parent_seq.and_then(|p| by_seq.get(&p).copied());
    }
    path.reverse();
    path.into_iter()
        .map(|m| {
            let group = &siblings[&(m.parent_seq, m.role)];
            let versions = (group.len() > 1).then(|| {
                let i = group.iter().position(|s| s.seq == m.seq).unwrap_or(0);
                Versions {
                    number: i as u32 + 1,
                    count: group.len() as u32,
                    previous: i.checked_sub(1).map(|j| group[j].id),
                    next: group.get(i + 1).map(|s| s.id),
                }
            });
            (m, versions)
        })
        .collect()
}

/// The seqs of `leaf` and its ancestors, newest first.
pub fn ancestors(all: &[Message], leaf: i64) -> Vec<i64> {
    let parents: HashMap<i64, Option<i64>> = all.iter().map(|m| (m.seq, m.parent_seq)).collect();
    let mut seqs = Vec::new();
    let mut at = parents.contains_key(&leaf).then_some(leaf);
    while let Some(seq) = at {
        seqs.push(seq);
        at = parents.get(&seq).copied().flatten();
    }
    seqs
}

/// The leaf that showing message `seq` leads to: down its newest child, to the end.
pub fn newest_leaf(all: &[Message], seq: i64) -> i64 {
    let mut newest_child: HashMap<i64, i64> = HashMap::new();
    for m in all {
        if let Some(p) = m.parent_seq {
            let child = newest_child.entry(p).or_insert(m.seq);
            *child = (*child).max(m.seq);
        }
    }
    let mut at = seq;
    while let Some(child) = newest_child.get(&at) {
        at = *child;
    }
    at
}

impl Store {
    /// The messages of the branch of conversation `conversation` that ends at `leaf`, oldest
    /// first (one recursive query). Not owner-checked.
    pub async fn branch_messages(
        &self,
        conversation: Uuid,
        leaf: i64,
    ) -> Result<Vec<Message>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, Message>(concat!(
                "WITH RECURSIVE b (seq, parent_seq) AS (\
                 SELECT seq, parent_seq FROM messages WHERE conversation_id = $1 AND seq = $2 \
                 UNION ALL SELECT m.seq, m.parent_seq FROM messages m JOIN b \
                 ON m.conversation_id = $1 AND m.seq = b.parent_seq) \
                 SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND seq IN (SELECT seq FROM b) \
                 ORDER BY seq"
            ))
            .bind(conversation)
            .bind(leaf)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Message `id` of conversation `conversation`, if it is one of its messages. Not
    /// owner-checked: resolve the conversation first.
    pub async fn message_in(
        &self,
        conversation: Uuid,
        id: Uuid,
    ) -> Result<Option<Message>, StoreError> {
        Ok(on_read!(&self.db, |pool| {
            sqlx::query_as::<_, Message>(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE conversation_id = $1 AND id = $2"
            ))
            .bind(conversation)
            .bind(id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Shows the version `message` of the owner's conversation `conversation`: the branch shown
    /// becomes the one through it, to its [`newest_leaf`]. `false` when the conversation is not
    /// the owner's or the message not one of its.
    pub async fn show_version(
        &self,
        owner: Owner,
        conversation: Uuid,
        message: Uuid,
    ) -> Result<bool, StoreError> {
        if self.get_conversation(owner, conversation).await?.is_none() {
            return Ok(false);
        }
        let all = self.list_messages(conversation).await?;
        let Some(chosen) = all.iter().find(|m| m.id == message) else {
            return Ok(false);
        };
        self.resume_at(owner, conversation, newest_leaf(&all, chosen.seq))
            .await
    }

    /// Makes message `seq` the leaf of the owner's conversation: the branch shown ends there
    /// (a regenerated answer is written after it). `false` when the conversation is not the
    /// owner's (or deleted).
    pub async fn resume_at(
        &self,
        owner: Owner,
        conversation: Uuid,
        seq: i64,
    ) -> Result<bool, StoreError> {
        let sql = owner_sql!(
            owner,
            "UPDATE conversations SET leaf_seq = $3, updated_at = $4 \
             WHERE id = $1 AND deleted_at IS NULL AND $3 <= last_seq AND ",
            " = $2"
        );
        let done = on_write!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(conversation)
                .bind(owner.id())
                .bind(seq)
                .bind(now())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64, parent: Option<i64>, role: Role) -> Message {
        crate::testkit::message::stored(seq, parent, role, &format!("m{seq}"))
    }

    /// 1 Q, 2 A, 3 Q, 4 A; 5 A' (regenerated 2); 6 Q' (3 edited, after 2), 7 A (of 6).
    fn tree() -> Vec<Message> {
        use Role::{Assistant as A, User as U};
        vec![
            message(1, None, U),
            message(2, Some(1), A),
            message(3, Some(2), U),
            message(4, Some(3), A),
            message(5, Some(1), A),
            message(6, Some(2), U),
            message(7, Some(6), A),
        ]
    }

    fn seqs(branch: &[(&Message, Option<Versions>)]) -> Vec<i64> {
        branch.iter().map(|(m, _)| m.seq).collect()
    }

    #[test]
    fn a_branch_is_its_leaf_and_ancestors_with_their_versions() {
        let all = tree();
        let shown = branch(&all, 7);
        assert_eq!(seqs(&shown), [1, 2, 6, 7]);
        let versions: Vec<_> = shown
            .iter()
            .map(|(_, v)| v.map(|v| (v.number, v.count)))
            .collect();
        assert_eq!(versions, [None, Some((1, 2)), Some((2, 2)), None]);
        assert_eq!(shown[1].1.unwrap().next, Some(all[4].id));
        assert_eq!(shown[2].1.unwrap().previous, Some(all[2].id));
        assert_eq!(seqs(&branch(&all, 5)), [1, 5]);
        assert!(branch(&all, 0).is_empty());
        assert_eq!(ancestors(&all, 7), [7, 6, 2, 1]);
        assert!(ancestors(&all, 0).is_empty());
    }

    #[test]
    fn showing_a_version_leads_to_its_newest_leaf() {
        let all = tree();
        assert_eq!(newest_leaf(&all, 2), 7, "through the edited question");
        assert_eq!(newest_leaf(&all, 3), 4);
        assert_eq!(newest_leaf(&all, 5), 5);
        assert_eq!(
            newest_leaf(&all, 1),
            5,
            "its newest child is the regenerated answer"
        );
    }
}
