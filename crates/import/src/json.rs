//! A read-only walk over JSON that remembers where it is (a JSON Pointer, as
//! errors name it) and reads keys case-insensitively: `az` writes
//! `vnetSubnetId` and ARM `vnetSubnetID` for the same field.

use serde_json::Value;

/// A value and its JSON Pointer (`/agentPoolProfiles/1/osType`).
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub path: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Self {
        Node { value, path: String::new() }
    }

    /// The pointer, `/` for the root.
    pub fn pointer(&self) -> &str {
        if self.path.is_empty() { "/" } else { &self.path }
    }

    /// The member whose name equals `key` ignoring ASCII case; `None` when
    /// absent or JSON null.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        let map = self.value.as_object()?;
        let (name, value) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        if value.is_null() {
            return None;
        }
        Some(Node { value, path: format!("{}/{}", self.path, escape(name)) })
    }

    /// The pointer a member `key` would have (for errors about a missing one).
    pub fn child_path(&self, key: &str) -> String {
        format!("{}/{key}", self.path)
    }

    pub fn str(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    pub fn items(&self) -> Vec<Node<'a>> {
        match self.value.as_array() {
            Some(items) => {
                items.iter().enumerate().map(|(i, value)| Node { value, path: format!("{}/{i}", self.path) }).collect()
            }
            None => Vec::new(),
        }
    }

    pub fn is_array(&self) -> bool {
        self.value.is_array()
    }
}

/// JSON Pointer escaping of one segment (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_and_paths_are_pointers() {
        let v: Value =
            serde_json::from_str(r#"{"agentPoolProfiles":[{"vnetSubnetID":"x","a/b":1,"n":null}]}"#).unwrap();
        let root = Node::root(&v);
        let pool = &root.get("agentpoolprofiles").unwrap().items()[0];
        let id = pool.get("vnetSubnetId").unwrap();
        assert_eq!((id.str(), id.pointer()), (Some("x"), "/agentPoolProfiles/0/vnetSubnetID"));
        assert_eq!(pool.get("a/b").unwrap().pointer(), "/agentPoolProfiles/0/a~1b");
        assert!(pool.get("n").is_none(), "null reads as absent");
        assert_eq!(root.pointer(), "/");
    }
}
