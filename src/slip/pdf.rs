//! Card sheets for a print shop: A4 pages of ten wallet-size cards (85.6 × 54 mm, ISO/IEC 7810
//! ID-1) with crop marks, as PDF.
//!
//! Decision (see README): the PDF is written object by object straight to the file with
//! `pdf-writer`, one page at a time, so memory stays bounded for any number of cards (what is
//! kept is an offset per object, a reference per page and, per font, the glyphs used). The
//! fonts are the slip's ([`super::font`], with its per-character fallback), embedded at the
//! end as subsets (`subsetter`) of the glyphs the cards used, as CID fonts with a ToUnicode
//! map so the text can be searched and copied.
//!
//! Each card: the union, the title, the name, the member number, the date and the how-to line
//! on the left, the QR code on the right, 26 mm wide with its 4-module quiet zone kept clear.
//! A text that takes more than one line is broken into lines of even length ([`card_lines`]):
//! never one or two characters alone on a line, never the union's `总工会`/`工会` split.

use std::collections::BTreeMap;
use std::io::Write;

use ab_glyph::Font as _;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str};
use subsetter::GlyphRemapper;

use super::Slip;
use super::font::{Coverage, Face, Fonts, Glyph};
use super::lines::break_lines;
use crate::card::qr::QUIET_ZONE;

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
pub const CARD_W: f32 = 85.6;
pub const CARD_H: f32 = 54.0;
const COLUMNS: usize = 2;
const ROWS: usize = 5;
/// Cards per A4 page.
pub const PER_PAGE: usize = COLUMNS * ROWS;
/// The QR symbol's least width without its quiet zone.
pub const QR_MM: f32 = 25.0;
/// A QR module: 1/40 inch, a whole number of pixels at 200, 400 and 600 dpi, with the code's
/// corner on the same grid. Renderers then draw crisp modules with no grey seams; zbar, reading
/// a page of ten codes, missed about one in 600 when modules fell between pixels. A version-6
/// code (41 modules) is 26.0 mm wide.
pub const MODULE_MM: f32 = 25.4 / 40.0;
/// Space kept free inside a card's edge, for the cutter's tolerance.
const INSET: f32 = 3.5;

/// Left and top of the grid of cards on the page (cards abut: one cut between two).
fn grid_origin() -> (f32, f32) {
    (
        (PAGE_W - COLUMNS as f32 * CARD_W) / 2.0,
        (PAGE_H - ROWS as f32 * CARD_H) / 2.0,
    )
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("cannot write the PDF: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot embed font {0}: {1}")]
    Font(String, String),
    #[error("no font found on this machine for the card text")]
    NoFont,
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SheetSummary {
    pub cards: usize,
    pub pages: usize,
    /// Characters no font had (drawn as "?").
    pub coverage: Coverage,
}

/// The file being written: bytes out, and where each object starts (for the xref table).
struct Out<W: Write> {
    w: W,
    pos: u64,
    offsets: Vec<u64>,
    next: i32,
}

impl<W: Write> Out<W> {
    fn reserve(&mut self) -> Ref {
        let r = Ref::new(self.next);
        self.next += 1;
        r
    }

    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.w.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes a chunk holding the one object `id`.
    fn object(&mut self, id: Ref, chunk: &Chunk) -> std::io::Result<()> {
        let i = id.get() as usize;
        if self.offsets.len() <= i {
            self.offsets.resize(i + 1, 0);
        }
        self.offsets[i] = self.pos;
        self.raw(chunk.as_bytes())
    }

