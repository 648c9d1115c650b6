//! The `slips/` folder of a data folder: slips saved as PNG when no printer took them. They
//! carry the member's name and a valid QR code, so the store deletes them with the record's
//! purge and when the record is voided.

use std::path::{Path, PathBuf};

use crate::card::MemberNo;

/// Folder of the data folder where unprinted slips are saved.
pub const SLIPS_DIR: &str = "slips";

/// The slips folder of a data folder.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SLIPS_DIR)
}

/// Where the slip of this member number is saved, in a slips folder.
pub fn file_in(slips_dir: &Path, member_no: &str) -> PathBuf {
    slips_dir.join(format!("{member_no}.png"))
}

/// Deletes the saved slips of these member numbers; returns how many files went.
pub fn remove<'a>(data_dir: &Path, numbers: impl IntoIterator<Item = &'a str>) -> u64 {
    let slips = dir(data_dir);
    let mut deleted = 0;
    for no in numbers {
        // saved as the compact number; older builds saved it grouped
        let mut files = vec![file_in(&slips, no)];
        if let Ok(m) = no.parse::<MemberNo>() {
            files.push(file_in(&slips, &m.grouped()));
        }
        for file in files {
            if std::fs::remove_file(file).is_ok() {
                deleted += 1;
            }
        }
    }
    deleted
}
