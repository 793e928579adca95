//! Auto-moderation: a small set of text rules. A review whose text trips
//! any of them waits as `pending` with the names of the rules it tripped;
//! a clean one is published at once. Pure functions, no storage (the burst
//! rule, which counts reviews, lives with the use case).
//!
//! - `link`: a URL with or without a scheme (`https://…`, `www.…`,
//!   `salon.ru/price`, `сайт.рф`);
//! - `phone`: a Russian phone number in any common spelling
//!   (`+7 999 123-45-67`, `8 (999) 1234567`, `89991234567`, `999 123 45 67`);
//! - `email`: an e-mail address;
//! - `profanity`: a word from the list in `profanity.txt`, also when
//!   disguised with latin or digit look-alikes, repeated letters or `ё`;
//! - `shouting`: mostly capital letters.

use std::sync::OnceLock;

/// A rule a text tripped, as stored in the review's `flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    /// A link.
    Link,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A word from the profanity list.
    Profanity,
    /// Mostly capital letters.
    Shouting,
    /// More reviews of one business within an hour than the burst limit.
    Burst,
}

impl Flag {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Link => "link",
            Flag::Phone => "phone",
            Flag::Email => "email",
            Flag::Profanity => "profanity",
            Flag::Shouting => "shouting",
            Flag::Burst => "burst",
        }
    }
}

/// Every text rule `text` trips, in a fixed order.
pub fn check(text: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    if has_link(text) {
        flags.push(Flag::Link);
    }
    if has_phone(text) {
        flags.push(Flag::Phone);
    }
    if has_email(text) {
        flags.push(Flag::Email);
    }
    if has_profanity(text) {
        flags.push(Flag::Profanity);
    }
    if is_shouting(text) {
        flags.push(Flag::Shouting);
    }
    flags
}

// Top-level domains a link in a review is likely to use.
const TLDS: &[&str] = &[
    "ru", "рф", "su", "com", "net", "org", "info", "biz", "io", "me", "co", "online", "site",
    "shop", "store", "pro", "xyz", "app", "dev", "ly", "cc", "tv", "to", "link", "club", "space",
    "top", "by", "kz", "ua", "uk", "de", "eu", "moscow",
];

fn is_token_break(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';' | '!' | '?' | '"' | '\'' | '(' | ')' | '«' | '»' | '<' | '>' | '[' | ']'
        )
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_token_break).filter(|t| !t.is_empty())
}

/// A URL, with or without a scheme.
pub fn has_link(text: &str) -> bool {
    let lower = text.to_lowercase();
    if lower.contains("http://") || lower.contains("https://") || lower.contains("www.") {
        return true;
    }
    let found = tokens(&lower).any(|t| {
        let t = t.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '—'));
        let host = t.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return false;
        }
        let tld = labels[labels.len() - 1];
        TLDS.contains(&tld)
            && labels[..labels.len() - 1].iter().all(|l| {
                !l.is_empty()
                    && l.chars().any(char::is_alphanumeric)
                    && l.chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            })
    });
    found
}

/// A Russian phone number: a run of digits and separators (spaces, dashes,
/// dots, brackets, `+`) holding 11 digits that start with 7 or 8, or 10
/// digits that start with 9 (a mobile number without its prefix).
pub fn has_phone(text: &str) -> bool {
    let mut digits = String::new();
    let check = |d: &str| match d.len() {
        11 => d.starts_with('7') || d.starts_with('8'),
        10 => d.starts_with('9'),
        _ => false,
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if matches!(c, ' ' | '-' | '(' | ')' | '.' | '+' | '\u{a0}' | '–') {
            continue;
        } else {
            if check(&digits) {
                return true;
            }
            digits.clear();
        }
    }
    check(&digits)
}

/// An e-mail address: `local@domain.tld`.
pub fn has_email(text: &str) -> bool {
    tokens(text).any(|t| {
        let Some((local, domain)) = t.split_once('@') else {
            return false;
        };
        let local = local.trim_start_matches(|c: char| !c.is_alphanumeric());
        let domain = domain.trim_end_matches(|c: char| !c.is_alphanumeric());
        let ok_local = !local.is_empty()
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
        let labels: Vec<&str> = domain.split('.').collect();
        ok_local
            && labels.len() >= 2
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
            && labels[labels.len() - 1].chars().count() >= 2
            && labels[labels.len() - 1].chars().all(char::is_alphabetic)
    })
}

/// Mostly capitals: at least 8 letters, 70 % or more of them upper case.
pub fn is_shouting(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let upper = text.chars().filter(|c| c.is_uppercase()).count();
    letters >= 8 && upper * 100 >= letters * 70
}

// Latin, digit and symbol look-alikes of Cyrillic letters, `ё` as `е`.
fn fold(c: char) -> char {
    let lower = c.to_lowercase().next().unwrap_or(c);
    match lower {
        'ё' => 'е',
        'a' | '@' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' | '0' => 'о',
        'p' => 'р',
        'r' => 'г',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        '3' => 'з',
        '4' => 'ч',
        '6' => 'б',
        other => other,
    }
}

/// A word as the profanity list compares it: folded look-alikes, repeated
/// letters collapsed to one.
pub fn normalize_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars().map(fold) {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

#[derive(Debug, Default)]
struct WordList {
    exact: Vec<String>,
    prefixes: Vec<String>,
    exact_ok: Vec<String>,
    prefixes_ok: Vec<String>,
}

fn word_list() -> &'static WordList {
    static LIST: OnceLock<WordList> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut list = WordList::default();
        for line in include_str!("profanity.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (ok, entry) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (prefix, word) = match entry.strip_suffix('*') {
                Some(root) => (true, normalize_word(root)),
                None => (false, normalize_word(entry)),
            };
            match (ok, prefix) {
                (false, false) => list.exact.push(word),
                (false, true) => list.prefixes.push(word),
                (true, false) => list.exact_ok.push(word),
                (true, true) => list.prefixes_ok.push(word),
            }
        }
        list
    })
}

/// True when `word` (already normalised) is on the list.
fn is_profane(word: &str) -> bool {
    let list = word_list();
    if list.exact_ok.iter().any(|w| w == word)
        || list
            .prefixes_ok
            .iter()
            .any(|p| word.starts_with(p.as_str()))
    {
        return false;
    }
    list.exact.iter().any(|w| w == word)
        || list.prefixes.iter().any(|p| word.starts_with(p.as_str()))
}

/// A word of the list anywhere in `text`. Words are runs of letters,
/// digits and `@` (so `6ля` and `xу@` are read whole); runs without a
/// letter are numbers, not words.
pub fn has_profanity(text: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '@'))
        .filter(|w| w.chars().any(char::is_alphabetic))
        .any(|w| is_profane(&normalize_word(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_list_loads() {
        let l = word_list();
        assert!(l.prefixes.len() > 20 && !l.exact.is_empty() && !l.prefixes_ok.is_empty());
    }
}
