//! The slip as a PNG image: what is saved when no printer takes it, and `booth card --png`.

use std::path::Path;

use ab_glyph::{Font, point};
use image::{GrayImage, Luma};

use super::Slip;
use super::font::{Coverage, Fonts};
use crate::card::qr::{QUIET_ZONE, QrMatrix};

/// 768 px: a 58 mm receipt at twice its 203 dpi, sharp on screen and when printed.
pub const WIDTH: u32 = 768;
const MARGIN: u32 = 40;

struct Line {
    text: String,
    size: f32,
    centred: bool,
}

/// Breaks `text` into lines no wider than `max` pixels, by the slip's rules.
fn wrap(fonts: &Fonts, text: &str, size: f32, max: f32) -> Vec<String> {
    super::lines::break_lines(text, max, |s| fonts.width(s, size))
}

/// Draws one line; characters no font has are drawn as "?" and added to `coverage`.
fn draw_text(
    img: &mut GrayImage,
    fonts: &Fonts,
    text: &str,
    size: f32,
    x0: f32,
    top: f32,
    coverage: &mut Coverage,
) {
    let Some(primary) = fonts.primary() else {
        return;
    };
    let baseline = top + primary.ascent(size);
    let mut x = x0;
    for g in fonts.shape(text, coverage) {
        let glyph =
            g.id.with_scale_and_position(g.face.scale(size), point(x - g.shift(size), baseline));
        x += g.advance(size);
        if let Some(outline) = g.face.font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, c| {
                let px = b.min.x as i32 + gx as i32;
                let py = b.min.y as i32 + gy as i32;
                if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    let ink = (c.clamp(0.0, 1.0) * 255.0) as u8;
                    p.0[0] = p.0[0].min(255 - ink);
                }
            });
        }
    }
}

fn draw_qr(img: &mut GrayImage, qr: &QrMatrix, left: u32, top: u32, module: u32) {
    for y in 0..qr.width {
        for x in 0..qr.width {
            if qr.dark(x as isize, y as isize) {
                let x0 = left + (x + QUIET_ZONE) as u32 * module;
                let y0 = top + (y + QUIET_ZONE) as u32 * module;
                for dy in 0..module {
                    for dx in 0..module {
                        img.put_pixel(x0 + dx, y0 + dy, Luma([0]));
                    }
                }
            }
        }
    }
}

/// Draws the slip, and says which characters had no font. Without fonts only the QR code is
/// drawn.
pub fn render(slip: &Slip, fonts: Option<&Fonts>) -> (GrayImage, Coverage) {
    let mut coverage = if fonts.is_some() {
        Coverage::Complete
    } else {
        Coverage::NoFont
    };
    let inner = (WIDTH - 2 * MARGIN) as f32;
    let module = (WIDTH - 2 * MARGIN) / (slip.qr.width + 2 * QUIET_ZONE) as u32;
    let qr_px = module * (slip.qr.width + 2 * QUIET_ZONE) as u32;

    let mut top_lines = Vec::new();
    let mut bottom_lines = Vec::new();
    if let Some(fonts) = fonts {
        let add = |into: &mut Vec<Line>, text: &str, size: f32, centred: bool| {
            for t in wrap(fonts, text, size, inner) {
                into.push(Line {
                    text: t,
                    size,
                    centred,
                });
            }
        };
        add(&mut top_lines, &slip.union, 44.0, true);
        add(&mut top_lines, &slip.title, 32.0, true);
        add(&mut top_lines, &slip.name_line, 36.0, false);
        add(&mut top_lines, &slip.member_no_line(), 36.0, false);
        add(&mut top_lines, &slip.date_line, 32.0, false);
        add(&mut bottom_lines, &slip.how_to, 26.0, true);
    }
    let height_of = |lines: &[Line]| lines.iter().map(|l| (l.size * 1.35) as u32).sum::<u32>();
    let height = MARGIN + height_of(&top_lines) + qr_px + height_of(&bottom_lines) + MARGIN;
    let mut img = GrayImage::from_pixel(WIDTH, height, Luma([255]));

    let mut y = MARGIN as f32;
    let draw_lines = |img: &mut GrayImage, lines: &[Line], y: &mut f32, cov: &mut Coverage| {
        let Some(fonts) = fonts else { return };
        for l in lines {
            let x = if l.centred {
                MARGIN as f32 + (inner - fonts.width(&l.text, l.size)).max(0.0) / 2.0
            } else {
                MARGIN as f32
            };
            draw_text(img, fonts, &l.text, l.size, x, *y, cov);
            *y += l.size * 1.35;
        }
    };
    draw_lines(&mut img, &top_lines, &mut y, &mut coverage);
    draw_qr(&mut img, &slip.qr, (WIDTH - qr_px) / 2, y as u32, module);
    y += qr_px as f32;
    draw_lines(&mut img, &bottom_lines, &mut y, &mut coverage);
    (img, coverage)
}

/// Writes the slip PNG (to a temporary name, then renamed); says which characters had no font.
pub fn write(path: &Path, slip: &Slip, fonts: Option<&Fonts>) -> std::io::Result<Coverage> {
    let (img, coverage) = render(slip, fonts);
    let tmp = path.with_extension("png.part");
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)?;
    Ok(coverage)
}
