//! Fonts for the PNG slip.
//!
//! Decision (see README): booth draws slips with the system's CJK fonts rather than shipping
//! one. A font covering GB18030 — rare name characters like 𠮷 included — is 15–20 MB, more
//! than the whole program, while every laptop a union cadre uses already has one (Microsoft
//! YaHei / SimSun on Windows, PingFang on macOS, Noto Sans CJK or WenQuanYi on Linux). The
//! `font` setting points at a file to use instead. Several faces are kept: a character missing
//! from the first is looked up in the next. With no CJK font at all, slips are still saved,
//! with the QR code and Latin text only, and the operator is told why.
//!
//! Font files are memory-mapped, not read: a 20 MB collection costs only the pages touched.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId};

/// Families tried first, in order: common CJK UI fonts on Linux, Windows and macOS.
const PREFERRED: &[&str] = &[
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

pub struct Fonts {
    faces: Vec<FontRef<'static>>,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FontError {
    #[error("no CJK font found on this system; install one (e.g. fonts-noto-cjk) or set `font`")]
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

impl Fonts {
    /// The fonts for slips, found once per process.
    pub fn get(configured: Option<&Path>) -> Result<&'static Fonts, FontError> {
        static FONTS: OnceLock<Result<Fonts, FontError>> = OnceLock::new();
        FONTS
            .get_or_init(|| Fonts::load(configured))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load(configured: Option<&Path>) -> Result<Fonts, FontError> {
        let mut faces = Vec::new();
        let mut names = Vec::new();
        if let Some(path) = configured {
            let data = map_file(path).ok_or_else(|| FontError::Unusable(path.into()))?;
            let face = FontRef::try_from_slice_and_index(data, 0)
                .map_err(|_| FontError::Unusable(path.into()))?;
            faces.push(face);
            names.push(path.display().to_string());
        }
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        let mut candidates: Vec<(usize, PathBuf, u32, String)> = db
            .faces()
            .filter(|f| f.weight == fontdb::Weight::NORMAL && f.style == fontdb::Style::Normal)
            .filter_map(|f| {
                let rank = f
                    .families
                    .iter()
                    .find_map(|(name, _)| PREFERRED.iter().position(|p| p == name))?;
                let path = match &f.source {
                    fontdb::Source::File(p) | fontdb::Source::SharedFile(p, _) => p.clone(),
                    fontdb::Source::Binary(_) => return None,
                };
                Some((rank, path, f.index, PREFERRED[rank].to_string()))
            })
            .collect();
        candidates.sort_by_key(|c| c.0);
        candidates.dedup_by_key(|c| c.0);
        for (_, path, index, name) in candidates.into_iter().take(4) {
            if let Some(face) =
                map_file(&path).and_then(|d| FontRef::try_from_slice_and_index(d, index).ok())
            {
                faces.push(face);
                names.push(name);
            }
        }
        if faces.is_empty() {
            return Err(FontError::NoneFound);
        }
        tracing::info!(fonts = ?names, "slip fonts");
        Ok(Fonts { faces, names })
    }

    /// The face and glyph for `c`: the first face that has it (else the first face's
    /// "missing" glyph).
    pub fn glyph(&self, c: char) -> (&FontRef<'static>, GlyphId) {
        for f in &self.faces {
            let g = f.glyph_id(c);
            if g.0 != 0 {
                return (f, g);
            }
        }
        (&self.faces[0], self.faces[0].glyph_id(c))
    }

    /// True if some face has a glyph for every character of `s`.
    pub fn covers(&self, s: &str) -> bool {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .all(|c| self.faces.iter().any(|f| f.glyph_id(c).0 != 0))
    }
}
