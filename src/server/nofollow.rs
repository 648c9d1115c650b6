//! Writing files into a folder without ever following a symbolic link (`publish-verifier
//! --out DIR`): the folder may be a web host's, where another account can plant a link
//! named like one of our files (or folders) to make us overwrite what it points at.
//!
//! On Unix every step is relative to an open folder: each folder is opened with `O_NOFOLLOW`
//! from its parent, each file is written to a new temporary file (`O_CREAT | O_EXCL |
//! O_NOFOLLOW`) in its folder and renamed into place — `rename` replaces a link itself, never
//! its target, so a link planted between our check and our write changes nothing outside DIR.
//! A link where a folder or file of ours goes is refused with its path before anything is
//! written ([`Tree::check`]). Elsewhere the same checks run on paths (no `openat`).

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A symbolic link where a folder or file of ours goes.
    #[error("{0} is a symbolic link")]
    Symlink(PathBuf),
    #[error("{path}: {why}")]
    Io { path: PathBuf, why: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |why| WriteError::Io {
        path: path.to_path_buf(),
        why,
    }
}

/// The folder's own path parts below `rel` (`a/b/c.js` → `a`, `b` and the file `c.js`);
/// `..`, `.` and absolute parts are refused (the caller's paths are its own constants).
fn parts(rel: &str) -> io::Result<(Vec<&str>, &str)> {
    let mut all: Vec<&str> = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => all.push(p.to_str().unwrap_or_default()),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a path inside the folder only",
                ));
            }
        }
    }
    let file = all
        .pop()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a file name is needed"))?;
    Ok((all, file))
}

/// A temporary name beside `file` that no one else has (`O_EXCL` makes sure).
fn temp_name(file: &str) -> String {
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    format!(".{file}.{}.tmp", data_encoding::HEXLOWER.encode(&r))
}

#[cfg(unix)]
mod imp {
    use std::os::fd::OwnedFd;

    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, mkdirat, openat, renameat, statat};
    use rustix::io::Errno;

    use super::*;

    /// An output folder, opened without following links.
    pub struct Tree {
        root: OwnedFd,
        path: PathBuf,
    }

    /// Whether `name` in `dir` is a symbolic link (not followed).
    fn is_link(dir: &OwnedFd, name: &str) -> bool {
        statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
    }

    /// `name` in `dir` as a folder, made (0755, less the umask) when missing and `create`;
    /// `None` when missing and not `create`.
    fn sub(
        dir: &OwnedFd,
        name: &str,
        at: &Path,
        create: bool,
    ) -> Result<Option<OwnedFd>, WriteError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            match openat(dir, name, flags, Mode::empty()) {
                Ok(fd) => return Ok(Some(fd)),
                Err(Errno::NOENT) if create => match mkdirat(dir, name, Mode::from_raw_mode(0o755))
                {
                    Ok(()) | Err(Errno::EXIST) => continue,
                    Err(e) => return Err(io_at(at)(e.into())),
                },
                Err(Errno::NOENT) => return Ok(None),
                Err(_) if is_link(dir, name) => return Err(WriteError::Symlink(at.to_path_buf())),
                Err(e) => return Err(io_at(at)(e.into())),
            }
        }
    }

    impl Tree {
        /// Opens (making what is missing) the folder `path`, refusing a symbolic link as any
        /// part of it: each part is opened from the one before with `O_NOFOLLOW`.
        pub fn open(path: &Path) -> Result<Tree, WriteError> {
            let here = || {
                openat(
                    CWD,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| io_at(path)(e.into()))
            };
            let mut dir = here()?;
            let mut at = PathBuf::new();
            for c in path.components() {
                at.push(c);
                let name = match c {
                    Component::RootDir => "/",
                    Component::CurDir => ".",
                    Component::ParentDir => "..",
                    Component::Normal(n) => n.to_str().ok_or_else(|| {
                        io_at(&at)(io::Error::new(io::ErrorKind::InvalidInput, "not UTF-8"))
                    })?,
                    Component::Prefix(_) => continue,
                };
                // made when missing, so never None
                dir = sub(&dir, name, &at, true)?
                    .ok_or_else(|| io_at(&at)(io::Error::from(io::ErrorKind::NotFound)))?;
            }
            Ok(Tree {
                root: dir,
                path: path.to_path_buf(),
            })
        }

        /// Refuses `rel` if a folder on its way or the file itself is a symbolic link; writes
        /// nothing (a missing folder means nothing below it exists yet).
        pub fn check(&self, rel: &str) -> Result<(), WriteError> {
            let (dirs, file) = parts(rel).map_err(io_at(&self.path.join(rel)))?;
            let mut at = self.path.clone();
            let mut held: Option<OwnedFd> = None;
            for d in dirs {
                at.push(d);
                let parent = held.as_ref().unwrap_or(&self.root);
                match sub(parent, d, &at, false)? {
                    Some(fd) => held = Some(fd),
                    None => return Ok(()),
                }
            }
            if is_link(held.as_ref().unwrap_or(&self.root), file) {
                return Err(WriteError::Symlink(self.path.join(rel)));
            }
            Ok(())
        }

        /// Writes `bytes` as `rel` (folders made as needed): a temporary file in the same
        /// folder, renamed over the old one. A symbolic link on the way is refused.
        pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), WriteError> {
            let full = self.path.join(rel);
            let (dirs, file) = parts(rel).map_err(io_at(&full))?;
            let mut at = self.path.clone();
            let mut held: Option<OwnedFd> = None;
            for d in dirs {
                at.push(d);
                let parent = held.as_ref().unwrap_or(&self.root);
                held = sub(parent, d, &at, true)?;
            }
            let dir = held.as_ref().unwrap_or(&self.root);
            if is_link(dir, file) {
                return Err(WriteError::Symlink(full));
            }
            let tmp = temp_name(file);
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = openat(dir, &tmp, flags, Mode::from_raw_mode(0o644))
                .map_err(|e| io_at(&full)(e.into()))?;
            let written = std::fs::File::from(fd)
                .write_all(bytes)
                .and_then(|()| renameat(dir, &tmp, dir, file).map_err(io::Error::from));
            if let Err(why) = written {
                let _ = rustix::fs::unlinkat(dir, &tmp, AtFlags::empty());
                return Err(io_at(&full)(why));
            }
            Ok(())
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;

    /// An output folder (paths checked part by part: no `openat` here).
    pub struct Tree {
        path: PathBuf,
    }

    fn refuse_link(p: &Path) -> Result<(), WriteError> {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => Err(WriteError::Symlink(p.to_path_buf())),
            _ => Ok(()),
        }
    }

    impl Tree {
        pub fn open(path: &Path) -> Result<Tree, WriteError> {
            let mut at = PathBuf::new();
            for c in path.components() {
                at.push(c);
                refuse_link(&at)?;
            }
            std::fs::create_dir_all(path).map_err(io_at(path))?;
            Ok(Tree {
                path: path.to_path_buf(),
            })
        }

        pub fn check(&self, rel: &str) -> Result<(), WriteError> {
            let full = self.path.join(rel);
            let (dirs, file) = parts(rel).map_err(io_at(&full))?;
            let mut at = self.path.clone();
            for d in dirs.iter().chain([&file]) {
                at.push(d);
                refuse_link(&at)?;
            }
            Ok(())
        }

        pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), WriteError> {
            self.check(rel)?;
            let full = self.path.join(rel);
            if let Some(dir) = full.parent() {
                std::fs::create_dir_all(dir).map_err(io_at(&full))?;
            }
            let (_, file) = parts(rel).map_err(io_at(&full))?;
            let tmp = full.with_file_name(temp_name(file));
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .and_then(|mut f| f.write_all(bytes))
                .and_then(|()| std::fs::rename(&tmp, &full));
            if let Err(why) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_at(&full)(why));
            }
            Ok(())
        }
    }
}