    fn finish(mut self, root: Ref, info: Ref) -> std::io::Result<W> {
        let start = self.pos;
        let count = self.next as usize;
        self.offsets.resize(count, 0);
        let mut xref = format!("xref\n0 {count}\n0000000000 65535 f\r\n");
        for off in &self.offsets[1..] {
            xref.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {count} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{start}\n%%EOF\n",
            root.get(),
            info.get()
        ));
        self.raw(xref.as_bytes())?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// A face used on the sheets: its PDF objects and the glyphs used so far, renumbered from 1
/// in order of first use (the subset's glyph ids, which the content streams already name).
struct UsedFont {
    face: &'static Face,
    font_ref: Ref,
    remapper: GlyphRemapper,
    /// Width of each new glyph id, per 1000 units of the em.
    widths: Vec<f32>,
    unicode: BTreeMap<u16, char>,
}

impl UsedFont {
    fn glyph(&mut self, g: &Glyph) -> u16 {
        let new = self.remapper.remap(g.id.0);
        if new as usize >= self.widths.len() {
            let w = self.face.font.h_advance_unscaled(g.id) / self.face.units_per_em() * 1000.0;
            self.widths.resize(new as usize + 1, 0.0);
            self.widths[new as usize] = w;
        }
        self.unicode.entry(new).or_insert(g.ch);
        new
    }
}

/// Writes the sheets of `cards` (`total` of them, for progress) to `out`, page by page, calling
/// `progress(done, total)` after each card.
pub fn write_cards<W: Write, E: From<PdfError>>(
    cards: impl IntoIterator<Item = Result<Slip, E>>,
    total: usize,
    fonts: &Fonts,
    out: W,
    mut progress: impl FnMut(usize, usize),
) -> Result<(W, SheetSummary), E> {
    let mut out = Out {
        w: out,
        pos: 0,
        offsets: vec![0],
        next: 1,
    };
    out.raw(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
        .map_err(PdfError::from)?;
    let catalog = out.reserve();
    let pages_ref = out.reserve();
    let resources = out.reserve();
    let info = out.reserve();
    let mut sheet = Sheet {
        fonts,
        used: BTreeMap::new(),
        coverage: Coverage::Complete,
    };
    let mut page_refs = Vec::new();
    let mut on_page: Vec<Slip> = Vec::with_capacity(PER_PAGE);
    let mut done = 0;
    let flush = |out: &mut Out<W>,
                 sheet: &mut Sheet,
                 cards: &mut Vec<Slip>,
                 page_refs: &mut Vec<Ref>|
     -> Result<(), PdfError> {
        if cards.is_empty() {
            return Ok(());
        }
        let content = sheet.page(cards, out)?;
        let page = out.reserve();
        let content_ref = out.reserve();
        // the fastest level: half the time of the default, pages barely larger
        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 1);
        let mut c = Chunk::new();
        c.stream(content_ref, &compressed)
            .filter(Filter::FlateDecode);
        out.object(content_ref, &c)?;
        let mut c = Chunk::new();
        let mut p = c.page(page);
        p.parent(pages_ref)
            .media_box(Rect::new(0.0, 0.0, PAGE_W * MM, PAGE_H * MM))
            .contents(content_ref);
        p.pair(Name(b"Resources"), resources);
        p.finish();
        out.object(page, &c)?;
        page_refs.push(page);
        cards.clear();
        Ok(())
    };
    for card in cards {
        on_page.push(card?);
        done += 1;
        if on_page.len() == PER_PAGE {
            flush(&mut out, &mut sheet, &mut on_page, &mut page_refs)?;
        }
        progress(done, total.max(done));
    }
    flush(&mut out, &mut sheet, &mut on_page, &mut page_refs)?;

    // The fonts, subset to the glyphs used, and what every page shares.
    let mut font_dict = Chunk::new();
    {
        let mut res = font_dict.indirect(resources).dict();
        let mut f = res.insert(Name(b"Font")).dict();
        for (id, used) in &sheet.used {
            f.pair(Name(format!("F{id}").as_bytes()), used.font_ref);
        }
    }
    out.object(resources, &font_dict).map_err(PdfError::from)?;
    let used: Vec<UsedFont> = std::mem::take(&mut sheet.used).into_values().collect();
    for font in used {
        embed_font(&mut out, font)?;
    }
    let pages = page_refs.len();
    let mut c = Chunk::new();
    c.pages(pages_ref)
        .kids(page_refs.iter().copied())
        .count(pages as i32);
    out.object(pages_ref, &c).map_err(PdfError::from)?;
    let mut c = Chunk::new();
    c.indirect(catalog)
        .start::<pdf_writer::writers::Catalog>()
        .pages(pages_ref);
    out.object(catalog, &c).map_err(PdfError::from)?;
    let mut c = Chunk::new();
    c.indirect(info)
        .start::<pdf_writer::writers::DocumentInfo>()
        .producer(pdf_writer::TextStr("booth"))
        .title(pdf_writer::TextStr("Membership cards"));
    out.object(info, &c).map_err(PdfError::from)?;
    let w = out.finish(catalog, info).map_err(PdfError::from)?;
    Ok((
        w,
        SheetSummary {
            cards: done,
            pages,
            coverage: sheet.coverage,
        },
    ))
}

/// The state kept across pages: the fonts used and what had no glyph.
struct Sheet<'f> {
    fonts: &'f Fonts,
    used: BTreeMap<usize, UsedFont>,
    coverage: Coverage,
}

