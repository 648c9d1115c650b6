//! The slip as SVG: text as text (any viewer's CJK font draws it, and it can be searched and
//! copied), the QR code as one path of unit squares.

use std::fmt::Write;

use unicode_width::UnicodeWidthChar;

use super::Slip;
use crate::card::qr::QUIET_ZONE;

const FONT_STACK: &str = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC','WenQuanYi Micro Hei',sans-serif";

/// XML-escapes text content and attribute values.
fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&apos;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// Breaks a line by the slip's rules. The viewer picks the font, so widths are estimated on
/// the wide side: a CJK character one em, any other 0.6 em.
fn wrap(text: &str, size: f64, max: f64) -> Vec<String> {
    let em = |s: &str| -> f32 {
        s.chars()
            .map(|c| {
                if c.width().unwrap_or(0) >= 2 {
                    1.0
                } else {
                    0.6
                }
            })
            .sum()
    };
    super::lines::break_lines(text, (max / size) as f32, em)
}

pub fn render(slip: &Slip) -> String {
    let w = 384.0;
    let modules = slip.qr.width + 2 * QUIET_ZONE;
    let module = 304.0 / modules as f64;
    let mut body = String::new();
    let mut y = 40.0;
    let text = |body: &mut String, y: &mut f64, s: &str, size: f64, centre: bool| {
        let (x, anchor) = if centre {
            (w / 2.0, "middle")
        } else {
            (40.0, "start")
        };
        for line in wrap(s, size, w - 80.0) {
            let _ = writeln!(
                body,
                r#"  <text x="{x}" y="{:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
                *y,
                esc(&line)
            );
            *y += size * 1.4;
        }
    };
    text(&mut body, &mut y, &slip.union, 22.0, true);
    text(&mut body, &mut y, &slip.title, 16.0, true);
    text(&mut body, &mut y, &slip.name_line, 18.0, false);
    text(&mut body, &mut y, &slip.member_no_line(), 18.0, false);
    text(&mut body, &mut y, &slip.date_line, 16.0, false);
    let qr_top = y - 10.0;
    let qr_left = (w - module * modules as f64) / 2.0;
    let mut path = String::new();
    for yy in 0..slip.qr.width {
        for xx in 0..slip.qr.width {
            if slip.qr.dark(xx as isize, yy as isize) {
                let _ = write!(path, "M{} {}h1v1h-1z", xx + QUIET_ZONE, yy + QUIET_ZONE);
            }
        }
    }
    let _ = writeln!(
        body,
        r##"  <g transform="translate({qr_left:.2} {qr_top:.2}) scale({module:.4})"><rect width="{modules}" height="{modules}" fill="#fff"/><path d="{path}" fill="#000"/></g>"##
    );
    y = qr_top + module * modules as f64 + 24.0;
    text(&mut body, &mut y, &slip.how_to, 13.0, true);
    let h = y + 16.0;
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h:.0}" viewBox="0 0 {w} {h:.0}" font-family="{}">
  <desc>booth membership slip; QR payload {}</desc>
  <rect width="100%" height="100%" fill="#fff"/>
{body}</svg>
"##,
        esc(FONT_STACK),
        esc(&slip.payload)
    )
}
