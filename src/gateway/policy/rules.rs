//! A route's `allow` and `deny` rules, `KIND:PATTERN`, compiled once per
//! config load into what a request's decision can use without scanning:
//!
//! - a pattern without a wildcard goes into a hash map per kind (value →
//!   the first rule that names it), so 10,000 exact entries cost one
//!   lookup per value the certificate carries;
//! - a pattern with a wildcard becomes a [`Glob`], tried in turn: the
//!   globs of a rule set are few, and each match is linear in the value
//!   (dns, generic) or git-wildmatch bounded (uri).
//!
//! Patterns: `*` is one whole label in `dns`; in `uri` `*` stays within
//! one path segment and `**` spans segments; in the other kinds `*` is any
//! run of characters. `\*` is a literal star and `\\` a literal backslash.
//! `dns`, `serial` and `fingerprint` compare case-insensitively (hex may
//! carry colons, which are dropped), the rest exactly. A field with
//! several values (SANs, O, OU, roles) matches when any value does.
//!
//! Deciding allocates nothing unless a DNS SAN carries upper-case letters
//! (it is lower-cased for the map lookup).
//!
//! Long (about 880 lines, 230 of them tests) because the three glob forms
//! (dns labels, uri segments, any run) and their matchers belong with the
//! rule parser and the decision that share their types.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::pki::snapshot::Peer;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// Subject CN.
    Cn,
    /// Subject O values.
    O,
    /// Subject OU values.
    Ou,
    /// DNS SANs.
    Dns,
    /// URI SANs (SPIFFE IDs included).
    Uri,
    /// email SANs.
    Email,
    /// The serial, lowercase hex.
    Serial,
    /// The SHA-256 fingerprint, lowercase hex.
    Fingerprint,
    /// A role the inventory grants the certificate's name.
    Role,
    /// The inventory name.
    Name,
}

impl RuleKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [RuleKind; 10] = [
        RuleKind::Cn,
        RuleKind::O,
        RuleKind::Ou,
        RuleKind::Dns,
        RuleKind::Uri,
        RuleKind::Email,
        RuleKind::Serial,
        RuleKind::Fingerprint,
        RuleKind::Role,
        RuleKind::Name,
    ];

    /// The spelling in a rule.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Cn => "cn",
            RuleKind::O => "o",
            RuleKind::Ou => "ou",
            RuleKind::Dns => "dns",
            RuleKind::Uri => "uri",
            RuleKind::Email => "email",
            RuleKind::Serial => "serial",
            RuleKind::Fingerprint => "fingerprint",
            RuleKind::Role => "role",
            RuleKind::Name => "name",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn is_hex(self) -> bool {
        matches!(self, RuleKind::Serial | RuleKind::Fingerprint)
    }
}

/// Why a rule's text cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// No `:` between kind and pattern.
    #[error("a rule is KIND:PATTERN (e.g. role:admin, cn:alice, uri:spiffe://acme.test/**)")]
    NoKind,
    /// The kind is not one of the ten.
    #[error(
        "unknown rule kind '{0}'; use one of cn, o, ou, dns, uri, email, serial, fingerprint, role, name"
    )]
    UnknownKind(String),
    /// Nothing after the `:`.
    #[error("the pattern is empty; write the value to match after the ':'")]
    EmptyPattern,
    /// A backslash not followed by `*` or `\`.
    #[error("a '\\' escapes only '*' or '\\' (write \\* for a literal star)")]
    BadEscape,
    /// In `dns`, a `*` that is not a whole label.
    #[error("in dns patterns '*' stands for exactly one whole label, as in *.example.com")]
    DnsStar,
    /// In `uri`, three stars or more in a row.
    #[error("in uri patterns use '*' (within a segment) or '**' (across segments), not more stars")]
    TooManyStars,
    /// A serial or fingerprint that is not hex.
    #[error("a {0} is hexadecimal (colons allowed), e.g. 3f:a2:… or 3fa2…")]
    NotHex(&'static str),
}

