//! The command line (SPEC §6). Names and flags are a contract: scripts and the union office
//! depend on them. Flags may be added, never renamed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::server::settings::ServerSettings;

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
        #[arg(long, conflicts_with = "needs")]
        undo: bool,
        /// What the worker asked for: needs from the list, by code or name, separated by
        /// commas (e.g. legal_aid,skills or 法律援助,技能培训).
        #[arg(long, value_name = "NEEDS")]
        needs: Option<String>,
    },
    /// Register a whole workplace from a staff list (.csv/.txt in any encoding, .xlsx, .xls,
    /// .ods, WPS .et).
    Import {
        /// The staff spreadsheet.
        file: PathBuf,
        /// The sheet to read (default: the first sheet with a header row).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Check every row and report, without saving anything.
        #[arg(long)]
        dry_run: bool,
        /// Signed paper consent forms were collected for every row.
        #[arg(long)]
        consent: bool,
    },
    /// Write the records to a file for the union office.
    Export {
        /// File format.
        #[arg(long, value_name = "csv|xlsx|json")]
        format: String,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Which records.
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
        /// The record's member number.
        member_no: String,
        /// Why it is voided (kept with the record).
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
        /// The record's member number.
        member_no: String,
        /// file:/dev/usb/lp0, tcp://HOST:9100 or lp:QUEUE (default: the configured printer).
        #[arg(long)]
        printer: Option<String>,
    },
    /// Check a scanned membership code (or its HTTPS://HOST/V#… form); exit 1 if forged,
    /// altered, from an unknown key, or revoked.
    Verify {
        /// The scanned text; `-` reads it from standard input. Base45 may start with `-`:
        /// such a payload is still a payload, not a flag.
        #[arg(allow_hyphen_values = true)]
        payload: String,
        /// A hand-made trusted-key file, instead of the bundle (no revocations).
        #[arg(long, conflicts_with = "bundle")]
        keys: Option<PathBuf>,
        /// The office's trust bundle: a file, or a URL such as https://HOST/v1/bundle
        /// (default: the newest this laptop received).
        #[arg(long, value_name = "FILE|URL")]
        bundle: Option<String>,
        /// The office key fingerprint the bundle must be signed with (default: from this
        /// laptop's enrolment, or the office_key setting).
        // a base64url fingerprint may begin with '-'
        #[arg(long, value_name = "FINGERPRINT", allow_hyphen_values = true)]
        office_key: Option<String>,
    },
    /// Take the enrolment code the office printed (booth server add-device): server, token
    /// and office key, stored in the encrypted data folder.
    Enroll {
        /// BOOTH1-… ; `-` reads it from standard input.
        code: String,
        /// The server's address, when the code does not carry one.
        #[arg(long)]
        server: Option<String>,
    },
    /// This laptop's public key.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Upload queued records to the union office.
    Upload {
        /// The office server's address, https://HOST:PORT (default: the configured server).
        #[arg(long)]
        server: Option<String>,
        /// The token from `booth server add-device` (may start with `-`). Visible to every
        /// user in `ps`: prefer `booth enroll` or BOOTH_TOKEN.
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
        /// Allow sending personal data over unencrypted http:// to another machine (127.0.0.1,
        /// ::1 and localhost need no flag).
        #[arg(long)]
        allow_http: bool,
    },
    /// Remove names, ID numbers and phones of uploaded records older than the retention period.
    Purge,
    /// A booth of several laptops: pair them, list or forget paired laptops, run the peer
    /// service.
    Peers {
        #[command(subcommand)]
        action: PeersAction,
    },
    /// Write this laptop's unacknowledged queue, and the records it holds for paired
    /// laptops, sealed to the office, to a file for the office (no second laptop, no network).
    Backup {
        /// The file to write (0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The union office's ingest server.
    Server {
        #[command(subcommand)]
        action: Box<ServerAction>,
    },
    /// Print shell completions for booth (bash, zsh or fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the manual page (roff), or write one page per command into a folder.
    Man {
        /// Write booth.1, booth-register.1, … into DIR (made if missing) instead of printing booth.1.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Full name, as on the ID document.
    #[arg(long)]
    pub name: String,
    /// ID number (resident ID, residence permit, foreign PR ID, or passport with --doc-type).
    #[arg(long = "id")]
    pub id_number: String,
    /// Mobile phone number.
    #[arg(long)]
    pub phone: String,
    /// Employer (the workplace's full name).
    #[arg(long)]
    pub employer: String,
    /// The worker explicitly consents to the processing of sensitive personal information.
    #[arg(long)]
    pub consent: bool,
    /// resident_id, hmt_permit, foreign_permanent, passport, hk_macao_permit, taiwan_permit,
    /// or a wording such as 台胞证. Without it, a number that starts with a letter and has at
    /// most nine characters is a passport, any other an ID of the 18-character family.
    #[arg(long)]
    pub doc_type: Option<String>,
    /// Ethnic group: a code or name from the list (01, 汉族, Han).
    #[arg(long, default_value = "")]
    pub ethnicity: String,
    /// Political status: a code or name from the list.
    #[arg(long, default_value = "")]
    pub political_status: String,
    /// Education: a code or name from the list.
    #[arg(long, default_value = "")]
    pub education: String,
    /// Occupation (free text).
    #[arg(long, default_value = "")]
    pub occupation: String,
    /// Form of employment: a code or name from the list (labor_contract, dispatch, …).
    #[arg(long, default_value = "")]
    pub employment_form: String,
    /// Migrant worker: yes / no.
    #[arg(long, default_value = "")]
    pub migrant_worker: String,
    /// The employer's unified social credit code (18 characters).
    #[arg(long, default_value = "")]
    pub employer_uscc: String,
    /// Comma-separated codes or labels (legal_aid, skills, …); other text is kept as "other".
    #[arg(long, default_value = "")]
    pub needs: String,
    /// Remarks (free text).
    #[arg(long, default_value = "")]
    pub remarks: String,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct CardOutput {
    /// Write the slip as a PNG image.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Write the slip as an SVG image.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write the slip as ESC/POS bytes for a receipt printer.
    #[arg(long, value_name = "FILE")]
    pub escpos: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CardArgs {
    /// The record's member number.
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
    Set {
        /// The setting's name (`booth config list` shows them all).
        key: String,
        /// The new value.
        value: String,
    },
    /// Print one setting.
    Get {
        /// The setting's name.
        key: String,
    },
    /// Print every setting (the token masked).
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Print this laptop's public key line for the union's trusted-key list.
    Export,
    /// Make a new key pair for this laptop (only before its first registration: e.g. when
    /// the office answered `key_id_taken`).
    Regenerate,
}

#[derive(Debug, Subcommand)]
pub enum PeersAction {
    /// Show a 6-digit pairing code (valid 5 minutes, void after 3 wrong tries) and this
    /// laptop's address, for the laptop that joins (needs `booth peers run` or the UI).
    Code,
    /// Pair with the laptop that shows CODE (only laptops enrolled with the same office).
    Pair {
        /// The 6 digits the other laptop shows.
        code: String,
        /// The other laptop's address, as it shows it (default: found on the local network).
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
    /// The paired laptops: name, key id, address, last seen, records held for each.
    List,
    /// Forget a paired laptop (its name or key id): no more sessions with it.
    Forget {
        /// The laptop's name or key id, as `booth peers list` shows it.
        name: String,
    },
    /// Run the peer service without the UI, holding the data folder (other booth commands
    /// on the folder then run through it).
    Run {
        /// Where to listen for paired laptops (default 0.0.0.0:47410).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
        /// Neither announce nor look for laptops on the network (mDNS, broadcast): paired
        /// laptops are called at their known addresses only.
        #[arg(long)]
        no_discovery: bool,
    },
}

/// The office key file (every server command takes it).
#[derive(Debug, Args, Clone)]
pub struct OfficeKeyArg {
    /// The office's Ed25519 key, PKCS#8 PEM, 0600 (default: office-key.pem beside a SQLite
    /// database; required with PostgreSQL). Made by the first command that needs it.
    #[arg(long, env = "BOOTH_OFFICE_KEY", value_name = "FILE")]
    pub office_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ServerAction {
    /// Run the ingest server (and the card verification page at /v).
    Run {
        /// The configuration file (TOML): every flag below is a key, its name with `_` for
        /// `-`; flags and environment variables win over it.
        #[arg(long, env = "BOOTH_SERVER_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: ServerSettings,
    },
    /// Check a configuration (file, flags and environment, as `server run` would take them)
    /// without starting the server.
    CheckConfig {
        /// The configuration file (TOML), as for `server run`.
        #[arg(long, env = "BOOTH_SERVER_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: ServerSettings,
    },
    /// Make the office key (if missing) and the database; remember the server's address.
    Init {
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        /// The address laptops upload to (https://HOST:PORT), put in enrolment codes.
        #[arg(long, value_name = "URL")]
        server_url: Option<String>,
        /// The office's time zone (IANA name), for every time the console, the audit log and
        /// the exports show; Asia/Shanghai until set.
        #[arg(long, value_name = "ZONE")]
        time_zone: Option<String>,
        /// The card check page's public address (https://HOST[:PORT]), put in enrolment codes
        /// and the bundle: laptops' QR codes then open it. `--verify-url ""` clears it.
        #[arg(long, value_name = "URL")]
        verify_url: Option<String>,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// The office key's public key and fingerprint.
    Keys {
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Register a laptop: prints its enrolment code and its new token (shown once).
    AddDevice {
        /// The laptop's name.
        name: String,
        /// A new token for a device the office knows and has not revoked (its token was lost or
        /// leaked): the old token is refused, and only the laptop's own key can use the new one.
        #[arg(long)]
        reissue: bool,
        /// The node of the union tree the laptop belongs to (its records and day summaries
        /// count there; default: the office itself, `root`).
        #[arg(long = "union", value_name = "CODE")]
        union: Option<String>,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        /// The address the laptop uploads to (default: the one `server init` remembered).
        #[arg(long, value_name = "URL")]
        server_url: Option<String>,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Refuse a laptop's token from now on; its cards above the last number it uploaded
    /// become invalid.
    RevokeDevice {
        /// The laptop's name.
        name: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Revoke a member's card (its number goes into the bundle's revoked list).
    Void {
        /// The member number.
        member_no: String,
        /// Why (kept in the office's records only, never in the bundle).
        #[arg(long)]
        reason: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Change the office key: announce the next key, later switch to it (docs/trust.md).
    RotateKey {
        /// The next office key's file (made if missing).
        #[arg(long, value_name = "FILE")]
        next: PathBuf,
        /// Switch to the announced key: it becomes the office key file, the old one is kept
        /// beside it as FILE.old.
        #[arg(long)]
        finish: bool,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Write the verification page and the current bundle for a static HTTPS host.
    PublishVerifier {
        /// The folder to write into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Where the page finds the bundle, relative to the site's root.
        #[arg(long, default_value = "bundle.json", value_name = "PATH")]
        bundle_url: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// The office's copy of all records.
    Export {
        /// File format.
        #[arg(long, value_name = "csv|xlsx|json")]
        format: String,
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Add an office user of the console (password from BOOTH_USER_PASSWORD, else asked).
    AddUser {
        /// The user's login name.
        name: String,
        /// What the user may do: admin (reveal, correct, erase, devices, audit log, exports)
        /// or viewer (figures and masked member lists).
        #[arg(long, value_name = "admin|viewer")]
        role: String,
        /// The node of the union tree the user sees, with everything below it (default: the
        /// whole tree, `root`).
        #[arg(long = "union", value_name = "CODE", default_value = "root")]
        union: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Remove an office user; their sessions end at once.
    RemoveUser {
        /// The user's login name.
        name: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Lift the login limits on an office user: the name's failures and queue and every
    /// address's count of guesses at it are forgotten (audited).
    UnlockUser {
        /// The user's login name.
        name: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// The audit log: views of personal data, reveals, exports, corrections, erasures, user
    /// and device changes (newest first).
    Audit {
        /// Entries to print at most.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// Only this user's entries.
        #[arg(long)]
        actor: Option<String>,
        /// Only this action's entries (e.g. member.reveal).
        #[arg(long)]
        action: Option<String>,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Take a laptop's backup file (`booth backup --out FILE`): its own queue and what it
    /// held for its peers, each laptop's records under its own device, stored once.
    ImportBackup {
        /// The backup file (`-` for standard input).
        file: PathBuf,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// An online, consistent copy of a SQLite office database (while the server runs). The
    /// office key is not in it: keep the key apart. PostgreSQL: pg_dump (docs/operations.md).
    Backup {
        /// The backup file to write (never over an existing file; made 0600).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// sqlite:FILE (the office database to copy)
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// Make a new office database from a backup (refuses an office key other than the
    /// backup's; raises the bundle version past any issued). Without FILE, finishes a restore
    /// made by pg_restore or by hand: the key checked, the bundle version raised.
    Restore {
        /// The backup file (`booth server backup --out FILE`).
        file: Option<PathBuf>,
        /// sqlite:FILE to make (must not exist yet), or the database pg_restore filled
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
    /// The union tree: a city's federation, districts, streets and grassroots unions
    /// (SPEC §11).
    Unions {
        #[command(subcommand)]
        action: UnionsAction,
    },
    /// Counts: members (one per person), by device, by day.
    Stats {
        /// The figures of this node of the union tree and below, with its children's
        /// (`children`).
        #[arg(long = "union", value_name = "CODE")]
        union: Option<String>,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
        #[command(flatten)]
        key: OfficeKeyArg,
    },
}

/// `booth server unions …`.
#[derive(Debug, Subcommand)]
pub enum UnionsAction {
    /// Read the federation's list (csv or xlsx; header code,name,short,parent or
    /// 代码,名称,简称,上级代码): all or nothing; a re-import renames and moves nodes, never
    /// deletes one.
    Import {
        /// The list file.
        file: PathBuf,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Every node of the tree (code, name, short name, parent).
    List {
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Remove a node that holds no union, laptop or user.
    Remove {
        /// The node's code.
        code: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
    /// Move a laptop under a node, with every record and day summary it sent.
    AssignDevice {
        /// The laptop's name.
        name: String,
        /// The node's code.
        code: String,
        /// sqlite:FILE or postgres://USER:PASS@HOST/DB
        #[arg(long, env = "BOOTH_SERVER_DB")]
        db: String,
    },
}

/// The shells `booth completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}
