//! Turning CSV bytes into rows of cells, whatever encoding and separator they use.
//!
//! Detection, not a question to the operator: a BOM decides (UTF-8, or UTF-16 as Excel's
//! "Unicode text" writes it); UTF-16 without a BOM shows as NUL bytes between ASCII letters;
//! bytes that are valid UTF-8 are UTF-8; anything else is guessed by chardetng with a hint that
//! the file is Chinese, which reads Excel-on-Chinese-Windows CSV as GB18030 (the superset of
//! GBK) and still recognises Big5 from Hong Kong and Taiwan offices.
//!
//! The separator is the one of `,` tab `;` under which a header row is found (or, failing
//! that, the most common one in the first lines).

use encoding_rs::{EUC_JP, EUC_KR, Encoding, GB18030, GBK, SHIFT_JIS, UTF_8, UTF_16BE, UTF_16LE};

use super::limits::{self, MAX_COLUMNS};
use super::{Cell, RosterError, columns};

/// How much of the file the encoding guess looks at.
const GUESS_BYTES: usize = 4 << 20;

/// The encoding of `bytes` and how many BOM bytes to skip.
pub fn detect(bytes: &[u8]) -> (&'static Encoding, usize) {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return (enc, bom);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return (enc, 0);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (UTF_8, 0);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let head = &bytes[..bytes.len().min(GUESS_BYTES)];
    detector.feed(head, head.len() == bytes.len());
    // No domain hint: "cn" would read Big5 from Hong Kong and Taiwan offices as GBK.
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    // GB18030 decodes everything GBK does, and the rarer characters GBK lacks; a Japanese or
    // Korean guess on a Chinese office's file is a misread GBK file.
    let chinese = if guess == GBK || [SHIFT_JIS, EUC_JP, EUC_KR].contains(&guess) {
        GB18030
    } else {
        guess
    };
    (chinese, 0)
}

/// UTF-16 text without a BOM: ASCII letters with a NUL byte beside each (in the first KB).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024) & !1];
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let nul_at = |odd: usize| head.chunks(2).filter(|p| p[odd] == 0).count();
    let (even, odd) = (nul_at(0), nul_at(1));
    if odd * 10 >= pairs * 3 && even == 0 {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 3 && odd == 0 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Decodes to text. Malformed sequences become U+FFFD, which validation then names.
pub fn decode(bytes: &[u8]) -> String {
    let (enc, bom) = detect(bytes);
    let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
    text.into_owned()
}

/// True when bytes look like text a person could have meant as a table (no NUL, few
/// controls): a ".xls" that is really tab-separated text, as some web systems export.
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let (enc, bom) = detect(head);
    if enc == UTF_16LE || enc == UTF_16BE {
        return true;
    }
    let head = &head[bom..];
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n' | 0x0c))
        .count();
    !head.is_empty() && controls * 100 <= head.len()
}

/// True when text is an HTML page (a ".xls" exported by a web system as a table page).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<')
        && (head.contains("<html") || head.contains("<table") || head.contains("<!doctype"))
}

fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

/// The separator under which one of the first rows is a header, the most columns winning;
/// else the most common separator in the first lines.
fn sniff_delimiter(text: &str) -> u8 {
    let candidates = [b',', b'\t', b';'];
    let found = candidates
        .into_iter()
        .filter_map(|d| {
            let best = reader(text, d)
                .records()
                .take(super::HEADER_SEARCH_ROWS)
                .map_while(Result::ok)
                .map(|r| {
                    let cells: Vec<String> =
                        r.iter().take(MAX_COLUMNS).map(str::to_string).collect();
                    columns::map_header(&cells)
                })
                .filter(|m| {
                    m.has(crate::member::Field::Name) && m.has(crate::member::Field::IdNumber)
                })
                .map(|m| m.columns.len())
                .max()?;
            Some((best, d))
        })
        .max_by_key(|&(n, d)| {
            (
                n,
                std::cmp::Reverse(candidates.iter().position(|&c| c == d)),
            )
        });
    if let Some((_, d)) = found {
        return d;
    }
    let head: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
    candidates
        .into_iter()
        .max_by_key(|&d| head.bytes().filter(|&b| b == d).count())
        .unwrap_or(b',')
}