/// One compiled pattern with a wildcard.
#[derive(Debug, Clone)]
enum Glob {
    /// `*` is any run of characters (generic kinds).
    Any(Vec<Piece>),
    /// Labels of a DNS name, `None` for `*`.
    Dns(Vec<Option<Box<str>>>),
    /// `*` within a segment, `**` across.
    Uri(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Box<str>),
    Star,
    DoubleStar,
}

/// A parsed rule: its kind and pattern, exact or a glob.
#[derive(Debug, Clone)]
pub struct Rule {
    kind: RuleKind,
    pattern: Pattern,
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact(Box<str>),
    Glob(Glob),
}

impl Rule {
    /// Parses `KIND:PATTERN`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let (kind, pattern) = text.split_once(':').ok_or(RuleError::NoKind)?;
        let kind = RuleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| RuleError::UnknownKind(kind.to_owned()))?;
        if pattern.is_empty() {
            return Err(RuleError::EmptyPattern);
        }
        if kind == RuleKind::Dns && pattern.contains("**") {
            return Err(RuleError::DnsStar);
        }
        let pieces = pieces(pattern, kind == RuleKind::Uri)?;
        let pattern = match pieces.as_slice() {
            [] => return Err(RuleError::EmptyPattern),
            [Piece::Literal(text)] => Pattern::Exact(canonical(kind, text)?.into()),
            _ => Pattern::Glob(glob(kind, pieces)?),
        };
        Ok(Rule { kind, pattern })
    }

    /// What the rule looks at.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }
}

/// Splits a pattern into literals and stars, resolving escapes.
fn pieces(pattern: &str, double: bool) -> Result<Vec<Piece>, RuleError> {
    let mut out = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    let flush = |literal: &mut String, out: &mut Vec<Piece>| {
        if !literal.is_empty() {
            out.push(Piece::Literal(std::mem::take(literal).into()));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => literal.push(e),
                _ => return Err(RuleError::BadEscape),
            },
            '*' => {
                flush(&mut literal, &mut out);
                let mut stars = 1;
                while chars.peek() == Some(&'*') {
                    chars.next();
                    stars += 1;
                }
                out.push(match (double, stars) {
                    (false, _) | (true, 1) => Piece::Star,
                    (true, 2) => Piece::DoubleStar,
                    (true, _) => return Err(RuleError::TooManyStars),
                });
            }
            c => literal.push(c),
        }
    }
    flush(&mut literal, &mut out);
    Ok(out)
}

/// The form a value of `kind` is compared in: DNS lower-case without a
/// trailing dot, hex lower-case without colons or leading zero bytes.
fn canonical(kind: RuleKind, text: &str) -> Result<String, RuleError> {
    match kind {
        RuleKind::Dns => Ok(text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase()),
        RuleKind::Serial | RuleKind::Fingerprint => {
            let hex: String = text
                .chars()
                .filter(|c| *c != ':')
                .map(|c| c.to_ascii_lowercase())
                .collect();
            if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(RuleError::NotHex(kind.as_str()));
            }
            Ok(if kind == RuleKind::Serial {
                // An odd number of digits is the same integer with its
                // leading zero left out (as `format(n, 'x')` prints it).
                let even = if hex.len() % 2 == 1 {
                    format!("0{hex}")
                } else {
                    hex
                };
                trim_zero_bytes(&even).to_owned()
            } else {
                hex
            })
        }
        _ => Ok(text.to_owned()),
    }
}

/// A serial as the inventory spells it: no leading `00` bytes.
fn trim_zero_bytes(mut hex: &str) -> &str {
    while hex.len() > 2 && hex.starts_with("00") {
        hex = &hex[2..];
    }
    hex
}

