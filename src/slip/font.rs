//! Fonts for the PNG slip and the PDF card sheets, with a per-character fallback.
//!
//! Decision (see README): booth draws slips with the system's fonts rather than shipping one.
//! A font covering GB18030 — rare name characters like 𠮷 included — is 15–20 MB, more than
//! the whole program, while every laptop a union cadre uses already has one (Microsoft YaHei /
//! SimSun on Windows, PingFang on macOS, Noto Sans CJK, WenQuanYi or Droid Sans Fallback on
//! Linux). Several faces are kept — CJK faces first, then a Latin face — and each character is
//! drawn with the first face that has it; a character none of them has is looked up in every
//! other font found. A character no font has is drawn as "?" and reported ([`Coverage`]):
//! never a silent box. The `font` setting names a file to try first; `font_dir` replaces the
//! system's fonts with one folder's (a booth kit with its own fonts, and the tests).
//!
//! Font files are memory-mapped, not read: a 20 MB collection costs only the pages touched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};

use crate::i18n::Lang;
use crate::t;

/// CJK families tried first, in order: common CJK UI fonts on Linux, Windows and macOS.
const CJK: &[&str] = &[
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "SimSun",
    "SimSun-ExtB",
    "Droid Sans Fallback",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
];

/// Latin faces for the characters a CJK face lacks (Droid Sans Fallback has no digits).
const LATIN: &[&str] = &[
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Segoe UI",
    "Helvetica",
    "Nimbus Sans",
    "FreeSans",
];

/// Where fonts come from: the `font` and `font_dir` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FontSource {
    /// A file tried before any other.
    pub file: Option<PathBuf>,
    /// A folder whose fonts replace the system's.
    pub dir: Option<PathBuf>,
}

impl FontSource {
    /// The `font` and `font_dir` settings.
    pub fn of(config: &crate::config::Config) -> FontSource {
        FontSource {
            file: config.font.clone(),
            dir: config.font_dir.clone(),
        }
    }
}

/// One face of a font file, memory-mapped for the life of the process.
pub struct Face {
    /// Its place among the faces in use (stable: the PDF writer names its fonts by it).
    pub id: usize,
    pub name: String,
    pub data: &'static [u8],
    pub index: u32,
    pub font: FontRef<'static>,
}

impl Face {
    /// Units per em (PDF widths are per 1000 units of the em).
    pub fn units_per_em(&self) -> f32 {
        self.font.units_per_em().unwrap_or(1000.0)
    }

    /// The ab_glyph scale for a font size given in pixels per em, the same for every face:
    /// text mixing a CJK and a Latin face keeps one size.
    pub fn scale(&self, em_px: f32) -> PxScale {
        PxScale::from(em_px * self.font.height_unscaled() / self.units_per_em())
    }

    /// Advance of glyph `g` at `em_px` pixels per em.
    pub fn advance(&self, g: GlyphId, em_px: f32) -> f32 {
        self.font.as_scaled(self.scale(em_px)).h_advance(g)
    }

    /// Ascent at `em_px` pixels per em.
    pub fn ascent(&self, em_px: f32) -> f32 {
        self.font.as_scaled(self.scale(em_px)).ascent()
    }
}

/// A character laid out: the face that has it and its glyph there.
#[derive(Clone, Copy)]
pub struct Glyph {
    pub face: &'static Face,
    pub id: GlyphId,
    /// The character drawn ('?' for one no font has).
    pub ch: char,
    /// A full-width look-alike standing in for an ASCII character: set narrower, as the
    /// character it stands for.
    pub narrow: bool,
}

/// Side bearing of a narrowed full-width glyph, in ems.
const NARROW_BEARING: f32 = 0.06;

impl Glyph {
    /// Advance in ems.
    pub fn advance_em(&self) -> f32 {
        let upem = self.face.units_per_em();
        match self.narrow_ink() {
            Some((min, max)) => (max - min) / upem + 2.0 * NARROW_BEARING,
            None => self.face.font.h_advance_unscaled(self.id) / upem,
        }
    }

    /// How far left of the pen position the glyph is drawn, in ems: a narrowed glyph's ink
    /// starts one side bearing after the pen.
    pub fn shift_em(&self) -> f32 {
        match self.narrow_ink() {
            Some((min, _)) => min / self.face.units_per_em() - NARROW_BEARING,
            None => 0.0,
        }
    }

    pub fn advance(&self, em_px: f32) -> f32 {
        self.advance_em() * em_px
    }

    pub fn shift(&self, em_px: f32) -> f32 {
        self.shift_em() * em_px
    }

    /// The horizontal extent of a narrowed glyph's ink, in font units.
    fn narrow_ink(&self) -> Option<(f32, f32)> {
        if !self.narrow {
            return None;
        }
        let b = self.face.font.outline(self.id)?.bounds;
        Some((b.min.x, b.max.x))
    }
}

