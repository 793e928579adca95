//! Reading JSON input the way the contract promises.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON array and
//! reads it positionally (`["Ева", "Positional"]` as `{first_name, last_name}`).
//! Every body and every nested object in the API is an object, so input is
//! read through [`ObjectsOnly`], a deserializer wrapper that refuses an array
//! wherever a struct is expected, at any depth. The same wrapper serves raw
//! bytes ([`from_slice`]) and already-parsed values ([`from_value`], used when
//! a PATCH body is merged over a stored definition).

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde_json::Value;
use std::fmt;

use crate::error::InvalidValue;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all: a syntax error, truncation, bytes that are not
    /// UTF-8, or a `\u` escape that is a lone surrogate (400).
    Malformed(String),
    /// JSON of the wrong shape (422 `INVALID_FIELD`, `field` = JSON path).
    Invalid(InvalidValue),
}

/// Parses `bytes` as JSON into `T`, objects only where `T` has structs.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| JsonError::Malformed(format!("body is not UTF-8: {e}")))?;
    // Syntax first, so "not JSON" and "wrong shape" are told apart. A
    // `Value` (not `IgnoredAny`) so string escapes are decoded and a lone
    // surrogate counts as malformed.
    if let Err(e) = serde_json::from_str::<Value>(text) {
        return Err(JsonError::Malformed(format!("body is not valid JSON: {e}")));
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(ObjectsOnly(de)).map_err(|e| {
        JsonError::Invalid(InvalidValue::new(
            "INVALID_FIELD",
            field_path(e.path()),
            e.into_inner().to_string(),
        ))
    })?;
    Ok(value)
}

/// Reads an already-parsed `value` into `T`, objects only where `T` has
/// structs; 422 `INVALID_FIELD` naming the path.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, InvalidValue> {
    serde_path_to_error::deserialize(ObjectsOnly(value)).map_err(|e| {
        InvalidValue::new(
            "INVALID_FIELD",
            field_path(e.path()),
            e.into_inner().to_string(),
        )
    })
}

fn field_path(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." {
        String::new()
    } else {
        p
    }
}

/// A deserializer that behaves like `D` except that a struct accepts only a
/// map (a JSON object), never a sequence. It wraps every nested deserializer,
/// so the rule holds at every depth.
pub struct ObjectsOnly<D>(pub D);

// The visitor of everything but structs: forwards, wrapping what it hands on.
struct Wrap<V>(V);

// The visitor of a struct: a map is read as usual, a sequence is refused.
struct StructVisitor<V>(V);

struct Seed<S>(S);

struct Access<A>(A);

macro_rules! forward {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method(Wrap(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, Wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, StructVisitor(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, Wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ObjectsOnly(deserializer))
    }
}

macro_rules! visit_scalars {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit_scalars!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_f64: f64,
        visit_char: char,
        visit_str: &str,
        visit_borrowed_str: &'de str,
        visit_string: String,
        visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8],
        visit_byte_buf: Vec<u8>,
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(ObjectsOnly(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(ObjectsOnly(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Access(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Access(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Access(data))
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StructVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::invalid_type(Unexpected::Seq, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Access(map))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Access<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Access<A> {
    type Error = A::Error;
    type Variant = Access<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Access(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Access<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, StructVisitor(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Member {
        card_number: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Purchase {
        member: Member,
        amount: i64,
        tags: Option<Vec<String>>,
        lines: Option<Vec<Member>>,
    }

    fn invalid(r: Result<Purchase, JsonError>) -> InvalidValue {
        match r {
            Err(JsonError::Invalid(v)) => v,
            other => panic!("expected INVALID_FIELD, got {other:?}"),
        }
    }

    #[test]
    fn objects_parse_as_before() {
        let p: Purchase = from_slice(
            br#"{"member": {"card_number": "1"}, "amount": 5, "tags": ["a"], "lines": [{"card_number": null}]}"#,
        )
        .unwrap();
        assert_eq!(p.amount, 5);
        assert_eq!(p.tags.unwrap(), ["a"]);
        assert_eq!(p.lines.unwrap(), [Member { card_number: None }]);
    }

    #[test]
    fn an_array_for_the_body_is_refused() {
        let e = invalid(from_slice(br#"[{"card_number": "1"}, 12345, null, null]"#));
        assert_eq!(e.code, "INVALID_FIELD");
        assert_eq!(e.field, "");
    }

    #[test]
    fn an_array_for_a_nested_object_is_refused_with_its_path() {
        let e = invalid(from_slice(br#"{"member": ["1"], "amount": 5}"#));
        assert_eq!(e.field, "member");
        let e = invalid(from_slice(
            br#"{"member": {}, "amount": 5, "lines": [{}, ["x"]]}"#,
        ));
        assert_eq!(e.field, "lines[1]");
    }

    #[test]
    fn values_follow_the_same_rule() {
        let v = serde_json::json!({"member": [null], "amount": 1});
        let e = from_value::<Purchase>(v).unwrap_err();
        assert_eq!(e.field, "member");
        let ok = serde_json::json!({"member": {"card_number": "2"}, "amount": 1});
        assert_eq!(from_value::<Purchase>(ok).unwrap().amount, 1);
    }

    #[test]
    fn non_json_is_malformed() {
        for body in [
            &b""[..],
            b"{",
            b"nope",
            b"{\"amount\": \xff}",
            b"{\"member\": {\"card_number\": \"\xc3\x28\"}, \"amount\": 1}",
            br#"{"member": {"card_number": "\ud800"}, "amount": 1}"#,
        ] {
            assert!(
                matches!(from_slice::<Purchase>(body), Err(JsonError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn surrogate_pairs_are_fine() {
        let p: Purchase =
            from_slice(br#"{"member": {"card_number": "\ud83d\ude00"}, "amount": 1}"#).unwrap();
        assert_eq!(p.member.card_number.as_deref(), Some("😀"));
    }
}