fn glob(kind: RuleKind, pieces: Vec<Piece>) -> Result<Glob, RuleError> {
    match kind {
        RuleKind::Uri => Ok(Glob::Uri(pieces)),
        RuleKind::Dns => {
            // Re-split on labels: each label is either all star or literal.
            let mut labels = vec![String::new()];
            let mut star_labels = vec![false];
            for piece in &pieces {
                match piece {
                    Piece::Literal(text) => {
                        for (i, part) in text.split('.').enumerate() {
                            if i > 0 {
                                labels.push(String::new());
                                star_labels.push(false);
                            }
                            let last = labels.len() - 1;
                            if star_labels[last] && !part.is_empty() {
                                return Err(RuleError::DnsStar);
                            }
                            labels[last].push_str(part);
                        }
                    }
                    Piece::Star | Piece::DoubleStar => {
                        let last = labels.len() - 1;
                        if !labels[last].is_empty() || star_labels[last] {
                            return Err(RuleError::DnsStar);
                        }
                        star_labels[last] = true;
                    }
                }
            }
            if labels.last().is_some_and(|l| l.is_empty()) && !star_labels[labels.len() - 1] {
                // A trailing dot: the absolute form of the same name.
                labels.pop();
            }
            Ok(Glob::Dns(
                labels
                    .into_iter()
                    .zip(star_labels)
                    .map(|(label, star)| (!star).then(|| label.to_ascii_lowercase().into()))
                    .collect(),
            ))
        }
        _ if kind.is_hex() => Ok(Glob::Any(
            pieces
                .into_iter()
                .enumerate()
                .map(|(i, p)| match p {
                    Piece::Literal(text) => {
                        let mut hex: String = text
                            .chars()
                            .filter(|c| *c != ':')
                            .map(|c| c.to_ascii_lowercase())
                            .collect();
                        // A serial pattern's leading `00` bytes go, as the
                        // serial's own do, so `serial:00:05:99:*` matches
                        // the serial 059979….
                        if i == 0 && kind == RuleKind::Serial {
                            hex = trim_zero_bytes(&hex).to_owned();
                        }
                        if hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            Ok(Piece::Literal(hex.into()))
                        } else {
                            Err(RuleError::NotHex(kind.as_str()))
                        }
                    }
                    other => Ok(other),
                })
                .collect::<Result<_, _>>()?,
        )),
        _ => Ok(Glob::Any(pieces)),
    }
}

impl Glob {
    fn matches(&self, value: &str) -> bool {
        match self {
            Glob::Any(pieces) => match_any(pieces, value),
            Glob::Dns(labels) => {
                let value = value.strip_suffix('.').unwrap_or(value);
                let mut parts = value.split('.');
                for label in labels {
                    match (parts.next(), label) {
                        (None, _) => return false,
                        (Some(""), None) => return false,
                        (Some(_), None) => {}
                        (Some(part), Some(label)) => {
                            if !part.eq_ignore_ascii_case(label) {
                                return false;
                            }
                        }
                    }
                }
                parts.next().is_none()
            }
            Glob::Uri(pieces) => wildmatch(pieces, value) == Wild::Match,
        }
    }
}

