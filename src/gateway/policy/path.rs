//! Request path normalization (DESIGN.md, "Routes"): the gateway matches
//! routes on the path the upstream will see, so the two cannot disagree.
//! One pass over the path:
//!
//! - percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are
//!   decoded, every other escape is kept with upper-case hex (RFC 3986
//!   §6.2.2.1-2), so `%2e%2e` is a dot-segment and `%7Euser` is `~user`;
//! - an escaped `/` or `\` (`%2F`, `%5C`, any case), a NUL (raw or `%00`),
//!   a raw `\` and a malformed escape are refused: no server behind the
//!   gateway can then see a slash or a NUL where the router saw none;
//! - repeated slashes are merged and dot-segments removed (RFC 3986
//!   §5.2.4); a `..` that would climb above the root is refused rather
//!   than clamped, since only a trick writes one.
//!
//! The query is kept as it came and handed back apart. A path that needs
//! no change is returned borrowed: the common request allocates nothing.

use std::borrow::Cow;

/// Why a request path cannot be normalized safely. Each is a 400
/// `bad_request` (`Refusal::BadRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The request target is not an origin-form path (`/…`).
    #[error("the request path does not start with '/'")]
    NotAbsolute,
    /// `%2F` or `%5C`: an encoded slash or backslash.
    #[error("the request path holds an encoded '/' or '\\' (%2F, %5C)")]
    EncodedSlash,
    /// A raw backslash, which some servers read as a slash.
    #[error("the request path holds a '\\'")]
    Backslash,
    /// A NUL byte, raw or `%00`.
    #[error("the request path holds a NUL (%00)")]
    Nul,
    /// A `%` not followed by two hex digits, or an escape that decodes to
    /// something that is not UTF-8 where UTF-8 is needed.
    #[error("the request path holds a malformed percent-escape")]
    BadEscape,
    /// A `..` segment that would climb above the root.
    #[error("the request path climbs above the root with '..'")]
    AboveRoot,
    /// A `#` fragment, which no client sends in a request target.
    #[error("the request path holds a fragment ('#')")]
    Fragment,
    /// A `;` path parameter: Java servlet containers (Tomcat, Jetty) drop
    /// `;…` from each segment and read `..;` as `..`, so `/admin;x/y` or
    /// `/public/..;/admin` would match one route here and be served as
    /// another path there.
    #[error(
        "the request path holds a ';' (path parameters are not forwarded: servlet containers read them differently)"
    )]
    Parameter,
}

/// A request target split into its normalized path and its untouched query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedTarget<'a> {
    /// The normalized path: starts with `/`, no empty or dot segments;
    /// borrowed when the request's path was already normal.
    pub path: Cow<'a, str>,
    /// The query, without its `?`, exactly as the client sent it.
    pub query: Option<&'a str>,
}

/// Normalizes a request target (`path[?query]`); see the module header.
pub fn normalize_target(target: &str) -> Result<NormalizedTarget<'_>, PathError> {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    Ok(NormalizedTarget {
        path: normalize(path)?,
        query,
    })
}

/// Normalizes a path (no query); see the module header.
pub fn normalize(path: &str) -> Result<Cow<'_, str>, PathError> {
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if is_normal(path)? {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path)?;
    remove_dot_segments(&decoded).map(Cow::Owned)
}

/// Whether `path` is already normal, refusing the bytes no path may hold.
/// Escapes send the path down the slow road, which judges them.
fn is_normal(path: &str) -> Result<bool, PathError> {
    let mut normal = true;
    for byte in path.bytes() {
        match byte {
            0 => return Err(PathError::Nul),
            b'\\' => return Err(PathError::Backslash),
            b'#' => return Err(PathError::Fragment),
            b';' => return Err(PathError::Parameter),
            b'%' => normal = false,
            _ => {}
        }
    }
    if !normal {
        return Ok(false);
    }
    // Segments after the leading '/': an empty one (but the last) is a
    // repeated slash; `.` and `..` are dot-segments.
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == "." || segment == ".." {
            return Ok(false);
        }
    }
    Ok(true)
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes the escapes of unreserved characters, upper-cases the hex of
/// the others, and refuses the escapes no path may hold.
fn decode_unreserved(path: &str) -> Result<String, PathError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte != b'%' {
            // Copy the run up to the next escape in one go (UTF-8 stays whole).
            let end = path[i..].find('%').map_or(bytes.len(), |n| i + n);
            out.push_str(&path[i..end]);
            i = end;
            continue;
        }
        let (Some(high), Some(low)) = (
            bytes.get(i + 1).copied().and_then(hex_value),
            bytes.get(i + 2).copied().and_then(hex_value),
        ) else {
            return Err(PathError::BadEscape);
        };
        let value = high << 4 | low;
        match value {
            0 => return Err(PathError::Nul),
            b'/' | b'\\' => return Err(PathError::EncodedSlash),
            v if is_unreserved(v) => out.push(char::from(v)),
            v => {
                out.push('%');
                out.push(char::from(HEX[usize::from(v >> 4)]));
                out.push(char::from(HEX[usize::from(v & 0xf)]));
            }
        }
        i += 3;
    }
    Ok(out)
}

