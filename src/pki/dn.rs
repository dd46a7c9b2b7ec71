//! Distinguished names as RFC 4514 strings: the form nginx
//! (`$ssl_client_s_dn`), Envoy's XFCC and Go's `pkix.Name.String()` hand an
//! upstream, and what the gateway forwards as `X-Client-DN`. x509-parser's
//! Display form (`C=US, O=Example, CN=alice`) escapes nothing, so an
//! organization of `Evil, CN=admin` reads as a second CN there.
//!
//! Two choices go beyond RFC 4514, so the result is a valid HTTP field value
//! as it stands: every byte outside visible ASCII is written as `\XX`
//! (OpenSSL's `ESC_MSB`), and a trailing space as `\20` rather than `\ `,
//! because HTTP strips whitespace at the end of a field value and would
//! leave a lone `\`.

use std::fmt::Write;

use x509_parser::asn1_rs::{Any, Class, SerializeError, Tag, ToDer};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// `name` in RFC 4514 form: the last RDN of the encoding first, RDNs joined
/// by `,`, the attributes of a multi-valued RDN by `+`. Fails only when a
/// value cannot be re-encoded as DER for the `#hex` form.
pub fn rfc4514(name: &X509Name<'_>) -> Result<String, SerializeError> {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attribute) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_attribute(attribute, &mut out)?;
        }
    }
    Ok(out)
}

/// `TYPE=value`: a short name with the escaped text, or (for any other type,
/// or a value that is not text) the `#` and hex of the value's DER.
fn push_attribute(
    attribute: &AttributeTypeAndValue<'_>,
    out: &mut String,
) -> Result<(), SerializeError> {
    let oid = attribute.attr_type().to_id_string();
    let value = attribute.attr_value();
    let text = match short_name(&oid) {
        Some(short) => {
            out.push_str(short);
            text(value)
        }
        None => {
            out.push_str(&oid);
            None
        }
    };
    out.push('=');
    match text {
        Some(text) => push_escaped(&text, out),
        None => {
            out.push('#');
            out.push_str(&hex::encode(value.to_der_vec()?));
        }
    }
    Ok(())
}

/// The short names of RFC 4514 section 3, and no others.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The text of a string value, or `None` for another type or bytes that
/// are not valid in the string type. TeletexString is read as Latin-1.
fn text(value: &Any<'_>) -> Option<String> {
    if value.class() != Class::Universal || value.header.is_constructed() {
        return None;
    }
    let data = value.data;
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::PrintableString | Tag::Ia5String | Tag::NumericString | Tag::VisibleString => data
            .is_ascii()
            .then(|| String::from_utf8_lossy(data).into_owned()),
        Tag::T61String => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString if data.len().is_multiple_of(2) => char::decode_utf16(
            data.chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        Tag::UniversalString if data.len().is_multiple_of(4) => data
            .chunks_exact(4)
            .map(|quad| char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]])))
            .collect(),
        _ => None,
    }
}