/// `*` is any run: the classic greedy match with one backtrack point,
/// O(pattern × value) at worst, no allocation.
fn match_any(pieces: &[Piece], value: &str) -> bool {
    let mut rest = value;
    let mut i = 0;
    // (piece index after the star, where the star's run ends so far)
    let mut backtrack: Option<(usize, &str)> = None;
    loop {
        match pieces.get(i) {
            Some(Piece::Star | Piece::DoubleStar) => {
                i += 1;
                backtrack = Some((i, rest));
                continue;
            }
            Some(Piece::Literal(lit)) if rest.starts_with(&**lit) => {
                rest = &rest[lit.len()..];
                i += 1;
                continue;
            }
            None if rest.is_empty() => return true,
            _ => {}
        }
        // Mismatch: let the last star take one more character.
        let Some((after, run_end)) = backtrack else {
            return false;
        };
        let mut chars = run_end.chars();
        if chars.next().is_none() {
            return false;
        }
        rest = chars.as_str();
        backtrack = Some((after, rest));
        i = after;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    Match,
    NoMatch,
    /// No later start of a `*` can match (it would cross a `/`).
    AbortToDoubleStar,
    /// No later start of anything can match.
    AbortAll,
}

/// git's wildmatch for `*` (not across `/`) and `**` (across): the abort
/// results keep backtracking polynomial.
fn wildmatch(pieces: &[Piece], value: &str) -> Wild {
    let Some((first, rest)) = pieces.split_first() else {
        return if value.is_empty() {
            Wild::Match
        } else {
            Wild::NoMatch
        };
    };
    match first {
        Piece::Literal(lit) => match value.strip_prefix(&**lit) {
            Some(after) => wildmatch(rest, after),
            None => Wild::NoMatch,
        },
        Piece::DoubleStar => {
            if rest.is_empty() {
                return Wild::Match;
            }
            let mut at = value;
            loop {
                match wildmatch(rest, at) {
                    Wild::NoMatch | Wild::AbortToDoubleStar => {}
                    other => return other,
                }
                let mut chars = at.chars();
                if chars.next().is_none() {
                    return Wild::AbortAll;
                }
                at = chars.as_str();
            }
        }
        Piece::Star => {
            let mut at = value;
            loop {
                match wildmatch(rest, at) {
                    Wild::NoMatch => {}
                    other => return other,
                }
                let mut chars = at.chars();
                match chars.next() {
                    None => return Wild::AbortAll,
                    Some('/') => return Wild::AbortToDoubleStar,
                    Some(_) => at = chars.as_str(),
                }
            }
        }
    }
}

/// Which list a rule is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleList {
    /// `allow`.
    Allow,
    /// `deny`.
    Deny,
}

/// The rule that decided, for the access log and `verify --route`:
/// displays as `allow[3] role:admin` (0-based, as in the config list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRef<'a> {
    /// The list.
    pub list: RuleList,
    /// Its position in the list.
    pub index: usize,
    /// The rule as written.
    pub text: &'a str,
}

impl fmt::Display for RuleRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = match self.list {
            RuleList::Allow => "allow",
            RuleList::Deny => "deny",
        };
        write!(f, "{list}[{}] {}", self.index, self.text)
    }
}

/// The identity a decision looks at: the certificate and what the
/// inventory says of it.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The verified certificate.
    pub peer: &'a Peer,
    /// The roles the current snapshot grants its name.
    pub roles: &'a [String],
    /// Its inventory name, when the inventory knows the serial.
    pub name: Option<&'a str>,
}

/// One compiled list (`allow` or `deny`).
#[derive(Debug, Clone, Default)]
struct List {
    /// Rule texts, by index.
    texts: Vec<Box<str>>,
    /// Exact values per kind: value → lowest rule index.
    exact: [HashMap<Box<str>, usize>; 10],
    /// Globs per kind, with their rule index, in list order.
    globs: [Vec<(usize, Glob)>; 10],
}

impl List {
    fn compile(rules: &[(String, Rule)]) -> List {
        let mut list = List::default();
        for (index, (text, rule)) in rules.iter().enumerate() {
            list.texts.push(text.as_str().into());
            let kind = rule.kind.index();
            match &rule.pattern {
                Pattern::Exact(value) => {
                    list.exact[kind].entry(value.clone()).or_insert(index);
                }
                Pattern::Glob(glob) => list.globs[kind].push((index, glob.clone())),
            }
        }
        list
    }

    fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The lowest-index rule that matches `identity`.
    fn first_match(&self, identity: &Identity<'_>) -> Option<usize> {
        let peer = identity.peer;
        let mut best: Option<usize> = None;
        let mut consider = |kind: RuleKind, value: &str| {
            let k = kind.index();
            if self.exact[k].is_empty() && self.globs[k].is_empty() {
                return;
            }
            let key: Cow<'_, str> = match kind {
                RuleKind::Dns => {
                    let v = value.strip_suffix('.').unwrap_or(value);
                    if v.bytes().any(|b| b.is_ascii_uppercase()) {
                        Cow::Owned(v.to_ascii_lowercase())
                    } else {
                        Cow::Borrowed(v)
                    }
                }
                _ => Cow::Borrowed(value),
            };
            if let Some(&index) = self.exact[k].get(&*key) {
                best = Some(best.map_or(index, |b| b.min(index)));
            }
            for (index, glob) in &self.globs[k] {
                if best.is_some_and(|b| b <= *index) {
                    break;
                }
                if glob.matches(&key) {
                    best = Some(*index);
                    break;
                }
            }
        };
        if let Some(cn) = &peer.cn {
            consider(RuleKind::Cn, cn);
        }
        for o in &peer.orgs {
            consider(RuleKind::O, o);
        }
        for ou in &peer.org_units {
            consider(RuleKind::Ou, ou);
        }
        for san in &peer.sans {
            if let Some(dns) = san.strip_prefix("DNS:") {
                consider(RuleKind::Dns, dns);
            } else if let Some(uri) = san.strip_prefix("URI:") {
                consider(RuleKind::Uri, uri);
            } else if let Some(email) = san.strip_prefix("email:") {
                consider(RuleKind::Email, email);
            }
        }
        consider(RuleKind::Serial, trim_zero_bytes(&peer.serial));
        consider(RuleKind::Fingerprint, &peer.fingerprint);
        for role in identity.roles {
            consider(RuleKind::Role, role);
        }
        if let Some(name) = identity.name {
            consider(RuleKind::Name, name);
        }
        best
    }
}

/// A route's compiled `allow` and `deny` lists.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    allow: List,
    deny: List,
}

