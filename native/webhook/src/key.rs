//! Dedup keys, a port of `src/dedup/key.ts`, written as the UTF-8 bytes the TypeScript engine
//! hands to the Bloom filter (so `cxone_bloom::key_hash` of them is the hash it uses today).
//!
//! One field: the key is that value itself (`updatedTimestamp` contributes its instant,
//! `Timestamp::write_key`). Several fields: each part as `<length>:<value>`, the length in
//! UTF-16 code units as JavaScript counts it, concatenated in the configured order.

use std::fmt;

use crate::timestamp::{push_decimal, utf16_len, Timestamp};

/// An event field a key can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyField {
    InteractionId,
    DataActionId,
    UpdatedTimestamp,
}

impl KeyField {
    /// Every field, in the order TS `KEY_FIELDS` lists them.
    pub const ALL: [KeyField; 3] = [
        KeyField::InteractionId,
        KeyField::DataActionId,
        KeyField::UpdatedTimestamp,
    ];

    /// The field's name in the event and in `DEDUP_KEY_FIELDS`.
    pub fn name(self) -> &'static str {
        match self {
            KeyField::InteractionId => "interactionId",
            KeyField::DataActionId => "dataActionId",
            KeyField::UpdatedTimestamp => "updatedTimestamp",
        }
    }

    /// The field of that exact name.
    pub fn from_name(name: &str) -> Option<KeyField> {
        KeyField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Why a field list is not a valid key (TS `validateKeyFields` throws for the same lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFieldsError {
    Empty,
    Unknown(String),
    Repeated(KeyField),
}

impl fmt::Display for KeyFieldsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFieldsError::Empty => {
                f.write_str("keyFields must be a non-empty array of interactionId, dataActionId, updatedTimestamp")
            }
            KeyFieldsError::Unknown(name) => write!(
                f,
                "keyFields: unknown field {name:?} (allowed: interactionId, dataActionId, updatedTimestamp)"
            ),
            KeyFieldsError::Repeated(field) => write!(f, "keyFields: {} is listed twice", field.name()),
        }
    }
}

impl std::error::Error for KeyFieldsError {}

/// A validated key field list: one to three distinct fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFields {
    fields: [KeyField; 3],
    len: u8,
}

impl Default for KeyFields {
    /// `interactionId` alone (TS `DEFAULT_KEY_FIELDS`).
    fn default() -> Self {
        KeyFields {
            fields: [KeyField::InteractionId; 3],
            len: 1,
        }
    }
}

impl KeyFields {
    /// Checks a field list: non-empty, no repeats.
    pub fn new(list: &[KeyField]) -> Result<KeyFields, KeyFieldsError> {
        if list.is_empty() {
            return Err(KeyFieldsError::Empty);
        }
        let mut fields = [KeyField::InteractionId; 3];
        for (i, &f) in list.iter().enumerate() {
            if list[..i].contains(&f) {
                return Err(KeyFieldsError::Repeated(f));
            }
            fields[i] = f; // at most three distinct fields exist, so i < 3 here
        }
        Ok(KeyFields {
            fields,
            len: list.len() as u8,
        })
    }

    /// Checks a list of field names, e.g. `DEDUP_KEY_FIELDS` split at commas.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<KeyFields, KeyFieldsError> {
        if names.is_empty() {
            return Err(KeyFieldsError::Empty);
        }
        let mut list = Vec::with_capacity(3);
        for name in names {
            let name = name.as_ref();
            let field = KeyField::from_name(name)
                .ok_or_else(|| KeyFieldsError::Unknown(name.to_owned()))?;
            if list.contains(&field) {
                return Err(KeyFieldsError::Repeated(field));
            }
            list.push(field);
        }
        KeyFields::new(&list)
    }

    /// The fields, in order.
    pub fn as_slice(&self) -> &[KeyField] {
        &self.fields[..usize::from(self.len)]
    }

    /// True for the default key, `interactionId` alone (the key is then the id's bytes).
    pub fn is_interaction_id(&self) -> bool {
        self.len == 1 && self.fields[0] == KeyField::InteractionId
    }
}

