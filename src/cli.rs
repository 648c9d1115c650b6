//! The command line (SPEC §6). Names and flags are a contract: scripts and the union office
//! depend on them. Flags may be added, never renamed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

fn booth_body_memory() -> usize {
    crate::server::routes::DEFAULT_BODY_MEMORY
}

#[derive(Debug, Parser)]
#[command(
    name = "booth",
    version,
    about = "Union membership registration at worker communication meeting booths",
    long_about = "booth: register workers at a union booth, print signed QR membership codes, \
                  and upload the day's records to the union office.\n\
                  Without a subcommand, starts the terminal UI."
)]
pub struct Cli {
    /// Data folder (default: the platform data folder, e.g. ~/.local/share/booth).
    #[arg(long, global = true, env = "BOOTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// Language of messages: zh-CN or en (default: the configured language).
    #[arg(long, global = true, env = "BOOTH_LANG", value_name = "LANG")]
    pub lang: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register one worker without the UI; prints member number, UUID and QR payload.
    Register(Box<RegisterArgs>),
    /// Count a person who asked but did not join.
    Consult {
        /// Remove today's last consultation instead (a key pressed by mistake).
        #[arg(long)]
        undo: bool,
    },
    /// Register a whole workplace from a staff spreadsheet (.csv or .xlsx).
    Import {
        file: PathBuf,
        /// Check every row and report, without saving anything.
        #[arg(long)]
        dry_run: bool,
        /// Signed paper consent forms were collected for every row.
        #[arg(long)]
        consent: bool,
    },
    /// Write the records to a file for the union office.
    Export {
        #[arg(long, value_name = "csv|xlsx|json")]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(
            long,
            default_value = "all",
            value_name = "queued|uploaded|voided|rejected|all"
        )]
        state: String,
    },
    /// The day's figures.
    Stats {
        /// The day (YYYY-MM-DD); default today.
        #[arg(long)]
        date: Option<String>,
    },
    /// Read or change the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Void a record that has not been uploaded (registered by mistake).
    Void {
        member_no: String,
        #[arg(long)]
        reason: String,
    },
    /// The membership slip or QR code as a file.
    Card(CardArgs),
    /// Cards for many members: A4 sheets of wallet-size cards as PDF for a print shop, or
    /// the slips printed one after another.
    Cards(Box<CardsArgs>),
    /// Print the membership slip.
    Print {
        member_no: String,
        /// file:/dev/usb/lp0, tcp://HOST:9100 or lp:QUEUE (default: the configured printer).
        #[arg(long)]
        printer: Option<String>,
    },
    /// Check a scanned membership code; exit 1 if forged, altered or from an unknown key.
    Verify {
        /// The scanned text; `-` reads it from standard input. Base45 may start with `-`:
        /// such a payload is still a payload, not a flag.
        #[arg(allow_hyphen_values = true)]
        payload: String,
        /// Trusted-key file (default: this laptop's key and <data>/trusted-keys.txt).
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// This laptop's public key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Upload queued records to the union office.
    Upload {
        #[arg(long)]
        server: Option<String>,
        /// The token from `booth server add-device` (may start with `-`).
        #[arg(long, allow_hyphen_values = true)]
        token: Option<String>,
        /// PEM certificate of the office's own certificate authority.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Records per request.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Seconds to keep retrying an unreachable or failing server before giving up (the
        /// records stay queued).
        #[arg(long, default_value_t = 300, value_name = "SECS")]
        give_up_after: u64,
    },
    /// Remove names, ID numbers and phones of uploaded records older than the retention period.
    Purge,
    /// The union office's ingest server.
    Server {
        #[command(subcommand)]
        action: ServerAction,
    },
    /// Measure the hot paths and print figures (see README).
    #[command(hide = true)]
    Bench {
        #[arg(default_value = "all")]
        what: String,
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[arg(long)]
    pub name: String,
    /// ID number (resident ID, residence permit, foreign PR ID, or passport with --doc-type).
    #[arg(long = "id")]
    pub id_number: String,
    #[arg(long)]
    pub phone: String,
    #[arg(long)]
    pub employer: String,
    /// The worker explicitly consents to the processing of sensitive personal information.
    #[arg(long)]
    pub consent: bool,
    /// resident_id, hmt_permit, foreign_permanent, passport. Without it, a number that starts
    /// with a letter is a passport, any other an ID of the 18-character family.
    #[arg(long)]
    pub doc_type: Option<String>,
    #[arg(long, default_value = "")]
    pub ethnicity: String,
    #[arg(long, default_value = "")]
    pub political_status: String,
    #[arg(long, default_value = "")]
    pub education: String,
    #[arg(long, default_value = "")]
    pub occupation: String,
    #[arg(long, default_value = "")]
    pub employment_form: String,
    /// yes / no.
    #[arg(long, default_value = "")]
    pub migrant_worker: String,
    #[arg(long, default_value = "")]
    pub employer_uscc: String,
    /// Comma-separated codes or labels (legal_aid, skills, …); other text is kept as "other".
    #[arg(long, default_value = "")]
    pub needs: String,
    #[arg(long, default_value = "")]
    pub remarks: String,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct CardOutput {
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub escpos: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CardArgs {
    pub member_no: String,
    #[command(flatten)]
    pub output: CardOutput,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("output").required(true).args(["pdf", "print"])))]
#[command(group(clap::ArgGroup::new("selection").required(true).args(["all", "date", "members"])))]
pub struct CardsArgs {
    /// Write A4 sheets of ten wallet-size cards (85.6 × 54 mm, crop marks) to FILE.
    #[arg(long, value_name = "FILE")]
    pub pdf: Option<PathBuf>,
    /// Print the slips one after another.
    #[arg(long)]
    pub print: bool,
    /// With --print: file:/dev/usb/lp0, tcp://HOST:9100 or lp:QUEUE (default: the configured printer).
    #[arg(long, requires = "print")]
    pub printer: Option<String>,
    /// Every record that may have a card.
    #[arg(long)]
    pub all: bool,
    /// The records of one booth day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// A text or CSV file of member numbers, one per line (first column).
    #[arg(long, value_name = "FILE")]
    pub members: Option<PathBuf>,
    /// With --print: print again those an earlier run printed.
    #[arg(long, requires = "print")]
    pub again: bool,
    /// With --print and no terminal: how long to wait for paper before stopping (the run
    /// resumes where it stopped when started again).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub paper_wait: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Set KEY to VALUE (`none` clears an optional setting).
    Set { key: String, value: String },
    /// Print one setting.
    Get { key: String },
    /// Print every setting (the token masked).
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Print this laptop's public key line for the union's trusted-key list.
    Export,
}

#[derive(Debug, Subcommand)]
pub enum ServerAction {
    /// Run the ingest server.
    Run {
        #[arg(long, default_value = "127.0.0.1:8443")]
        listen: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Largest request body accepted, in bytes.
        #[arg(long, default_value_t = 16 * 1024 * 1024)]
        max_body: usize,
        /// Bytes of request bodies held in memory at once, across all requests; more wait.
        #[arg(long, default_value_t = booth_body_memory())]
        body_memory: usize,
        /// Connections open at once (default: below this process's open-file limit).
        #[arg(long)]
        max_connections: Option<usize>,
        /// Seconds a client has to send a request's headers (and to finish a TLS handshake).
        #[arg(long, default_value_t = 10)]
        header_timeout: u64,
        /// Seconds a connection may stay silent (mid-body, or waiting on us) before it is closed.
        #[arg(long, default_value_t = 60)]
        idle_timeout: u64,
    },
    /// Register a laptop and print its new token (shown once).
    AddDevice {
        name: String,
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Refuse a laptop's token from now on.
    RevokeDevice {
        name: String,
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// The office's copy of all records.
    Export {
        #[arg(long, value_name = "csv|xlsx|json")]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Counts: members (one per person), by device, by day.
    Stats {
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
}