impl Sheet<'_> {
    /// The content stream of one page of up to ten cards.
    fn page<W: Write>(&mut self, cards: &[Slip], out: &mut Out<W>) -> Result<Vec<u8>, PdfError> {
        let mut c = Content::new();
        crop_marks(&mut c);
        let (gx, gy) = grid_origin();
        for (i, slip) in cards.iter().enumerate() {
            let left = gx + (i % COLUMNS) as f32 * CARD_W;
            let top = gy + (i / COLUMNS) as f32 * CARD_H;
            self.card(&mut c, slip, left, top, out)?;
        }
        Ok(c.finish().to_vec())
    }

    fn card<W: Write>(
        &mut self,
        c: &mut Content,
        slip: &Slip,
        left: f32,
        top: f32,
        out: &mut Out<W>,
    ) -> Result<(), PdfError> {
        // QR on the right, its quiet zone inside the card; modules and corner on the
        // 1/40-inch grid (see MODULE_MM).
        let modules = slip.qr.width as f32;
        let module = MODULE_MM.max(QR_MM / modules);
        let quiet = QUIET_ZONE as f32 * module;
        let snap = |mm: f32| (mm / MODULE_MM).floor() * MODULE_MM;
        let qr_left = snap(left + CARD_W - INSET - quiet - module * modules);
        // the grid of PDF space, whose origin is the page's bottom edge
        let qr_top = PAGE_H - snap(PAGE_H - (top + (CARD_H - module * modules) / 2.0));
        draw_qr(c, slip, qr_left, qr_top, module);

        // Text on the left, up to the QR's quiet zone.
        let text_left = left + INSET + 1.0;
        let text_w = qr_left - quiet - text_left;
        let mut y = top + INSET + 1.0;
        // `union`: the union's name, broken between its divisions only
        let mut line = |this: &mut Self, c: &mut Content, (text, union): (&str, bool), pt, gap| {
            let lines = card_lines(text, text_w * MM, |s| this.fonts.width(s, pt), union);
            for l in lines {
                y += pt / MM * 1.05;
                this.text(c, &l, pt, text_left, y, out)?;
                y += pt / MM * 0.3;
            }
            y += gap;
            Ok::<(), PdfError>(())
        };
        line(self, c, (&slip.union, true), 10.5, 0.6)?;
        line(self, c, (&slip.title, false), 7.0, 2.2)?;
        line(self, c, (&slip.name_line, false), 11.0, 1.2)?;
        line(self, c, (&slip.member_no_label_colon(), false), 7.5, 0.0)?;
        line(self, c, (&slip.member_no, false), 11.0, 1.2)?;
        line(self, c, (&slip.date_line, false), 7.5, 0.0)?;
        // the how-to line at the bottom, as many lines as it takes
        let how = card_lines(
            &slip.how_to,
            text_w * MM,
            |s| self.fonts.width(s, 5.5),
            false,
        );
        let mut y = top + CARD_H - INSET - 0.5 - (how.len() as f32 - 1.0) * 5.5 / MM * 1.3;
        for l in how {
            self.text(c, &l, 5.5, text_left, y, out)?;
            y += 5.5 / MM * 1.3;
        }
        Ok(())
    }

    /// One line of text, baseline at (`x`, `baseline`) mm from the page's top left.
    fn text<W: Write>(
        &mut self,
        c: &mut Content,
        text: &str,
        pt: f32,
        x: f32,
        baseline: f32,
        out: &mut Out<W>,
    ) -> Result<(), PdfError> {
        let glyphs = self.fonts.shape(text, &mut self.coverage);
        if glyphs.is_empty() {
            return Ok(());
        }
        c.begin_text();
        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x * MM, (PAGE_H - baseline) * MM]);
        // one run per face
        let mut i = 0;
        while i < glyphs.len() {
            let face = glyphs[i].face;
            let run_end = glyphs[i..]
                .iter()
                .position(|g| g.face.id != face.id)
                .map_or(glyphs.len(), |p| i + p);
            let used = self.used.entry(face.id).or_insert_with(|| UsedFont {
                face,
                font_ref: out.reserve(),
                remapper: GlyphRemapper::new(),
                widths: Vec::new(),
                unicode: BTreeMap::new(),
            });
            c.set_font(Name(format!("F{}", face.id).as_bytes()), pt);
            let mut items = c.show_positioned();
            let mut items = items.items();
            for g in &glyphs[i..run_end] {
                let new = used.glyph(g);
                let shift = g.shift_em() * 1000.0;
                if shift != 0.0 {
                    items.adjust(shift);
                }
                items.show(Str(&new.to_be_bytes()));
                if g.narrow {
                    let w = used.widths[new as usize];
                    items.adjust(w - shift - g.advance_em() * 1000.0);
                }
            }
            drop(items);
            i = run_end;
        }
        c.end_text();
        Ok(())
    }
}

