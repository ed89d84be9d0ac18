//! Object ids: 64 lowercase hex characters, and the unique-prefix index containerd keeps
//! for sandboxes and containers (a separate index for each).

use std::collections::BTreeSet;

use rand::RngCore;

use crate::core::error::LookupError;

/// A new random id: 64 lowercase hex characters (32 random bytes), like containerd's.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut id = String::with_capacity(64);
    for byte in bytes {
        id.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        id.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    id
}

/// The set of live ids of one kind, answering "which id does this prefix name?".
///
/// Like containerd's truncindex: any prefix (even one character) that matches exactly
/// one id resolves to it; lookups are case-sensitive.
#[derive(Debug, Default, Clone)]
pub struct IdIndex {
    ids: BTreeSet<String>,
}

impl IdIndex {
    /// Adds an id.
    pub fn insert(&mut self, id: &str) {
        self.ids.insert(id.to_owned());
    }

    /// Removes an id.
    pub fn remove(&mut self, id: &str) {
        self.ids.remove(id);
    }

    /// Whether the index holds exactly this id.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// How many ids the index holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How a List call's id filter resolves, as containerd does it: `Some(None)` when the
    /// filter is empty (no id criterion), `Some(Some(id))` when it names one id, `None`
    /// when it names none or several (the answer is then empty, not an error).
    pub fn resolve_filter(&self, prefix: &str) -> Option<Option<&str>> {
        if prefix.is_empty() {
            return Some(None);
        }
        self.resolve(prefix).ok().map(Some)
    }

    /// The one id that starts with `prefix`.
    pub fn resolve(&self, prefix: &str) -> Result<&str, LookupError> {
        if prefix.is_empty() {
            return Err(LookupError::Empty);
        }
        let mut matches = self
            .ids
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|id| id.starts_with(prefix));
        match (matches.next(), matches.next()) {
            (None, _) => Err(LookupError::NotFound),
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(LookupError::Ambiguous(prefix.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_64_lowercase_hex_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert_ne!(a, b);
    }

    #[test]
    fn any_unique_prefix_resolves_and_others_fail_like_containerd() {
        let mut index = IdIndex::default();
        index.insert("abc1");
        index.insert("abd2");
        index.insert("f000");
        assert_eq!(index.resolve("f"), Ok("f000"));
        assert_eq!(index.resolve("abc"), Ok("abc1"));
        assert_eq!(index.resolve("abc1"), Ok("abc1"));
        assert_eq!(
            index.resolve("ab"),
            Err(LookupError::Ambiguous("ab".into()))
        );
        assert_eq!(index.resolve(""), Err(LookupError::Empty));
        assert_eq!(index.resolve("ABC1"), Err(LookupError::NotFound));
        assert_eq!(index.resolve("abc1x"), Err(LookupError::NotFound));
        assert_eq!(index.resolve("0"), Err(LookupError::NotFound));
        index.remove("abd2");
        assert_eq!(index.resolve("ab"), Ok("abc1"));
    }

    #[test]
    fn list_filters_treat_empty_as_no_criterion_and_unresolvable_as_nothing() {
        let mut index = IdIndex::default();
        index.insert("abc1");
        index.insert("abd2");
        assert_eq!(index.resolve_filter(""), Some(None));
        assert_eq!(index.resolve_filter("abc"), Some(Some("abc1")));
        assert_eq!(index.resolve_filter("ab"), None, "ambiguous");
        assert_eq!(index.resolve_filter("ff"), None, "unknown");
    }
}
