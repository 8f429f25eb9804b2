//! Text from the remote side made safe to print: control characters (C0, DEL, C1), bidirectional
//! overrides and other invisible format characters are written as `\u{..}` escapes (`\r`, `\n`
//! and `\t` as themselves escaped), backslashes are doubled, and the text is cut at a length cap.

/// The longest text kept from one remote field, in characters after escaping; longer text is
/// cut and ends in `...`.
pub const MAX_TEXT: usize = 512;

/// `text` with every character that could move a terminal's cursor, change its colours or
/// reorder what is shown replaced by an escape, cut so that at most [`MAX_TEXT`] characters
/// (plus `...`) come out.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT + 8));
    let mut shown = 0usize;
    for c in text.chars() {
        let piece = match c {
            '\\' => "\\\\".to_owned(),
            '\r' => "\\r".to_owned(),
            '\n' => "\\n".to_owned(),
            '\t' => "\\t".to_owned(),
            c if needs_escape(c) => format!("\\u{{{:x}}}", u32::from(c)),
            c => c.to_string(),
        };
        let len = piece.chars().count();
        if shown + len > MAX_TEXT {
            out.push_str("...");
            break;
        }
        shown += len;
        out.push_str(&piece);
    }
    out
}

/// `bytes` read as UTF-8 (invalid sequences become U+FFFD), then [`escape`]d.
pub fn escape_bytes(bytes: &[u8]) -> String {
    escape(&String::from_utf8_lossy(bytes))
}

/// Whether `c` must not reach a terminal raw: controls, and the invisible format characters that
/// reorder or hide text (bidirectional marks, embeddings, overrides and isolates, zero-width
/// characters, the BOM, interlinear annotations, tag characters).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}