/// The word joiner (U+2060): no line break on either side of it (UAX #14), nothing drawn.
const JOIN: char = '\u{2060}';

/// The endings of a union's name that are one word: `北京市朝阳区望京街道总工会` may break after
/// 街道, never inside 总工会.
const UNION_WORDS: [&str; 5] = ["工会委员会", "工会联合会", "总工会", "工会", "委员会"];

/// Where a union's name may break: after the level of an administrative division (北京市 /
/// 朝阳区 / 望京街道 / 总工会), not inside a place's name.
fn ends_division(unit: &str) -> bool {
    ["省", "市", "区", "县", "旗", "盟", "州", "镇", "乡", "街道"]
        .iter()
        .any(|s| unit.ends_with(s))
}

/// A union's name with word joiners inside each of its divisions: it breaks only between them.
fn join_divisions(text: &str) -> String {
    let mut out = String::new();
    let mut unit = String::new();
    for c in text.chars() {
        if !unit.is_empty() && !c.is_whitespace() && !unit.ends_with(char::is_whitespace) {
            out.push(JOIN);
        }
        out.push(c);
        unit.push(c);
        if ends_division(&unit) || c.is_whitespace() {
            unit.clear();
        }
    }
    // a division's joiner is only between its own characters
    out.replace(&format!("{JOIN} "), " ")
}

/// `text` with word joiners inside the union words it contains.
fn join_words(text: &str) -> String {
    let mut out = text.to_string();
    for w in UNION_WORDS {
        let joined: String = w
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0).then_some(JOIN).into_iter().chain([c]))
            .collect();
        // a longer word already joined contains the shorter one's characters joined too
        out = out.replace(w, &joined);
    }
    out
}

