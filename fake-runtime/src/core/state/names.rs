//! Name reservations: containerd's registrar, which keeps two sandboxes (or two
//! containers) with the same metadata from existing at once.

use std::collections::HashMap;

/// Reserved names and the id each is reserved for.
#[derive(Debug, Default, Clone)]
pub struct NameRegistry {
    reserved: HashMap<String, String>,
}

/// A name is already reserved for another id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameReserved {
    /// The id holding the name.
    pub holder: String,
}

impl NameRegistry {
    /// Reserves `name` for `id`; fails if another id holds it.
    pub fn reserve(&mut self, name: &str, id: &str) -> Result<(), NameReserved> {
        match self.reserved.get(name) {
            Some(holder) if holder != id => Err(NameReserved {
                holder: holder.clone(),
            }),
            Some(_) => Ok(()),
            None => {
                self.reserved.insert(name.to_owned(), id.to_owned());
                Ok(())
            }
        }
    }

    /// Releases `name`.
    pub fn release(&mut self, name: &str) {
        self.reserved.remove(name);
    }

    /// The id holding `name`, if any.
    pub fn holder(&self, name: &str) -> Option<&str> {
        self.reserved.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_held_by_one_id_until_released() {
        let mut names = NameRegistry::default();
        assert_eq!(names.reserve("a_ns_uid_0", "id1"), Ok(()));
        assert_eq!(names.reserve("a_ns_uid_0", "id1"), Ok(()));
        assert_eq!(
            names.reserve("a_ns_uid_0", "id2"),
            Err(NameReserved {
                holder: "id1".into()
            })
        );
        names.release("a_ns_uid_0");
        assert_eq!(names.reserve("a_ns_uid_0", "id2"), Ok(()));
        assert_eq!(names.holder("a_ns_uid_0"), Some("id2"));
    }
}
