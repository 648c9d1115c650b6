//! The slip as ESC/POS bytes for 58 mm (384 dots) and 80 mm (576 dots) thermal printers.
//!
//! Hand-written on purpose: the handful of commands below is all a slip needs, and they are
//! spelled out in every printer's manual (Epson's ESC/POS reference; the Chinese clones of
//! Xprinter, HPRT, GPrinter follow it). Chinese text is GB18030 in the printer's Chinese
//! character mode (FS &), four-byte sequences included (𠮷). The QR code is the printer's
//! own (GS ( k, model 2, ECC M) or, for printers without it, a raster image (GS v 0).
//!
//! [`reader`] parses these bytes back; tests use it to check what a printer would receive.

use unicode_width::UnicodeWidthStr;

use super::Slip;
use crate::card::qr::{QUIET_ZONE, QrMatrix};
use crate::config::{Paper, QrMode};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;
const LF: u8 = 0x0A;

/// Printer output settings.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub paper: Paper,
    pub qr_mode: QrMode,
}

/// Characters per line in the default 12×24 font, counting a Chinese character as two.
fn columns(paper: Paper) -> usize {
    match paper {
        Paper::Mm58 => 32,
        Paper::Mm80 => 48,
    }
}

/// GB18030 bytes of text. Anything unprintable was replaced before (see [`Slip`]); control
/// characters are dropped here again so no command can be smuggled into the stream.
pub fn gb18030(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    let (bytes, _, _) = encoding_rs::GB18030.encode(&clean);
    bytes.into_owned()
}

/// Wraps to the paper's width (display columns: CJK characters are two wide), by the
/// slip's line-breaking rules ([`super::lines`]).
fn wrap(text: &str, cols: usize) -> Vec<String> {
    super::lines::break_lines(text, cols as f32, |s| s.width() as f32)
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn cmd(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn align_centre(&mut self, centre: bool) {
        self.cmd(&[ESC, b'a', u8::from(centre)]);
    }

    /// GS ! : width and height multipliers 1–8.
    fn size(&mut self, w: u8, h: u8) {
        self.cmd(&[GS, b'!', ((w - 1) << 4) | (h - 1)]);
    }

    fn text_lines(&mut self, text: &str, cols: usize) {
        for line in wrap(text, cols) {
            self.out.extend(gb18030(&line));
            self.out.push(LF);
        }
    }

    fn native_qr(&mut self, payload: &str, paper: Paper) {
        // Module size in dots: 6 fills about 300 of 384 dots for a version-6 symbol.
        let module = match paper {
            Paper::Mm58 => 6,
            Paper::Mm80 => 8,
        };
        self.cmd(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]); // fn 165: model 2
        self.cmd(&[GS, b'(', b'k', 3, 0, 49, 67, module]); // fn 167: module size
        self.cmd(&[GS, b'(', b'k', 3, 0, 49, 69, 49]); // fn 169: error correction M
        let len = payload.len() + 3;
        self.cmd(&[
            GS,
            b'(',
            b'k',
            (len & 0xFF) as u8,
            (len >> 8) as u8,
            49,
            80,
            48,
        ]); // fn 180
        self.cmd(payload.as_bytes());
        self.cmd(&[GS, b'(', b'k', 3, 0, 49, 81, 48]); // fn 181: print
        self.out.push(LF);
    }

    fn raster_qr(&mut self, qr: &QrMatrix, paper: Paper) {
        let modules = qr.width + 2 * QUIET_ZONE;
        let module = (paper.dots() as usize * 4 / 5 / modules).max(1);
        let px = modules * module;
        let row_bytes = px.div_ceil(8);
        self.cmd(&[
            GS,
            b'v',
            b'0',
            0,
            (row_bytes & 0xFF) as u8,
            (row_bytes >> 8) as u8,
            (px & 0xFF) as u8,
            (px >> 8) as u8,
        ]);
        for y in 0..px {
            let my = (y / module) as isize - QUIET_ZONE as isize;
            let mut row = vec![0u8; row_bytes];
            for x in 0..px {
                let mx = (x / module) as isize - QUIET_ZONE as isize;
                if qr.dark(mx, my) {
                    row[x / 8] |= 0x80 >> (x % 8);
                }
            }
            self.cmd(&row);
        }
        self.out.push(LF);
    }
}

/// The whole slip: initialise, title, name, number, date, QR, how-to line, feed, cut.
pub fn slip_bytes(slip: &Slip, opts: Options) -> Vec<u8> {
    let cols = columns(opts.paper);
    let mut w = Writer {
        out: Vec::with_capacity(4096),
    };
    w.cmd(&[ESC, b'@']); // initialise
    w.cmd(&[FS, b'&']); // Chinese character mode (GB18030 on Chinese printers)
    w.align_centre(true);
    w.size(2, 2);
    w.text_lines(&slip.union, cols / 2);
    w.size(1, 1);
    w.text_lines(&slip.title, cols);
    w.out.push(LF);
    w.align_centre(false);
    w.text_lines(&slip.name_line, cols);
    w.text_lines(slip.member_no_label_colon().trim_end(), cols);
    w.align_centre(true);
    w.size(1, 2);
    w.text_lines(&slip.member_no, cols);
    w.size(1, 1);
    w.align_centre(false);
    w.text_lines(&slip.date_line, cols);
    w.align_centre(true);
    match opts.qr_mode {
        QrMode::Native => w.native_qr(&slip.payload, opts.paper),
        QrMode::Raster => w.raster_qr(&slip.qr, opts.paper),
    }
    w.text_lines(&slip.how_to, cols);
    w.align_centre(false);
    w.cmd(&[ESC, b'd', 4]); // feed past the cutter
    w.cmd(&[GS, b'V', 66, 0]); // partial cut
    w.out
}