/// Whether every character of a slip or sheet had a glyph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Coverage {
    #[default]
    Complete,
    /// No font at all was found: images have the QR code only.
    NoFont,
    /// These characters are in no font on this machine; "?" stands in for them.
    Missing(BTreeSet<char>),
}

impl Coverage {
    pub fn add_missing(&mut self, c: char) {
        match self {
            Coverage::Complete => *self = Coverage::Missing(BTreeSet::from([c])),
            Coverage::Missing(set) => {
                set.insert(c);
            }
            Coverage::NoFont => {}
        }
    }

    pub fn merge(&mut self, other: &Coverage) {
        match other {
            Coverage::Complete => {}
            Coverage::NoFont => *self = Coverage::NoFont,
            Coverage::Missing(set) => set.iter().for_each(|&c| self.add_missing(c)),
        }
    }

    /// The warning for the operator, if any.
    pub fn note(&self, lang: Lang) -> Option<String> {
        match self {
            Coverage::Complete => None,
            Coverage::NoFont => Some(t!(lang, "print.font_missing").to_string()),
            Coverage::Missing(set) => {
                let chars = set
                    .iter()
                    .map(|c| format!("{c} (U+{:04X})", *c as u32))
                    .collect::<Vec<_>>()
                    .join(", ");
                Some(t!(lang, "slip.glyphs_missing", chars = chars))
            }
        }
    }
}

pub struct Fonts {
    /// The preferred faces, in the order tried.
    faces: Vec<&'static Face>,
    /// Every other face found, mapped only when a character needs it.
    others: Vec<(PathBuf, u32, String, OnceLock<Option<&'static Face>>)>,
    /// Which face has a character the preferred faces lack (`None`: no face has it).
    fallback: Mutex<std::collections::HashMap<char, Option<&'static Face>>>,
    next_id: Mutex<usize>,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FontError {
    #[error("no font found on this system; install one (e.g. fonts-noto-cjk) or set `font`")]
    NoneFound,
    #[error("cannot use font file {0}")]
    Unusable(PathBuf),
}

fn map_file(path: &Path) -> Option<&'static [u8]> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the mapping is read-only; font files are not modified while booth runs (a font
    // package upgrade replaces files by rename, leaving this mapping on the old inode).
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let leaked: &'static memmap2::Mmap = Box::leak(Box::new(map));
    Some(&leaked[..])
}

fn open_face(path: &Path, index: u32, name: String, id: usize) -> Option<&'static Face> {
    let data = map_file(path)?;
    let font = FontRef::try_from_slice_and_index(data, index).ok()?;
    Some(Box::leak(Box::new(Face {
        id,
        name,
        data,
        index,
        font,
    })))
}

/// True for characters drawn as nothing: spaces and format characters need no glyph.
fn invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

/// Characters that may stand in for `c` when no font has it.
fn alikes(c: char) -> Vec<char> {
    match c {
        // ASCII ! … ~ and their full-width forms U+FF01 … U+FF5E
        '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01)
            .into_iter()
            .collect(),
        '·' => vec!['・', '‧', '•'],
        _ => Vec::new(),
    }
}

