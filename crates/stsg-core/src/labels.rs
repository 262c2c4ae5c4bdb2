//! The ordered set of class names a head predicts.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// An ordered set of unique class names; column `i` of every score matrix is class `i`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct LabelSet {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl LabelSet {
    /// Builds a label set from names in column order.
    ///
    /// # Errors
    /// [`CoreError::EmptyLabel`] for an empty name, [`CoreError::DuplicateLabel`] for a repeat.
    pub fn new<I, S>(names: I) -> Result<Self, CoreError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                return Err(CoreError::EmptyLabel(i));
            }
            if index.insert(name.clone(), i).is_some() {
                return Err(CoreError::DuplicateLabel(name.clone()));
            }
        }
        Ok(Self { names, index })
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the set has no classes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Column index of a class name.
    ///
    /// # Errors
    /// [`CoreError::UnknownLabel`] when the name is not in the set.
    pub fn index_of(&self, name: &str) -> Result<usize, CoreError> {
        self.index
            .get(name)
            .copied()
            .ok_or_else(|| CoreError::UnknownLabel(name.to_string()))
    }

    /// Class name of column `i`, if it exists.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }

    /// Class names in column order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl TryFrom<Vec<String>> for LabelSet {
    type Error = CoreError;

    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        LabelSet::new(names)
    }
}

impl From<LabelSet> for Vec<String> {
    fn from(labels: LabelSet) -> Self {
        labels.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_name_and_index() {
        let labels = LabelSet::new(["a", "b", "c"]).unwrap();
        assert_eq!(labels.len(), 3);
        assert_eq!(labels.index_of("b").unwrap(), 1);
        assert_eq!(labels.name(2), Some("c"));
        assert!(matches!(labels.index_of("z"), Err(CoreError::UnknownLabel(n)) if n == "z"));
    }

    #[test]
    fn duplicate_label_is_rejected() {
        assert!(matches!(
            LabelSet::new(["a", "b", "a"]),
            Err(CoreError::DuplicateLabel(n)) if n == "a"
        ));
    }

    #[test]
    fn empty_label_is_rejected() {
        assert!(matches!(
            LabelSet::new(["a", ""]),
            Err(CoreError::EmptyLabel(1))
        ));
    }

    #[test]
    fn serde_round_trip_checks_names() {
        let labels = LabelSet::new(["x", "y"]).unwrap();
        let json = serde_json::to_string(&labels).unwrap();
        assert_eq!(json, r#"["x","y"]"#);
        let back: LabelSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, labels);
        assert!(serde_json::from_str::<LabelSet>(r#"["x","x"]"#).is_err());
    }
}
