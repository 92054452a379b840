//! Unpacks a workbook into nothing before it is read, so a ZIP bomb or a pathologically nested
//! part is refused at the cost of streaming through it once, in constant memory.
//!
//! calamine reads the shared strings, styles and the cells of a worksheet into memory as it
//! unpacks them and has no bound of its own; this pass counts every part's unpacked bytes
//! (the real ones, not the sizes the ZIP directory declares) and the nesting depth of every XML
//! part, and refuses the file at the first limit passed.

use std::io::{Cursor, Read};

use crate::{Limit, Limits, SheetError, over};

/// How much of a part is unpacked at a time.
const CHUNK: usize = 64 * 1024;

/// Checks `bytes`, already known to be a ZIP holding `xl/workbook.xml`, against `limits`.
pub(crate) fn check(bytes: &[u8], limits: &Limits) -> Result<(), SheetError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if archive.len() > limits.zip_entries {
        return Err(over(Limit::ZipEntries, limits.zip_entries, None));
    }
    let mut unpacked: u64 = 0;
    let mut chunk = vec![0u8; CHUNK];
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).map_err(damaged)?;
        let is_xml = {
            let name = part.name_raw().to_ascii_lowercase();
            name.ends_with(b".xml") || name.ends_with(b".rels")
        };
        let mut depth = Depth::new(limits.xml_depth);
        loop {
            let read = match part.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(SheetError::Xlsx {
                        reason: format!("a part of it cannot be unpacked: {e}"),
                    });
                }
            };
            unpacked = unpacked.saturating_add(read as u64);
            if unpacked > limits.unpacked_bytes {
                return Err(over(Limit::UnpackedBytes, limits.unpacked_bytes, None));
            }
            if is_xml && !depth.feed(&chunk[..read]) {
                return Err(over(Limit::XmlDepth, limits.xml_depth, None));
            }
        }
    }
    Ok(())
}

fn damaged(e: zip::result::ZipError) -> SheetError {
    SheetError::Xlsx {
        reason: format!("its ZIP container is damaged: {e}"),
    }
}

/// Where the depth scanner is in the XML text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Character data between tags.
    Text,
    /// Just after `<`.
    Open,
    /// Inside a start tag; `slash` is whether the last non-space byte was `/`.
    StartTag { slash: bool },
    /// Inside a start tag's attribute value quoted by the byte given.
    Quoted { quote: u8 },
    /// Inside an end tag, `</...>`.
    EndTag,
    /// Just after `<!`.
    Bang,
    /// Inside markup that opens no element: `<?...?>` (`kind` `?`), a comment `<!--...-->`
    /// (`-`), a CDATA section `<![CDATA[...]]>` (`[`) or another declaration `<!...>` (`!`).
    /// `tail` holds the two bytes before the current one, to see `?>`, `-->` and `]]>`.
    Markup { tail: [u8; 2], kind: u8 },
}

/// Tracks the element depth of XML fed in arbitrary chunks, with constant memory. It is a
/// scanner, not a validator: malformed XML is left for calamine to refuse, this only has to
/// count every element the real parser would open.
#[derive(Debug, Clone)]
pub(crate) struct Depth {
    at: At,
    depth: usize,
    max: usize,
}

impl Depth {
    /// A scanner refusing nesting deeper than `max`.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            at: At::Text,
            depth: 0,
            max,
        }
    }

    /// Scans `bytes`; false once an element opens deeper than the maximum.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            self.at = match (self.at, b) {
                (At::Text, b'<') => At::Open,
                (At::Text, _) => At::Text,
                (At::Open, b'/') => At::EndTag,
                (At::Open, b'?') => At::Markup {
                    tail: [0, 0],
                    kind: b'?',
                },
                (At::Open, b'!') => At::Bang,
                (At::Bang, b'>') => At::Text,
                (At::Bang, b'-' | b'[') => At::Markup {
                    tail: [0, b],
                    kind: b,
                },
                (At::Bang, _) => At::Markup {
                    tail: [0, b],
                    kind: b'!',
                },
                (At::Open, b'>') => At::Text,
                (At::Open, _) => {
                    self.depth += 1;
                    if self.depth > self.max {
                        return false;
                    }
                    At::StartTag { slash: false }
                }
                (At::StartTag { slash }, b'>') => {
                    if slash {
                        self.depth -= 1;
                    }
                    At::Text
                }
                (At::StartTag { .. }, b'"' | b'\'') => At::Quoted { quote: b },
                (At::StartTag { slash }, b' ' | b'\t' | b'\r' | b'\n') => At::StartTag { slash },
                (At::StartTag { .. }, b'/') => At::StartTag { slash: true },
                (At::StartTag { .. }, _) => At::StartTag { slash: false },
                (At::Quoted { quote }, b) if b == quote => At::StartTag { slash: false },
                (At::Quoted { quote }, _) => At::Quoted { quote },
                (At::EndTag, b'>') => {
                    self.depth = self.depth.saturating_sub(1);
                    At::Text
                }
                (At::EndTag, _) => At::EndTag,
                (At::Markup { tail, kind }, b'>') if markup_ends(kind, tail) => At::Text,
                (At::Markup { tail, kind }, _) => At::Markup {
                    tail: [tail[1], b],
                    kind,
                },
            };
        }
        true
    }
}

/// Whether a `>` closes the markup: `?>` for a processing instruction, `-->` for a comment,
/// `]]>` for CDATA, any `>` for another declaration (a DOCTYPE's internal subset is not
/// followed; SpreadsheetML has none).
fn markup_ends(kind: u8, tail: [u8; 2]) -> bool {
    match kind {
        b'?' => tail[1] == b'?',
        b'-' => tail == [b'-', b'-'],
        b'[' => tail == [b']', b']'],
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deepest_allowed(xml: &str, max: usize) -> bool {
        Depth::new(max).feed(xml.as_bytes())
    }

    #[test]
    fn nesting_is_counted_across_self_closing_tags_and_attributes() {
        let xml = r#"<?xml version="1.0"?><a x="/>"><b/><b></b><c y='>'><d/></c></a>"#;
        assert!(deepest_allowed(xml, 3));
        assert!(!deepest_allowed(xml, 2));
    }

    #[test]
    fn comments_and_cdata_open_no_element() {
        let xml = "<a><!-- <b><c> --><![CDATA[<d><e>]]></a>";
        assert!(deepest_allowed(xml, 1));
    }

    #[test]
    fn depth_is_tracked_across_chunks() {
        let mut depth = Depth::new(2);
        assert!(depth.feed(b"<a><"));
        assert!(depth.feed(b"b"));
        assert!(!depth.feed(b"></b><b><c"));
    }
}
