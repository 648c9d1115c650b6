//! The QR code drawn with text characters for the terminal, big enough for a phone camera.
//!
//! Half blocks put two modules in one character cell (one above the other), and since a cell
//! is about twice as tall as wide, each module comes out square. The quiet zone is drawn too:
//! without it many phone scanners fail. Draw the lines with a black foreground on a white
//! background so the code is dark-on-light whatever the terminal's colours.

use crate::card::qr::QrMatrix;

/// One line per two module rows; `quiet` modules of light border on each side.
/// Characters: '█' both dark, '▀' top dark, '▄' bottom dark, ' ' both light.
pub fn half_blocks(qr: &QrMatrix, quiet: usize) -> Vec<String> {
    let q = quiet as isize;
    let size = qr.width as isize + 2 * q;
    (0..size)
        .step_by(2)
        .map(|y| {
            (0..size)
                .map(|x| {
                    let top = qr.dark(x - q, y - q);
                    let bottom = y + 1 < size && qr.dark(x - q, y + 1 - q);
                    match (top, bottom) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    }
                })
                .collect()
        })
        .collect()
}

/// The size of [`half_blocks`] output, in (columns, rows).
pub fn half_block_size(qr: &QrMatrix, quiet: usize) -> (u16, u16) {
    let size = qr.width + 2 * quiet;
    (size as u16, size.div_ceil(2) as u16)
}

/// Turns half-block lines back into module rows (true = dark): the inverse, for tests that
/// decode what the screen shows.
pub fn lines_to_modules(lines: &[String]) -> Vec<Vec<bool>> {
    let mut rows = Vec::with_capacity(lines.len() * 2);
    for line in lines {
        let (mut top, mut bottom) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (t, b) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            top.push(t);
            bottom.push(b);
        }
        rows.push(top);
        rows.push(bottom);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_decodes_back_to_the_payload() {
        let payload = "B708%1$P6L10:A1*Q06$KBNS--I8JV9H436S7 G$1K Z0%:F+Y0F.12DD";
        let qr = QrMatrix::encode(payload).unwrap();
        let lines = half_blocks(&qr, 4);
        assert_eq!(
            half_block_size(&qr, 4),
            (lines[0].chars().count() as u16, lines.len() as u16)
        );
        let modules = lines_to_modules(&lines);
        // Render each module as a 4×4 pixel block and decode with an independent decoder.
        let scale = 4;
        let h = modules.len() * scale;
        let w = modules[0].len() * scale;
        let img = image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let dark = modules[y as usize / scale][x as usize / scale];
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, payload);
    }
}