/// RFC 3986 §5.2.4 on a path whose escapes are decoded, with repeated
/// slashes merged and a climb above the root refused.
fn remove_dot_segments(path: &str) -> Result<String, PathError> {
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "" => trailing_slash = last,
            "." => trailing_slash = true,
            ".." => {
                if kept.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
                trailing_slash = true;
            }
            _ => {
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || kept.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_parameters_are_refused() {
        for path in ["/admin;x/y", "/public/..;/admin", "/a;", "/a/.;/b"] {
            assert_eq!(normalize(path), Err(PathError::Parameter), "{path}");
        }
        // In the query a ';' is the client's business.
        assert!(normalize_target("/a?x=1;y=2").is_ok());
    }

    use super::*;

    fn norm(path: &str) -> Result<String, PathError> {
        normalize(path).map(Cow::into_owned)
    }

    #[test]
    fn the_tricks_of_the_issue_never_reach_admin_unseen() {
        assert_eq!(norm("/public/../admin"), Ok("/admin".into()));
        assert_eq!(norm("/public/%2e%2e/admin"), Ok("/admin".into()));
        assert_eq!(norm("/public/%2E%2E/admin"), Ok("/admin".into()));
        assert_eq!(norm("/public/.%2e/admin"), Ok("/admin".into()));
        assert_eq!(norm("/public/..%2fadmin"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/public/..%2Fadmin"), Err(PathError::EncodedSlash));
        assert_eq!(norm("//admin"), Ok("/admin".into()));
        assert_eq!(norm("///admin//x"), Ok("/admin/x".into()));
    }

    #[test]
    fn dot_segments_and_slashes() {
        assert_eq!(norm("/a/./b"), Ok("/a/b".into()));
        assert_eq!(norm("/a/b/.."), Ok("/a/".into()));
        assert_eq!(norm("/a/b/."), Ok("/a/b/".into()));
        assert_eq!(norm("/a/b/"), Ok("/a/b/".into()));
        assert_eq!(norm("/a//"), Ok("/a/".into()));
        assert_eq!(norm("/a/b/../c"), Ok("/a/c".into()));
        assert_eq!(norm("/a/b/../.."), Ok("/".into()));
        assert_eq!(norm("/."), Ok("/".into()));
        assert_eq!(norm("/"), Ok("/".into()));
        // Three dots are a name, not a dot-segment.
        assert_eq!(norm("/a/.../b"), Ok("/a/.../b".into()));
    }

    #[test]
    fn a_climb_above_the_root_is_refused() {
        assert_eq!(norm("/.."), Err(PathError::AboveRoot));
        assert_eq!(norm("/a/b/../../.."), Err(PathError::AboveRoot));
        assert_eq!(norm("/%2e%2e/etc"), Err(PathError::AboveRoot));
        assert_eq!(norm("/a/../../b"), Err(PathError::AboveRoot));
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_the_rest_kept_upper_case() {
        assert_eq!(norm("/%7Euser"), Ok("/~user".into()));
        assert_eq!(norm("/%7euser"), Ok("/~user".into()));
        assert_eq!(norm("/%41%2D%5f"), Ok("/A-_".into()));
        assert_eq!(norm("/a%20b"), Ok("/a%20b".into()));
        assert_eq!(norm("/a%3fb%3F"), Ok("/a%3Fb%3F".into()));
        assert_eq!(norm("/caf%C3%A9"), Ok("/caf%C3%A9".into()));
        assert_eq!(norm("/café"), Ok("/café".into()));
    }

    #[test]
    fn encoded_slashes_nuls_and_bad_escapes_are_refused() {
        assert_eq!(norm("/a%2Fb"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%2fb"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%5cb"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%5Cb"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a\\b"), Err(PathError::Backslash));
        assert_eq!(norm("/a%00b"), Err(PathError::Nul));
        assert_eq!(norm("/a\0b"), Err(PathError::Nul));
        assert_eq!(norm("/a%2"), Err(PathError::BadEscape));
        assert_eq!(norm("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(norm("/a%"), Err(PathError::BadEscape));
        assert_eq!(norm("/a#b"), Err(PathError::Fragment));
        assert_eq!(norm("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(norm(""), Err(PathError::NotAbsolute));
        assert_eq!(norm("*"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn a_normal_path_is_borrowed() {
        for path in ["/", "/api", "/api/", "/api/v1/x.json", "/a/..b/.c"] {
            assert!(
                matches!(normalize(path), Ok(Cow::Borrowed(p)) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn the_query_is_kept_untouched_and_apart() {
        let target = normalize_target("/a/../b?x=/../%2f&y").expect("normal");
        assert_eq!(target.path, "/b");
        assert_eq!(target.query, Some("x=/../%2f&y"));
        let target = normalize_target("/b").expect("normal");
        assert_eq!(target.query, None);
        let target = normalize_target("/b?").expect("normal");
        assert_eq!(target.query, Some(""));
    }
}