pub use imp::Tree;

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn files_replace_links_never_their_targets_and_links_are_refused_by_name() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside.txt");
        std::fs::write(&outside, "keep me").unwrap();
        let out = d.path().join("site");
        let tree = Tree::open(&out).unwrap();
        tree.write("a/b/c.txt", b"one").unwrap();
        assert_eq!(std::fs::read(out.join("a/b/c.txt")).unwrap(), b"one");
        tree.write("a/b/c.txt", b"two").unwrap();
        assert_eq!(std::fs::read(out.join("a/b/c.txt")).unwrap(), b"two");

        symlink(&outside, out.join("a/link.txt")).unwrap();
        assert!(
            matches!(tree.check("a/link.txt"), Err(WriteError::Symlink(p)) if p == out.join("a/link.txt"))
        );
        assert!(matches!(
            tree.write("a/link.txt", b"x"),
            Err(WriteError::Symlink(_))
        ));
        symlink(d.path(), out.join("dirlink")).unwrap();
        assert!(
            matches!(tree.check("dirlink/outside.txt"), Err(WriteError::Symlink(p)) if p == out.join("dirlink"))
        );
        assert!(matches!(
            tree.write("dirlink/outside.txt", b"x"),
            Err(WriteError::Symlink(_))
        ));
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
        // no temporary file left behind
        let names: Vec<_> = std::fs::read_dir(out.join("a/b"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");

        // the output folder itself, or a folder on its way, as a link
        symlink(&out, d.path().join("site-link")).unwrap();
        assert!(matches!(
            Tree::open(&d.path().join("site-link")),
            Err(WriteError::Symlink(_))
        ));
        assert!(
            matches!(Tree::open(&d.path().join("site-link/a")), Err(WriteError::Symlink(p)) if p == d.path().join("site-link"))
        );
        assert!(tree.check("../x").is_err(), "inside the folder only");
    }
}
