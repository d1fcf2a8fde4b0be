//! `application/x-www-form-urlencoded` bodies, including PHP-style bracket keys (`register[token]=...`).

use std::collections::BTreeMap;

/// Why a form body or one of its fields was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form body is not valid UTF-8")]
    NotUtf8,
    #[error("field `{0}` is missing")]
    Missing(String),
    #[error("field `{0}` is given more than once")]
    Duplicate(String),
    #[error("field `{0}` is empty")]
    Empty(String),
}

/// A parsed form body: the fields in the order they were sent, names and values percent-decoded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl std::fmt::Debug for Form {
    // Form values carry API keys and tokens: show the names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields.iter().map(|(name, _)| name)).finish()
    }
}

impl Form {
    /// Parses a form body. Invalid UTF-8 is refused outright rather than replaced, so nothing is silently altered.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        if std::str::from_utf8(body).is_err() {
            return Err(FormError::NotUtf8);
        }
        let mut fields = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            // Percent-decoding can produce invalid UTF-8, which form_urlencoded replaces: refuse that too.
            if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(FormError::NotUtf8);
            }
            fields.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { fields })
    }

    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of `name` if it was sent exactly once; sending it twice is an error, not a silent choice.
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut found = None;
        for (n, v) in &self.fields {
            if n == name {
                if found.is_some() {
                    return Err(FormError::Duplicate(name.to_owned()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// The non-empty value of `name`, which must be sent exactly once.
    pub fn require(&self, name: &str) -> Result<&str, FormError> {
        match self.get(name)? {
            None => Err(FormError::Missing(name.to_owned())),
            Some("") => Err(FormError::Empty(name.to_owned())),
            Some(v) => Ok(v),
        }
    }

    /// The bracket fields of group `name`: `name[a]=1&name[b]=2` gives `{a: 1, b: 2}`.
    ///
    /// Only one level is taken (`name[a][b]` is keyed `a][b` and so matches nothing a caller asks for);
    /// a key sent twice is an error.
    pub fn group(&self, name: &str) -> Result<BTreeMap<String, String>, FormError> {
        let mut out = BTreeMap::new();
        for (n, v) in &self.fields {
            let Some(inner) = n.strip_prefix(name).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
            else {
                continue;
            };
            if out.insert(inner.to_owned(), v.clone()).is_some() {
                return Err(FormError::Duplicate(format!("{name}[{inner}]")));
            }
        }
        Ok(out)
    }
}

/// Encodes `pairs` as a form body (for calls we make to partners).
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// `text` form-urlencoded on its own (the parts of a client's Basic credentials, RFC 6749 section 2.3.1).
pub fn encode_component(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_and_bracket_fields() {
        let form = Form::parse(b"register%5Btoken%5D=ab&register[apiKey]=k%2B1&other=x+y").unwrap();
        assert_eq!(form.get("other").unwrap(), Some("x y"));
        let group = form.group("register").unwrap();
        assert_eq!(group.get("token").map(String::as_str), Some("ab"));
        assert_eq!(group.get("apiKey").map(String::as_str), Some("k+1"));
        assert_eq!(group.len(), 2);
    }

    #[test]
    fn group_ignores_other_prefixes() {
        let form = Form::parse(b"registered[x]=1&register=2&register[y]=3").unwrap();
        let group = form.group("register").unwrap();
        assert_eq!(group.keys().collect::<Vec<_>>(), ["y"]);
    }

    #[test]
    fn refuses_duplicates_missing_empty_and_bad_utf8() {
        let form = Form::parse(b"a=1&a=2&b=&c[x]=1&c[x]=2").unwrap();
        assert_eq!(form.get("a"), Err(FormError::Duplicate("a".into())));
        assert_eq!(form.require("b"), Err(FormError::Empty("b".into())));
        assert_eq!(form.require("z"), Err(FormError::Missing("z".into())));
        assert_eq!(form.group("c"), Err(FormError::Duplicate("c[x]".into())));
        assert_eq!(Form::parse(b"a=\xff"), Err(FormError::NotUtf8));
        assert_eq!(Form::parse(b"a=%ff"), Err(FormError::NotUtf8));
    }

    #[test]
    fn debug_hides_values() {
        let form = Form::parse(b"apiKey=very-secret").unwrap();
        let shown = format!("{form:?}");
        assert!(shown.contains("apiKey"));
        assert!(!shown.contains("very-secret"));
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(pairs in proptest::collection::vec(("[a-z\\[\\]]{1,8}", "\\PC{0,16}"), 0..8)) {
            prop_assume!(pairs.iter().all(|(_, v)| !v.contains('\u{FFFD}')));
            let encoded = encode(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            let form = Form::parse(encoded.as_bytes()).unwrap();
            let got: Vec<(String, String)> = form.fields().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
            prop_assert_eq!(got, pairs);
        }

        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(form) = Form::parse(&body) {
                let _ = form.group("register");
                let _ = form.get("register");
            }
        }
    }
}