/// A reader of the commands [`slip_bytes`] emits: what a printer would do with the bytes.
pub mod reader {
    use super::{ESC, FS, GS, LF};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Op {
        Init,
        ChineseMode,
        Align(u8),
        Size(u8),
        /// A line of text, decoded from GB18030 (and its raw bytes).
        Text(String, Vec<u8>),
        QrModel(u8),
        QrModuleSize(u8),
        QrEcc(u8),
        QrStore(Vec<u8>),
        QrPrint,
        /// Raster image: bytes per row, rows, bits.
        Raster {
            row_bytes: usize,
            rows: usize,
            bits: Vec<u8>,
        },
        Feed(u8),
        Cut(u8),
    }

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("unknown or truncated command at byte {0}")]
    pub struct ParseError(pub usize);

    pub fn parse(b: &[u8]) -> Result<Vec<Op>, ParseError> {
        let mut ops = Vec::new();
        let mut i = 0;
        let need = |i: usize, n: usize| {
            if i + n <= b.len() {
                Ok(())
            } else {
                Err(ParseError(i))
            }
        };
        while i < b.len() {
            match b[i] {
                ESC => {
                    need(i, 2)?;
                    match b[i + 1] {
                        b'@' => {
                            ops.push(Op::Init);
                            i += 2;
                        }
                        b'a' => {
                            need(i, 3)?;
                            ops.push(Op::Align(b[i + 2]));
                            i += 3;
                        }
                        b'd' => {
                            need(i, 3)?;
                            ops.push(Op::Feed(b[i + 2]));
                            i += 3;
                        }
                        _ => return Err(ParseError(i)),
                    }
                }
                FS => {
                    need(i, 2)?;
                    if b[i + 1] != b'&' {
                        return Err(ParseError(i));
                    }
                    ops.push(Op::ChineseMode);
                    i += 2;
                }
                GS => {
                    need(i, 2)?;
                    match b[i + 1] {
                        b'!' => {
                            need(i, 3)?;
                            ops.push(Op::Size(b[i + 2]));
                            i += 3;
                        }
                        b'V' => {
                            need(i, 4)?;
                            ops.push(Op::Cut(b[i + 2]));
                            i += 4;
                        }
                        b'(' => {
                            need(i, 8)?;
                            if b[i + 2] != b'k' {
                                return Err(ParseError(i));
                            }
                            let len = b[i + 3] as usize | (b[i + 4] as usize) << 8;
                            need(i + 5, len)?;
                            let args = &b[i + 5..i + 5 + len];
                            if args.len() < 3 || args[0] != 49 {
                                return Err(ParseError(i));
                            }
                            ops.push(match args[1] {
                                65 => Op::QrModel(args[2]),
                                67 => Op::QrModuleSize(args[2]),
                                69 => Op::QrEcc(args[2]),
                                80 => Op::QrStore(args[3..].to_vec()),
                                81 => Op::QrPrint,
                                _ => return Err(ParseError(i)),
                            });
                            i += 5 + len;
                        }
                        b'v' => {
                            need(i, 8)?;
                            let row_bytes = b[i + 4] as usize | (b[i + 5] as usize) << 8;
                            let rows = b[i + 6] as usize | (b[i + 7] as usize) << 8;
                            need(i + 8, row_bytes * rows)?;
                            ops.push(Op::Raster {
                                row_bytes,
                                rows,
                                bits: b[i + 8..i + 8 + row_bytes * rows].to_vec(),
                            });
                            i += 8 + row_bytes * rows;
                        }
                        _ => return Err(ParseError(i)),
                    }
                }
                LF => {
                    i += 1;
                }
                _ => {
                    let end = b[i..]
                        .iter()
                        .position(|&c| c == LF)
                        .map_or(b.len(), |p| i + p);
                    let raw = b[i..end].to_vec();
                    if raw.iter().any(|&c| c < 0x20) {
                        return Err(ParseError(i));
                    }
                    let (text, _, _) = encoding_rs::GB18030.decode(&raw);
                    ops.push(Op::Text(text.into_owned(), raw));
                    i = end;
                }
            }
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_covers_rare_characters_and_the_middle_dot() {
        assert_eq!(gb18030("𠮷"), vec![0x95, 0x34, 0xB2, 0x35]);
        assert_eq!(gb18030("·"), vec![0xA1, 0xA4]);
        assert_eq!(gb18030("中"), vec![0xD6, 0xD0]);
        assert_eq!(gb18030("a\u{1b}b"), b"ab".to_vec());
    }

    #[test]
    fn wrapping_counts_cjk_as_two_columns() {
        let lines = wrap("北京市朝阳区望京街道总工会联合会", 16);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].chars().count(), 8);
    }
}
