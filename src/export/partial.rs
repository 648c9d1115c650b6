//! Export files being written (`<out>.part`), noted in the data folder so that one left by a
//! killed export — personal data in clear under a temporary name — is removed at the next
//! start of booth on that folder (any command, or the terminal UI, once the folder is open).
//!
//! The note is one absolute path per line in `<data>/exports-in-progress`: paths, never
//! records. Only files whose names end in `.part` are ever removed from it.

use std::io::Write;
use std::path::{Path, PathBuf};

const NOTE: &str = "exports-in-progress";

fn note_file(data_dir: &Path) -> PathBuf {
    data_dir.join(NOTE)
}

fn read(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(note_file(data_dir))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect()
}

fn write(data_dir: &Path, paths: &[PathBuf]) -> std::io::Result<()> {
    let file = note_file(data_dir);
    if paths.is_empty() {
        return match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut text = String::new();
    for p in paths {
        text.push_str(&p.to_string_lossy());
        text.push('\n');
    }
    let mut f = std::fs::File::create(&file)?;
    f.write_all(text.as_bytes())?;
    // On disk before the .part file exists, or a kill could leave one nobody knows of.
    f.sync_all()
}

/// Notes `part` before it is created.
pub fn note(data_dir: &Path, part: &Path) -> std::io::Result<()> {
    let part = std::path::absolute(part)?;
    let mut paths = read(data_dir);
    if !paths.contains(&part) {
        paths.push(part);
    }
    write(data_dir, &paths)
}

/// `part` is gone (renamed into place, or removed after a failure).
pub fn done(data_dir: &Path, part: &Path) {
    let Ok(part) = std::path::absolute(part) else {
        return;
    };
    let mut paths = read(data_dir);
    paths.retain(|p| *p != part);
    if let Err(e) = write(data_dir, &paths) {
        tracing::warn!(error = %e, "could not update the note of exports in progress");
    }
}

/// Removes every noted `.part` file still there (an export killed mid-write); returns how
/// many. Call with the data folder open (its lock held), so no export of this folder runs.
pub fn remove_stale(data_dir: &Path) -> usize {
    let paths = read(data_dir);
    if paths.is_empty() {
        return 0;
    }
    let mut removed = 0;
    for p in &paths {
        let is_part = p.extension().is_some_and(|e| e == "part");
        if is_part && std::fs::remove_file(p).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::warn!(removed, "removed files left by an export that was stopped");
    }
    if let Err(e) = write(data_dir, &[]) {
        tracing::warn!(error = %e, "could not clear the note of exports in progress");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_part_file_is_removed_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let part = d.path().join("day.xlsx.part");
        let other = d.path().join("day.xlsx");
        std::fs::write(&part, "姓名,身份证号").unwrap();
        std::fs::write(&other, "kept").unwrap();
        note(d.path(), &part).unwrap();
        // a hand-edited note naming a file that is not a .part is ignored
        let mut paths = read(d.path());
        paths.push(other.clone());
        write(d.path(), &paths).unwrap();
        assert_eq!(remove_stale(d.path()), 1);
        assert!(!part.exists());
        assert!(other.exists());
        assert!(!note_file(d.path()).exists());
        assert_eq!(remove_stale(d.path()), 0);
    }

    #[test]
    fn done_forgets_the_file() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.csv.part");
        let b = d.path().join("b.csv.part");
        note(d.path(), &a).unwrap();
        note(d.path(), &b).unwrap();
        done(d.path(), &a);
        assert_eq!(read(d.path()), vec![std::path::absolute(&b).unwrap()]);
        done(d.path(), &b);
        assert!(!note_file(d.path()).exists());
    }
}