/// What the rules say of a verified client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Let in; by this allow rule, or by having no allow list.
    Allowed(Option<RuleRef<'a>>),
    /// Refused by this deny rule, or (`None`) by matching no allow rule.
    Refused(Option<RuleRef<'a>>),
}

impl RuleSet {
    /// Compiles the lists; each entry is the rule's text and its parse.
    pub fn compile(allow: &[(String, Rule)], deny: &[(String, Rule)]) -> RuleSet {
        RuleSet {
            allow: List::compile(allow),
            deny: List::compile(deny),
        }
    }

    /// Whether there is an allow list.
    pub fn has_allow(&self) -> bool {
        !self.allow.is_empty()
    }

    /// Whether there is any rule.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Deny wins; with an allow list the client must match one entry;
    /// with none every verified client is allowed.
    pub fn judge(&self, identity: &Identity<'_>) -> Verdict<'_> {
        if let Some(index) = self.deny.first_match(identity) {
            return Verdict::Refused(Some(RuleRef {
                list: RuleList::Deny,
                index,
                text: &self.deny.texts[index],
            }));
        }
        if self.allow.is_empty() {
            return Verdict::Allowed(None);
        }
        match self.allow.first_match(identity) {
            Some(index) => Verdict::Allowed(Some(RuleRef {
                list: RuleList::Allow,
                index,
                text: &self.allow.texts[index],
            })),
            None => Verdict::Refused(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        let mut peer = Peer::for_tests("CN=alice,OU=eng,OU=ops,O=acme", "1f2e");
        peer.cn = Some("alice".into());
        peer.orgs = vec!["acme".into()];
        peer.org_units = vec!["eng".into(), "ops".into()];
        peer.sans = vec![
            "DNS:alice.svc.example.internal".into(),
            "DNS:Alice.Example.COM".into(),
            "URI:spiffe://acme.test/payments/checkout/v2".into(),
            "email:alice@acme.test".into(),
            "IP:10.0.0.1".into(),
        ];
        peer.fingerprint = "ab".repeat(32);
        peer
    }

    fn set(allow: &[&str], deny: &[&str]) -> RuleSet {
        let parse = |texts: &[&str]| -> Vec<(String, Rule)> {
            texts
                .iter()
                .map(|t| (t.to_string(), Rule::parse(t).expect("a valid rule")))
                .collect()
        };
        RuleSet::compile(&parse(allow), &parse(deny))
    }

    fn judge(set: &RuleSet, roles: &[String], name: Option<&str>) -> String {
        let peer = peer();
        let identity = Identity {
            peer: &peer,
            roles,
            name,
        };
        match set.judge(&identity) {
            Verdict::Allowed(Some(rule)) => format!("allowed by {rule}"),
            Verdict::Allowed(None) => "allowed".into(),
            Verdict::Refused(Some(rule)) => format!("refused by {rule}"),
            Verdict::Refused(None) => "refused".into(),
        }
    }

    fn matches(rule: &str) -> bool {
        judge(&set(&[rule], &[]), &["admin".into()], Some("alice-laptop")) != "refused"
    }

    #[test]
    fn each_kind_matches_its_field() {
        for rule in [
            "cn:alice",
            "o:acme",
            "ou:ops",
            "dns:alice.svc.example.internal",
            "dns:alice.example.com",
            "dns:ALICE.example.com.",
            "uri:spiffe://acme.test/payments/checkout/v2",
            "email:alice@acme.test",
            "serial:1f2e",
            "serial:00:1F:2E",
            "fingerprint:AB:AB:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB",
            "role:admin",
            "name:alice-laptop",
        ] {
            assert!(matches(rule), "{rule} should match");
        }
        for rule in [
            "cn:Alice",
            "o:Acme",
            "ou:sales",
            "uri:spiffe://acme.test/payments/checkout",
            "email:ALICE@acme.test",
            "serial:1f2f",
            "role:root",
            "name:bob",
            "dns:10.0.0.1",
        ] {
            assert!(!matches(rule), "{rule} should not match");
        }
    }

    #[test]
    fn serial_patterns_ignore_leading_zero_bytes_and_odd_lengths() {
        let mut peer = Peer::for_tests("CN=a", "059979d8");
        peer.serial = "059979d8".into();
        for (rule, matches) in [
            ("serial:00:05:99:*", true),
            ("serial:05:99:79:D8", true),
            ("serial:5:99:79:d8", true),
            ("serial:00:05:99:79:d8", true),
            ("serial:06*", false),
        ] {
            let set = RuleSet::compile(&[(rule.to_owned(), Rule::parse(rule).expect(rule))], &[]);
            let verdict = set.judge(&Identity {
                peer: &peer,
                roles: &[],
                name: None,
            });
            assert_eq!(matches!(verdict, Verdict::Allowed(_)), matches, "{rule}");
        }
    }

    #[test]
    fn globs_follow_the_kind() {
        // dns: one label.
        assert!(matches("dns:*.svc.example.internal"));
        assert!(matches("dns:*.EXAMPLE.com"));
        assert!(!matches("dns:*.example.internal"));
        assert!(matches("dns:alice.*.example.internal"));
        // uri: `*` within a segment, `**` across.
        assert!(matches("uri:spiffe://acme.test/payments/**"));
        assert!(matches("uri:spiffe://acme.test/**/v2"));
        assert!(matches("uri:spiffe://acme.test/*/checkout/*"));
        assert!(!matches("uri:spiffe://acme.test/payments/*"));
        assert!(!matches("uri:spiffe://acme.test/*"));
        assert!(matches("uri:spiffe://acme.test/pay*/check*/v*"));
        assert!(matches("uri:spiffe://**"));
        // generic: any run.
        assert!(matches("cn:al*"));
        assert!(matches("cn:*"));
        assert!(matches("cn:*i*e"));
        assert!(!matches("cn:*x*"));
        assert!(matches("email:*@acme.test"));
        assert!(matches("name:alice-*"));
        assert!(matches("role:ad*"));
        assert!(matches("fingerprint:ABAB*"));
        assert!(!matches("fingerprint:cd*"));
    }

    #[test]
    fn an_escaped_star_is_literal() {
        let mut peer = peer();
        peer.cn = Some("a*b".into());
        let rules = set(&["cn:a\\*b"], &[]);
        fn id(peer: &Peer) -> Identity<'_> {
            Identity {
                peer,
                roles: &[],
                name: None,
            }
        }
        assert!(matches!(rules.judge(&id(&peer)), Verdict::Allowed(Some(_))));
        peer.cn = Some("axb".into());
        assert_eq!(rules.judge(&id(&peer)), Verdict::Refused(None));
    }

    #[test]
    fn deny_wins_and_the_deciding_rule_is_named() {
        let roles = ["admin".to_string()];
        assert_eq!(
            judge(
                &set(&["role:admin"], &["cn:mallory", "ou:ops"]),
                &roles,
                None
            ),
            "refused by deny[1] ou:ops"
        );
        assert_eq!(
            judge(
                &set(&["cn:bob", "o:x", "o:y", "role:admin"], &["cn:mallory"]),
                &roles,
                None
            ),
            "allowed by allow[3] role:admin"
        );
        assert_eq!(judge(&set(&["cn:bob"], &[]), &roles, None), "refused");
        assert_eq!(judge(&set(&[], &["cn:bob"]), &roles, None), "allowed");
        assert_eq!(judge(&set(&[], &[]), &roles, None), "allowed");
    }

    #[test]
    fn the_first_rule_in_the_list_is_reported_when_several_match() {
        let roles = ["admin".to_string()];
        assert_eq!(
            judge(
                &set(&["cn:a*", "role:admin", "cn:alice"], &[]),
                &roles,
                None
            ),
            "allowed by allow[0] cn:a*"
        );
        assert_eq!(
            judge(&set(&["role:admin", "cn:a*"], &[]), &roles, None),
            "allowed by allow[0] role:admin"
        );
    }

    #[test]
    fn ten_thousand_exact_entries_are_a_map() {
        let texts: Vec<String> = (0..10_000).map(|i| format!("cn:user-{i}")).collect();
        let mut allow: Vec<(String, Rule)> = texts
            .iter()
            .map(|t| (t.clone(), Rule::parse(t).expect("valid")))
            .collect();
        allow.push(("cn:alice".into(), Rule::parse("cn:alice").expect("valid")));
        let rules = RuleSet::compile(&allow, &[]);
        assert_eq!(rules.allow.exact[RuleKind::Cn.index()].len(), 10_001);
        assert!(rules.allow.globs.iter().all(Vec::is_empty));
        assert_eq!(judge(&rules, &[], None), "allowed by allow[10000] cn:alice");
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        for (text, error) in [
            ("admin", RuleError::NoKind),
            ("cm:alice", RuleError::UnknownKind("cm".into())),
            ("CN:alice", RuleError::UnknownKind("CN".into())),
            ("cn:", RuleError::EmptyPattern),
            ("cn:a\\b", RuleError::BadEscape),
            ("cn:a\\", RuleError::BadEscape),
            ("dns:a*.example.com", RuleError::DnsStar),
            ("dns:**.example.com", RuleError::DnsStar),
            ("uri:spiffe://x/***", RuleError::TooManyStars),
            ("serial:xyz", RuleError::NotHex("serial")),
            ("fingerprint:ab*zz", RuleError::NotHex("fingerprint")),
        ] {
            assert_eq!(Rule::parse(text).err(), Some(error), "{text}");
        }
    }

    #[test]
    fn wildmatch_stays_fast_on_a_pathological_pattern() {
        let pieces = pieces("**a**a**a**a**a**a**a**b", true).expect("valid");
        let value = "a/".repeat(40);
        assert_eq!(wildmatch(&pieces, &value), Wild::AbortAll);
        let generic = pieces_any("*a*a*a*a*a*a*a*b");
        assert!(!match_any(&generic, &"a".repeat(200)));
    }

    fn pieces_any(p: &str) -> Vec<Piece> {
        pieces(p, false).expect("valid")
    }
}
