//! One print of a slip: to the printer if there is one, else (or when it fails) saved as PNG in
//! the data folder. Built on the caller's thread without I/O, run on any thread: the terminal
//! UI runs it off the key path and gets the outcome back as a message.

use std::path::PathBuf;

use super::transport::{PrintError, Timeouts, send};
use crate::config::PrinterUri;
use crate::i18n::Lang;
use crate::slip::escpos::{self, Options};
use crate::slip::font::{Coverage, FontSource, Fonts};
use crate::slip::{Slip, png};
use crate::store::slips;
use crate::t;

#[derive(Clone, Debug)]
pub struct PrintJob {
    pub slip: Slip,
    pub member_no: String,
    pub printer: Option<PrinterUri>,
    pub options: Options,
    pub slips_dir: PathBuf,
    pub fonts: FontSource,
    pub timeouts: Timeouts,
}

/// What happened to the slip.
#[derive(Clone, Debug)]
pub enum PrintOutcome {
    Printed {
        printer: String,
    },
    /// Saved as PNG: because no printer is configured (`error: None`) or because it failed.
    Saved {
        path: PathBuf,
        error: Option<PrintError>,
        /// Characters no font on this machine has (drawn as "?"), or no font at all.
        coverage: Coverage,
    },
    /// Nothing could be written at all (disk full…); the registration itself is kept.
    Failed {
        error: Option<PrintError>,
        save_error: String,
    },
}

impl PrintOutcome {
    pub fn printed(&self) -> bool {
        matches!(self, PrintOutcome::Printed { .. })
    }

    /// Warnings to show on a line of their own (a character no font has); also part of
    /// [`PrintOutcome::message`].
    pub fn notes(&self, lang: Lang) -> Vec<String> {
        match self {
            PrintOutcome::Saved { coverage, .. } => coverage.note(lang).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            PrintOutcome::Printed { printer } => t!(lang, "print.printed", printer = printer),
            PrintOutcome::Saved {
                path,
                error,
                coverage,
            } => {
                let mut s = match error {
                    None => t!(lang, "print.saved_no_printer", path = path.display()),
                    Some(e) => t!(
                        lang,
                        "print.saved_after_error",
                        why = e.message(lang),
                        path = path.display()
                    ),
                };
                if let Some(note) = coverage.note(lang) {
                    s.push(' ');
                    s.push_str(&note);
                }
                s
            }
            PrintOutcome::Failed { error, save_error } => {
                let why = error.as_ref().map(|e| e.message(lang)).unwrap_or_default();
                t!(lang, "print.failed", why = why, save = save_error)
            }
        }
    }
}

impl PrintJob {
    /// The job for a stored member: the slip laid out and signed here, no I/O.
    pub fn for_member(
        store: &crate::store::Store,
        config: &crate::config::Config,
        m: &crate::store::StoredMember,
        printer: Option<PrinterUri>,
    ) -> Result<PrintJob, crate::slip::SlipError> {
        Ok(PrintJob {
            slip: Slip::new(m, config, store.device_key(), config.slip_language)?,
            member_no: m.member_no.as_str().to_string(),
            printer,
            options: Options {
                paper: config.paper,
                qr_mode: config.qr_mode,
            },
            slips_dir: slips::dir(store.dir()),
            fonts: FontSource::of(config),
            timeouts: Timeouts::default(),
        })
    }

    pub fn escpos_bytes(&self) -> Vec<u8> {
        escpos::slip_bytes(&self.slip, self.options)
    }

    /// Prints, or saves the PNG. Blocks for at most the printer time limits.
    pub fn run(&self) -> PrintOutcome {
        let error = match &self.printer {
            Some(uri) => match send(uri, &self.escpos_bytes(), self.timeouts) {
                Ok(()) => {
                    tracing::info!(member_no = %self.member_no, "slip printed");
                    return PrintOutcome::Printed {
                        printer: uri.to_string(),
                    };
                }
                Err(e) => {
                    tracing::warn!(member_no = %self.member_no, error = %e, "printing failed");
                    Some(e)
                }
            },
            None => None,
        };
        match self.save_png() {
            Ok((path, coverage)) => PrintOutcome::Saved {
                path,
                error,
                coverage,
            },
            Err(e) => PrintOutcome::Failed {
                error,
                save_error: e.to_string(),
            },
        }
    }

    /// Saves `<data>/slips/<member no>.png`; says which characters had no font.
    pub fn save_png(&self) -> std::io::Result<(PathBuf, Coverage)> {
        crate::store::ensure_dir(&self.slips_dir)?;
        let path = slips::file_in(&self.slips_dir, &self.member_no);
        let fonts = Fonts::get(&self.fonts).ok();
        let coverage = png::write(&path, &self.slip, fonts)?;
        Ok((path, coverage))
    }
}