/// Escapes per RFC 4514 section 2.4, plus `\XX` for every byte outside
/// visible ASCII and `\20` for a trailing space (see the module header).
fn push_escaped(text: &str, out: &mut String) {
    for (i, c) in text.char_indices() {
        let first = i == 0;
        let last = i + c.len_utf8() == text.len();
        match c {
            ' ' if last => out.push_str("\\20"),
            ' ' | '#' if first => {
                out.push('\\');
                out.push(c);
            }
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {
                for b in c.encode_utf8(&mut [0; 4]).bytes() {
                    let _ = write!(out, "\\{b:02X}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::asn1_rs::Oid;
    use x509_parser::prelude::FromDer;

    const CN: &str = "2.5.4.3";
    const O: &str = "2.5.4.10";
    const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;
    const IA5: u8 = 0x16;

    /// A DER TLV with a short-form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = u8::try_from(content.len()).expect("test values are short");
        assert!(len < 0x80, "test values are short");
        [&[tag, len][..], content].concat()
    }

    /// One AttributeTypeAndValue.
    fn atv(oid: &str, tag: u8, value: &[u8]) -> Vec<u8> {
        let oid: Oid = oid.parse().expect("a valid OID");
        tlv(0x30, &[tlv(0x06, oid.as_bytes()), tlv(tag, value)].concat())
    }

    /// Renders a Name built from RDNs in encoding order, and checks the
    /// result is a valid HTTP field value as it stands.
    fn render(rdns: &[&[Vec<u8>]]) -> String {
        let sets: Vec<u8> = rdns
            .iter()
            .flat_map(|rdn| tlv(0x31, &rdn.concat()))
            .collect();
        let der = tlv(0x30, &sets);
        let (rest, name) = X509Name::from_der(&der).expect("a valid Name");
        assert!(rest.is_empty());
        let out = rfc4514(&name).expect("renders");
        assert!(
            out.bytes().all(|b| (0x20..0x7f).contains(&b)) && !out.ends_with(' '),
            "not a clean header value: {out:?}"
        );
        out
    }

    fn utf8(oid: &str, value: &str) -> Vec<u8> {
        atv(oid, UTF8, value.as_bytes())
    }

    #[test]
    fn most_specific_rdn_comes_first_without_spaces() {
        let c = atv("2.5.4.6", PRINTABLE, b"US");
        let name = render(&[&[c], &[utf8(O, "Example")], &[utf8(CN, "alice")]]);
        assert_eq!(name, "CN=alice,O=Example,C=US");
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn a_comma_in_the_organization_is_not_a_second_rdn() {
        let name = render(&[&[utf8(O, "Evil, CN=admin")], &[utf8(CN, "alice")]]);
        assert_eq!(name, r"CN=alice,O=Evil\, CN=admin");
    }

    #[test]
    fn leading_and_trailing_spaces_and_a_leading_hash_are_escaped() {
        assert_eq!(render(&[&[utf8(CN, " alice ")]]), r"CN=\ alice\20");
        assert_eq!(render(&[&[utf8(CN, "  ")]]), r"CN=\ \20");
        assert_eq!(render(&[&[utf8(CN, " ")]]), r"CN=\20");
        assert_eq!(render(&[&[utf8(CN, "a b")]]), "CN=a b");
        assert_eq!(render(&[&[utf8(CN, "#1#")]]), r"CN=\#1#");
    }

    #[test]
    fn special_characters_are_escaped_and_equals_is_not() {
        let name = render(&[&[utf8(CN, r#"a+b;c"d\e<f>g=h"#)]]);
        assert_eq!(name, r#"CN=a\+b\;c\"d\\e\<f\>g=h"#);
    }

    #[test]
    fn bytes_outside_visible_ascii_are_hex_pairs() {
        assert_eq!(render(&[&[utf8(O, "Société")]]), r"O=Soci\C3\A9t\C3\A9");
        assert_eq!(render(&[&[utf8(CN, "a\0b\tc\x7f")]]), r"CN=a\00b\09c\7F");
        assert_eq!(render(&[&[utf8(CN, "%41")]]), "CN=%41");
    }

    #[test]
    fn every_string_type_is_decoded() {
        let cases: [(u8, &[u8]); 5] = [
            (PRINTABLE, b"Caf"),
            (IA5, b"Caf"),
            (0x14, b"Caf\xe9"),                         // TeletexString, Latin-1
            (0x1e, b"\x00C\x00a\x00f\x00\xe9"),         // BMPString
            (0x1c, b"\0\0\0C\0\0\0a\0\0\0f\0\0\0\xe9"), // UniversalString
        ];
        for (tag, value) in cases {
            let name = render(&[&[atv(CN, tag, value)]]);
            assert!(
                name == "CN=Caf" || name == r"CN=Caf\C3\A9",
                "tag {tag:#x}: {name}"
            );
        }
        let emoji = render(&[&[atv(CN, 0x1e, b"\xd8\x3d\xde\x00")]]);
        assert_eq!(emoji, r"CN=\F0\9F\98\80", "a BMPString surrogate pair");
    }

    #[test]
    fn a_value_that_is_not_valid_text_is_hex() {
        assert_eq!(render(&[&[atv(CN, UTF8, b"\xff")]]), "CN=#0c01ff");
        assert_eq!(render(&[&[atv(CN, IA5, b"\x80")]]), "CN=#160180");
        assert_eq!(render(&[&[atv(CN, 0x1e, b"\x00")]]), "CN=#1e0100");
        assert_eq!(render(&[&[atv(CN, 0x1e, b"\xd8\x3d")]]), "CN=#1e02d83d");
        assert_eq!(render(&[&[atv(CN, 0x02, b"\x01")]]), "CN=#020101");
    }

    #[test]
    fn only_the_rfc_4514_short_names_are_used() {
        let short = [
            ("2.5.4.7", "L"),
            ("2.5.4.8", "ST"),
            ("2.5.4.11", "OU"),
            ("2.5.4.9", "STREET"),
            ("0.9.2342.19200300.100.1.25", "DC"),
            ("0.9.2342.19200300.100.1.1", "UID"),
        ];
        for (oid, name) in short {
            assert_eq!(render(&[&[utf8(oid, "x")]]), format!("{name}=x"));
        }
        let email = render(&[&[atv("1.2.840.113549.1.9.1", IA5, b"a@b")]]);
        assert_eq!(email, "1.2.840.113549.1.9.1=#1603614062");
        let serial = render(&[&[atv("2.5.4.5", PRINTABLE, b"42")]]);
        assert_eq!(serial, "2.5.4.5=#13023432");
    }

    #[test]
    fn a_multi_valued_rdn_is_joined_with_plus() {
        let rdn = [utf8(CN, "a+b"), utf8("0.9.2342.19200300.100.1.1", "u")];
        let name = render(&[&[utf8(O, "x")], &rdn]);
        assert_eq!(name, r"CN=a\+b+UID=u,O=x");
    }
}
