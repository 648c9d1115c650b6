//! The QR symbol of a payload: error correction level M (15 % of the symbol can be damaged,
//! a creased receipt still scans), the smallest version that holds it.

use qrcode::{Color, EcLevel, QrCode, Version};

/// Modules of a QR symbol, row by row, without the quiet zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    pub width: usize,
    dark: Vec<bool>,
    pub version: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the payload does not fit in a QR code")]
pub struct QrTooLong;

/// The quiet zone the QR standard asks for around the symbol, in modules.
pub const QUIET_ZONE: usize = 4;

impl QrMatrix {
    pub fn encode(payload: &str) -> Result<QrMatrix, QrTooLong> {
        QrMatrix::encode_at(payload, EcLevel::M)
    }

    /// The same payload at level L, one version smaller: for a screen (never creased) where
    /// the level-M symbol with its full quiet zone does not fit (80×24).
    pub fn encode_compact(payload: &str) -> Result<QrMatrix, QrTooLong> {
        QrMatrix::encode_at(payload, EcLevel::L)
    }

    fn encode_at(payload: &str, level: EcLevel) -> Result<QrMatrix, QrTooLong> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), level)
            .map_err(|_| QrTooLong)?;
        let version = match code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        };
        Ok(QrMatrix {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
            version,
        })
    }

    /// Is the module at (x, y) dark? Outside the symbol (the quiet zone) is light.
    pub fn dark(&self, x: isize, y: isize) -> bool {
        let w = self.width as isize;
        (0..w).contains(&x) && (0..w).contains(&y) && self.dark[(y * w + x) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base45_payloads_use_alphanumeric_mode() {
        // 140 alphanumeric characters fit version 6-M (154); in byte mode they would need 8.
        let q = QrMatrix::encode(&"A1 $%*+-./:".repeat(13)[..140]).unwrap();
        assert!(q.version <= 6, "version {}", q.version);
        assert_eq!(q.width, 17 + 4 * q.version as usize);
        assert!(!q.dark(-1, 0) && !q.dark(0, q.width as isize));
        assert!(q.dark(0, 0), "finder pattern corner is dark");
    }
}