/// Feeds every row of CSV bytes to `row` (its 0-based index and cells), stopping at the first
/// error `row` returns.
pub fn csv_rows(
    bytes: Vec<u8>,
    mut row: impl FnMut(usize, Vec<Cell>) -> Result<(), RosterError>,
) -> Result<(), RosterError> {
    limits::check_file_size(bytes.len() as u64)?;
    let text = decode(&bytes);
    drop(bytes);
    let mut reader = reader(&text, sniff_delimiter(&text));
    let mut record = csv::StringRecord::new();
    let mut index = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(RosterError::Spreadsheet(e.to_string())),
        }
        let cells = record
            .iter()
            .take(MAX_COLUMNS)
            .map(|c| {
                if c.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(limits::cap_cell(c).to_string())
                }
            })
            .collect();
        row(index, cells)?;
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(bytes: &[u8]) -> Vec<Vec<Cell>> {
        let mut g = Vec::new();
        csv_rows(bytes.to_vec(), |_, cells| {
            g.push(cells);
            Ok(())
        })
        .unwrap();
        g
    }

    #[test]
    fn utf8_with_and_without_bom_gbk_and_utf16() {
        let text = "姓名,身份证号\n葛婷婷,11010519491231002X\n";
        let (gbk, _, _) = GB18030.encode(text);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        let mut utf16_bare = Vec::new();
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
            utf16_bare.extend_from_slice(&u.to_le_bytes());
        }
        for bytes in [text.as_bytes().to_vec(), bom, gbk.into_owned(), utf16] {
            let grid = grid(&bytes);
            assert_eq!(grid[1][0], Cell::Text("葛婷婷".into()));
            assert_eq!(grid[0][0], Cell::Text("姓名".into()));
        }
        // UTF-16 without a BOM, mostly ASCII, is recognised by its NUL bytes
        let ascii =
            "name,id_number,phone,employer\nZhang San,11010519491231002X,13800138000,ACME\n";
        let mut bare = Vec::new();
        for u in ascii.encode_utf16() {
            bare.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(grid(&bare)[1][0], Cell::Text("Zhang San".into()));
    }

    #[test]
    fn big5_from_a_hong_kong_office() {
        let text = "姓名,身份證號碼,手機號碼,工作單位\n陳大文,H12345678,+852 91234567,香港某某物流有限公司\n".repeat(3);
        let (big5, _, unmappable) = encoding_rs::BIG5.encode(&text);
        assert!(!unmappable);
        let g = grid(&big5);
        assert_eq!(g[1][0], Cell::Text("陳大文".into()));
        assert_eq!(g[1][3], Cell::Text("香港某某物流有限公司".into()));
    }

    #[test]
    fn separators_are_sniffed() {
        let g = grid("姓名\t身份证号\n张三\t1\n".as_bytes());
        assert_eq!(g[1][1], Cell::Text("1".into()));
        // semicolons (European Excel), with commas inside an employer's name
        let g = grid("姓名;身份证号;手机号;工作单位\n张三;1;2;某公司,分部\n".as_bytes());
        assert_eq!(g[1][3], Cell::Text("某公司,分部".into()));
        // the header decides, not how many commas the data rows hold
        let g = grid("姓名\t身份证号\t工作单位\n张三\t1\t甲,乙,丙,丁,戊\n".as_bytes());
        assert_eq!(g[1][2], Cell::Text("甲,乙,丙,丁,戊".into()));
    }

    #[test]
    fn long_cells_are_cut_one_past_the_limit() {
        let long = "长".repeat(50_000);
        let g = grid(format!("姓名,备注\n张三,{long}\n").as_bytes());
        match &g[1][1] {
            Cell::Text(s) => assert_eq!(s.chars().count(), limits::MAX_CELL_CHARS + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_and_html_disguised_as_xls() {
        assert!(looks_like_text("姓名\t身份证号\n".as_bytes()));
        assert!(!looks_like_text(
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0"
        ));
        assert!(looks_like_html(
            b"<html><body><table><tr><td>x</td></tr></table>"
        ));
        assert!(!looks_like_html("姓名,身份证号".as_bytes()));
    }
}