/// The card's lines of `text`, at most `max` wide as `width` measures: as few lines as the
/// line breaker needs at full width, then as even as they can be (the narrowest width that
/// still needs no more lines), so the last line is never one or two characters left over; the
/// union's words are kept whole.
fn card_lines(text: &str, max: f32, width: impl Fn(&str) -> f32, union: bool) -> Vec<String> {
    let joined = if union {
        join_divisions(text)
    } else {
        join_words(text)
    };
    let measure = |s: &str| width(&s.replace(JOIN, ""));
    let at = |w: f32| -> Vec<String> {
        break_lines(&joined, w, measure)
            .into_iter()
            .map(|l| l.replace(JOIN, ""))
            .collect()
    };
    let lines = at(max);
    if lines.len() < 2 {
        return lines;
    }
    // binary search for the narrowest width with as few lines
    let (mut lo, mut hi) = (max / lines.len() as f32, max);
    for _ in 0..16 {
        let mid = (lo + hi) / 2.0;
        if at(mid).len() <= lines.len() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    at(hi)
}

/// Dark modules as rectangles, one per run of a row, filled at once.
fn draw_qr(c: &mut Content, slip: &Slip, left: f32, top: f32, module: f32) {
    let w = slip.qr.width;
    c.set_fill_gray(0.0);
    for y in 0..w {
        let mut x = 0;
        while x < w {
            if !slip.qr.dark(x as isize, y as isize) {
                x += 1;
                continue;
            }
            let start = x;
            while x < w && slip.qr.dark(x as isize, y as isize) {
                x += 1;
            }
            let x0 = left + start as f32 * module;
            let x1 = left + x as f32 * module;
            let y0 = top + y as f32 * module;
            let y1 = top + (y + 1) as f32 * module;
            c.rect(x0 * MM, (PAGE_H - y1) * MM, (x1 - x0) * MM, (y1 - y0) * MM);
        }
    }
    c.fill_nonzero();
}

/// Marks in the page margin on every cut line, stopping short of the cards.
fn crop_marks(c: &mut Content) {
    let (gx, gy) = grid_origin();
    let (gx2, gy2) = (gx + COLUMNS as f32 * CARD_W, gy + ROWS as f32 * CARD_H);
    let (gap, len) = (2.0, 6.0);
    c.set_line_width(0.25);
    c.set_stroke_gray(0.0);
    let mut line = |x1: f32, y1: f32, x2: f32, y2: f32| {
        c.move_to(x1 * MM, (PAGE_H - y1) * MM);
        c.line_to(x2 * MM, (PAGE_H - y2) * MM);
    };
    for k in 0..=COLUMNS {
        let x = gx + k as f32 * CARD_W;
        line(x, gy - gap - len, x, gy - gap);
        line(x, gy2 + gap, x, gy2 + gap + len);
    }
    for k in 0..=ROWS {
        let y = gy + k as f32 * CARD_H;
        line(gx - gap - len, y, gx - gap, y);
        line(gx2 + gap, y, gx2 + gap + len, y);
    }
    c.stroke();
}

/// A subset tag from the face and the glyphs used (six capital letters, as PDF asks).
fn subset_tag(font: &UsedFont) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in font
        .face
        .name
        .bytes()
        .chain(font.remapper.remapped_gids().flat_map(u16::to_be_bytes))
    {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    (0..6)
        .map(|i| (b'A' + ((h >> (i * 5)) % 26) as u8) as char)
        .collect()
}

/// Writes a used face as a Type 0 font with a CID font of its glyph subset.
fn embed_font<W: Write>(out: &mut Out<W>, font: UsedFont) -> Result<(), PdfError> {
    let err = |e: String| PdfError::Font(font.face.name.clone(), e);
    let raw = ttf_parser::RawFace::parse(font.face.data, font.face.index)
        .map_err(|e| err(e.to_string()))?;
    let is_cff = raw.table(ttf_parser::Tag::from_bytes(b"CFF ")).is_some();
    let subset = subsetter::subset(font.face.data, font.face.index, &font.remapper)
        .map_err(|e| err(format!("{e:?}")))?;
    let program: Vec<u8> = if is_cff {
        // a CFF-based OpenType font embeds its bare CFF program (FontFile3 / CIDFontType0C)
        ttf_parser::RawFace::parse(&subset, 0)
            .ok()
            .and_then(|f| f.table(ttf_parser::Tag::from_bytes(b"CFF ")))
            .ok_or_else(|| err("no CFF table in the subset".into()))?
            .to_vec()
    } else {
        subset
    };
    let parsed =
        ttf_parser::Face::parse(font.face.data, font.face.index).map_err(|e| err(e.to_string()))?;
    let upem = parsed.units_per_em() as f32;
    let to_pdf = |v: f32| v / upem * 1000.0;
    let ps_name: String = parsed
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .and_then(|n| n.to_string())
        .unwrap_or_else(|| font.face.name.clone())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(60)
        .collect();
    let base = format!("{}+{}", subset_tag(&font), ps_name);

    let cid_ref = out.reserve();
    let descriptor_ref = out.reserve();
    let cmap_ref = out.reserve();
    let file_ref = out.reserve();
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    let mut c = Chunk::new();
    c.type0_font(font.font_ref)
        .base_font(Name(
            if is_cff {
                format!("{base}-Identity-H")
            } else {
                base.clone()
            }
            .as_bytes(),
        ))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);
    out.object(font.font_ref, &c)?;

    let mut c = Chunk::new();
    let mut cid = c.cid_font(cid_ref);
    cid.subtype(if is_cff {
        CidFontType::Type0
    } else {
        CidFontType::Type2
    })
    .base_font(Name(base.as_bytes()))
    .system_info(system)
    .font_descriptor(descriptor_ref)
    .default_width(0.0);
    if !is_cff {
        cid.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    cid.widths().consecutive(0, font.widths.iter().copied());
    cid.finish();
    out.object(cid_ref, &c)?;

    let bbox = parsed.global_bounding_box();
    let ascent = to_pdf(parsed.ascender() as f32);
    let mut c = Chunk::new();
    let mut d = c.font_descriptor(descriptor_ref);
    d.name(Name(base.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            to_pdf(bbox.x_min as f32),
            to_pdf(bbox.y_min as f32),
            to_pdf(bbox.x_max as f32),
            to_pdf(bbox.y_max as f32),
        ))
        .italic_angle(0.0)
        .ascent(ascent)
        .descent(to_pdf(parsed.descender() as f32))
        .cap_height(parsed.capital_height().map_or(ascent, |h| to_pdf(h as f32)))
        .stem_v(80.0);
    if is_cff {
        d.font_file3(file_ref);
    } else {
        d.font_file2(file_ref);
    }
    d.finish();
    out.object(descriptor_ref, &c)?;

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
    for (&gid, &ch) in &font.unicode {
        cmap.pair(gid, ch);
    }
    let cmap = cmap.finish();
    let mut c = Chunk::new();
    c.cmap(cmap_ref, &cmap);
    out.object(cmap_ref, &c)?;

    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&program, 6);
    let mut c = Chunk::new();
    let mut s = c.stream(file_ref, &compressed);
    s.filter(Filter::FlateDecode);
    if is_cff {
        s.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    } else {
        s.pair(Name(b"Length1"), program.len() as i32);
    }
    s.finish();
    out.object(file_ref, &c)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Widths as a monospace font would have them: a Chinese character 2, anything else 1.
    fn cells(s: &str) -> f32 {
        unicode_width::UnicodeWidthStr::width(s) as f32
    }

    #[test]
    fn a_union_name_breaks_between_its_words_never_inside_zong_gong_hui() {
        let name = "北京市朝阳区望京街道总工会";
        for max in 10..26 {
            let lines = card_lines(name, max as f32, cells, true);
            assert_eq!(lines.concat(), name);
            let joined = lines.join("/");
            for bad in ["总/工会", "总工/会", "工/会"] {
                assert!(!joined.contains(bad), "{joined} at {max}");
            }
            for l in &lines {
                assert!(l.chars().count() >= 3, "{joined} at {max}: a line of {l}");
            }
        }
        assert_eq!(
            card_lines(name, 24.0, cells, true),
            ["北京市朝阳区", "望京街道总工会"],
            "two even lines between divisions, not 11 + 2"
        );
        assert_eq!(
            card_lines("朝阳区总工会", 40.0, cells, true),
            ["朝阳区总工会"]
        );
        // text that is not the union's keeps 总工会 whole too
        let lines = card_lines("北京市朝阳区总工会会员卡", 18.0, cells, false);
        assert!(!lines.join("/").contains("总/工会"), "{lines:?}");
    }

    #[test]
    fn no_line_of_one_or_two_characters_is_left_over() {
        let how = "扫码可查验会员身份，请妥善保管本卡";
        for max in 12..34 {
            let lines = card_lines(how, max as f32, cells, false);
            assert_eq!(lines.concat(), how);
            assert!(lines.iter().all(|l| cells(l) <= max as f32), "{lines:?}");
            if lines.len() > 1 {
                let last = lines.last().unwrap();
                assert!(last.chars().count() >= 3, "{lines:?} at {max}");
            }
        }
    }

    #[test]
    fn ten_cards_and_their_crop_marks_fit_on_a4() {
        let (gx, gy) = grid_origin();
        assert!(gx > 8.0 + 2.0 && gy > 8.0, "room for the marks: {gx} {gy}");
        // the QR and its quiet zone fit inside the card with the inset
        let module = MODULE_MM.max(QR_MM / 41.0);
        assert!(41.0 * module >= 25.0);
        let quiet = QUIET_ZONE as f32 * module;
        assert!(41.0 * module + 2.0 * quiet + INSET <= CARD_H);
    }
}