impl Fonts {
    /// The fonts for slips and sheets, found once per process.
    pub fn get(source: &FontSource) -> Result<&'static Fonts, FontError> {
        static FONTS: OnceLock<Result<&'static Fonts, FontError>> = OnceLock::new();
        FONTS
            .get_or_init(|| Fonts::load(source).map(|f| &*Box::leak(Box::new(f))))
            .clone()
    }

    /// Finds the fonts `source` names (the system's unless a folder is given).
    pub fn load(source: &FontSource) -> Result<Fonts, FontError> {
        let mut faces: Vec<&'static Face> = Vec::new();
        if let Some(path) = &source.file {
            let face = open_face(path, 0, path.display().to_string(), 0)
                .ok_or_else(|| FontError::Unusable(path.clone()))?;
            faces.push(face);
        }
        let mut db = fontdb::Database::new();
        match &source.dir {
            Some(dir) => db.load_fonts_dir(dir),
            None => db.load_system_fonts(),
        }
        let regular = |f: &&fontdb::FaceInfo| {
            f.weight == fontdb::Weight::NORMAL && f.style == fontdb::Style::Normal
        };
        let path_of = |f: &fontdb::FaceInfo| match &f.source {
            fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => Some(p.clone()),
            fontdb::Source::Binary(_) => None,
        };
        let ranked = |list: &[&str], take: usize| -> Vec<(PathBuf, u32, String)> {
            let mut found: Vec<(usize, PathBuf, u32, String)> = db
                .faces()
                .filter(regular)
                .filter_map(|f| {
                    let rank = f
                        .families
                        .iter()
                        .find_map(|(name, _)| list.iter().position(|p| p == name))?;
                    Some((rank, path_of(f)?, f.index, list[rank].to_string()))
                })
                .collect();
            found.sort_by_key(|c| c.0);
            found.dedup_by_key(|c| c.0);
            found
                .into_iter()
                .take(take)
                .map(|(_, p, i, n)| (p, i, n))
                .collect()
        };
        let mut preferred = ranked(CJK, 4);
        preferred.extend(ranked(LATIN, 2));
        for (path, index, name) in &preferred {
            if let Some(face) = open_face(path, *index, name.clone(), faces.len()) {
                faces.push(face);
            }
        }
        let others = db
            .faces()
            .filter(regular)
            .filter_map(|f| {
                let path = path_of(f)?;
                let taken = preferred
                    .iter()
                    .any(|(p, i, _)| *p == path && *i == f.index)
                    || source.file.as_ref() == Some(&path);
                let name = f
                    .families
                    .first()
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default();
                (!taken).then(|| (path, f.index, name, OnceLock::new()))
            })
            .collect::<Vec<_>>();
        if faces.is_empty() && others.is_empty() {
            return Err(FontError::NoneFound);
        }
        let names = faces.iter().map(|f| f.name.clone()).collect();
        tracing::info!(fonts = ?names, others = others.len(), "slip fonts");
        Ok(Fonts {
            next_id: Mutex::new(faces.len()),
            faces,
            others,
            fallback: Mutex::default(),
            names,
        })
    }

    /// The face and glyph for `c`: the first preferred face that has it, else any other font
    /// found; `None` when no font on this machine has it.
    pub fn find(&self, c: char) -> Option<Glyph> {
        let has = |f: &'static Face| {
            let id = f.font.glyph_id(c);
            (id.0 != 0).then_some(Glyph {
                face: f,
                id,
                ch: c,
                narrow: false,
            })
        };
        if let Some(g) = self.faces.iter().find_map(|&f| has(f)) {
            return Some(g);
        }
        let mut cache = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = cache.get(&c) {
            return found.and_then(has);
        }
        let found = self.others.iter().find_map(|(path, index, name, slot)| {
            let face = slot.get_or_init(|| {
                let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
                let face = open_face(path, *index, name.clone(), *next);
                if face.is_some() {
                    *next += 1;
                }
                face
            });
            face.filter(|f| f.font.glyph_id(c).0 != 0)
        });
        cache.insert(c, found);
        found.and_then(has)
    }

    /// As [`Fonts::find`], falling back to a look-alike when no font has `c` itself: the
    /// full-width form of an ASCII character (Droid Sans Fallback, the only CJK font of many
    /// Linux laptops, has "０" but no "0"), or another middle dot for "·".
    pub fn find_or_alike(&self, c: char) -> Option<Glyph> {
        self.find(c).or_else(|| {
            alikes(c)
                .into_iter()
                .find_map(|a| self.find(a))
                .map(|g| Glyph {
                    ch: c,
                    narrow: c.is_ascii(),
                    ..g
                })
        })
    }

    /// Lays out `text` character by character. Characters no font has become "?" and are
    /// added to `coverage`; invisible ones (spaces) use any face's glyph for their advance.
    pub fn shape(&self, text: &str, coverage: &mut Coverage) -> Vec<Glyph> {
        text.chars()
            .filter_map(|c| {
                if let Some(g) = self.find_or_alike(c) {
                    return Some(g);
                }
                if invisible(c) {
                    // a space no face maps: the width of a plain space
                    return self.find(' ').or_else(|| self.find('\u{3000}'));
                }
                coverage.add_missing(c);
                self.find_or_alike('?').map(|g| Glyph { ch: '?', ..g })
            })
            .collect()
    }

    /// Width of `text` at `em_px` pixels per em.
    pub fn width(&self, text: &str, em_px: f32) -> f32 {
        self.shape(text, &mut Coverage::default())
            .iter()
            .map(|g| g.advance(em_px))
            .sum()
    }

    /// The face whose ascent sets the baseline: the first CJK (or any) face.
    pub fn primary(&self) -> Option<&'static Face> {
        self.find('中')
            .map(|g| g.face)
            .or_else(|| self.faces.first().copied())
    }

    /// True if some font has a glyph for every visible character of `s`.
    pub fn covers(&self, s: &str) -> bool {
        s.chars()
            .filter(|&c| !invisible(c))
            .all(|c| self.find_or_alike(c).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_collects_missing_characters_and_names_them() {
        let mut c = Coverage::default();
        assert_eq!(c.note(Lang::En), None);
        c.add_missing('𠮷');
        c.add_missing('𠮷');
        let mut other = Coverage::default();
        other.add_missing('A');
        c.merge(&other);
        let note = c.note(Lang::En).unwrap();
        assert!(
            note.contains("U+20BB7") && note.contains("U+0041"),
            "{note}"
        );
    }
}