/// Appends the key of an event to `out` (TS `keyBuilder(fields)(event, timestamp)`, as UTF-8).
pub fn write_key(
    fields: &KeyFields,
    interaction_id: &str,
    data_action_id: &str,
    timestamp: &Timestamp,
    out: &mut Vec<u8>,
) {
    let list = fields.as_slice();
    if let [only] = list {
        match only {
            KeyField::InteractionId => out.extend_from_slice(interaction_id.as_bytes()),
            KeyField::DataActionId => out.extend_from_slice(data_action_id.as_bytes()),
            KeyField::UpdatedTimestamp => timestamp.write_key(out),
        }
        return;
    }
    for field in list {
        let value = match field {
            KeyField::InteractionId => interaction_id,
            KeyField::DataActionId => data_action_id,
            KeyField::UpdatedTimestamp => {
                // ASCII, so its byte length is its UTF-16 length.
                push_decimal(out, timestamp.key_len() as i64);
                out.push(b':');
                timestamp.write_key(out);
                continue;
            }
        };
        push_decimal(out, utf16_len(value) as i64);
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::parse_timestamp;

    fn key(fields: &[KeyField], id: &str, da: &str, ts: &str) -> String {
        let mut out = Vec::new();
        write_key(
            &KeyFields::new(fields).unwrap(),
            id,
            da,
            &parse_timestamp(ts).unwrap(),
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    use KeyField::*;
    const TS: &str = "2024-01-15T10:30:00.123Z";

    #[test]
    fn one_field_is_the_value_itself() {
        assert_eq!(key(&[InteractionId], "i-1", "d", TS), "i-1");
        assert_eq!(key(&[DataActionId], "i-1", "da-9", TS), "da-9");
        assert_eq!(
            key(&[UpdatedTimestamp], "i", "d", TS),
            "1705314600.123000000"
        );
        assert_eq!(
            key(
                &[UpdatedTimestamp],
                "i",
                "d",
                "2024-01-15T12:30:00.123+02:00"
            ),
            "1705314600.123000000"
        );
    }

    #[test]
    fn several_fields_are_length_prefixed_in_utf16_units() {
        assert_eq!(
            key(&[InteractionId, UpdatedTimestamp], "abc", "d", TS),
            "3:abc20:1705314600.123000000"
        );
        assert_eq!(
            key(&[DataActionId, InteractionId], "é😀", "da", TS),
            "2:da3:é😀"
        );
        assert_eq!(
            key(
                &[UpdatedTimestamp, DataActionId, InteractionId],
                "日本",
                "",
                "2016-12-31T23:59:60Z"
            ),
            "13:1483228799.L00:2:日本"
        );
    }

    #[test]
    fn field_lists_are_validated() {
        assert_eq!(KeyFields::new(&[]), Err(KeyFieldsError::Empty));
        assert_eq!(
            KeyFields::new(&[InteractionId, InteractionId]),
            Err(KeyFieldsError::Repeated(InteractionId))
        );
        assert_eq!(
            KeyFields::from_names(&["interactionId", "x"]),
            Err(KeyFieldsError::Unknown("x".into()))
        );
        assert_eq!(
            KeyFields::from_names(&["dataActionId", "updatedTimestamp", "dataActionId"]),
            Err(KeyFieldsError::Repeated(DataActionId))
        );
        let f = KeyFields::from_names(&["updatedTimestamp", "interactionId"]).unwrap();
        assert_eq!(f.as_slice(), &[UpdatedTimestamp, InteractionId]);
        assert!(!f.is_interaction_id());
        assert!(KeyFields::default().is_interaction_id());
        assert_eq!(
            KeyFields::new(&[InteractionId, DataActionId, UpdatedTimestamp])
                .unwrap()
                .as_slice()
                .len(),
            3
        );
    }
}
