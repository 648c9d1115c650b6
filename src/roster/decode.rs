//! Turning CSV bytes into a grid of cells, whatever encoding and separator they use.
//!
//! Detection, not a question to the operator: a UTF-8 BOM, or bytes that are valid UTF-8,
//! mean UTF-8; a UTF-16 BOM means Excel's "Unicode text"; anything else is read as GB18030,
//! the superset of the GBK that Excel on Chinese Windows writes. (Valid UTF-8 is almost never
//! valid GBK Chinese text and vice versa, so the order is safe.)

use encoding_rs::{Encoding, GB18030, UTF_8};

use super::{Cell, RosterError};

/// The encoding of `bytes` and how many BOM bytes to skip (UTF-8 and UTF-16 BOMs).
pub fn detect(bytes: &[u8]) -> (&'static Encoding, usize) {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return (enc, bom);
    }
    if std::str::from_utf8(bytes).is_ok() {
        (UTF_8, 0)
    } else {
        (GB18030, 0)
    }
}

/// Decodes to text. Malformed sequences become U+FFFD, which validation then names.
pub fn decode(bytes: &[u8]) -> String {
    let (enc, bom) = detect(bytes);
    let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
    text.into_owned()
}

/// The separator: whichever of comma, tab and semicolon is most common in the first lines.
fn sniff_delimiter(text: &str) -> u8 {
    let head: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|&d| head.bytes().filter(|&b| b == d).count())
        .unwrap_or(b',')
}

pub fn csv_grid(bytes: &[u8]) -> Result<Vec<Vec<Cell>>, RosterError> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| RosterError::Spreadsheet(e.to_string()))?;
        grid.push(
            record
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(c.to_string())
                    }
                })
                .collect(),
        );
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom_gbk_and_utf16() {
        let text = "姓名,身份证号\n葛婷婷,11010519491231002X\n";
        let (gbk, _, _) = GB18030.encode(text);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        for bytes in [text.as_bytes().to_vec(), bom, gbk.into_owned(), utf16] {
            let grid = csv_grid(&bytes).unwrap();
            assert_eq!(grid[1][0], Cell::Text("葛婷婷".into()));
            assert_eq!(grid[0][0], Cell::Text("姓名".into()));
        }
    }

    #[test]
    fn tab_separated() {
        let grid = csv_grid("姓名\t身份证号\n张三\t1\n".as_bytes()).unwrap();
        assert_eq!(grid[1][1], Cell::Text("1".into()));
    }
}
