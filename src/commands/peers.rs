//! `booth peers …` and `booth backup` (SPEC §12), and every other command run through the
//! process that holds the data folder (the local socket, [`crate::local`]): the client side
//! ([`through_holder`], called by `main`) and the holder's dispatch ([`run_request`]: the
//! same [`super::run`], with the holder's store lent to it).

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::FromArgMatches;
use serde_json::json;

use super::setup::{open_store, passphrase_for};
use super::{CliError, Ctx, Output};
use crate::cli::{Cli, Command, PeersAction};
use crate::i18n::Lang;
use crate::local::{self, Reply, Request};
use crate::peers::service::{self, PairFailure, Settings};
use crate::peers::{Service, running};
use crate::store::{Store, StoreError};
use crate::t;

thread_local! {
    /// The holder's store, lent to a command run for the local socket on this thread.
    static LENT: RefCell<Option<Store>> = const { RefCell::new(None) };
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

/// The holder's store, when this thread runs a command for the local socket (each call a
/// handle of its own on the same unlocked folder).
pub fn lent_store() -> Option<Result<Store, StoreError>> {
    LENT.with(|l| l.borrow().as_ref().map(Store::share))
}

/// True while this thread runs a command for the local socket (no progress bars, no
/// terminal: the holder's are not the client's).
pub fn serving() -> bool {
    SERVING.with(Cell::get)
}

/// Commands that never go through a holder: the UI, the office's server, what needs no
/// folder, and `peers run` itself.
fn forwardable(cli: &Cli) -> bool {
    !matches!(
        cli.command,
        None | Some(
            Command::Server { .. }
                | Command::Completions { .. }
                | Command::Man { .. }
                | Command::Peers {
                    action: PeersAction::Run { .. }
                }
        )
    )
}

/// If another process holds `ctx.data_dir`, runs this command line through it and returns
/// the exit status (its output printed); `None` to run it here.
pub fn through_holder(cli: &Cli, ctx: &Ctx) -> Option<u8> {
    if !forwardable(cli) || !local::client::holder_present(&ctx.data_dir) {
        return None;
    }
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
        .ok()?;
    let reads_stdin = args.iter().skip(1).any(|a| a == "-") && !std::io::stdin().is_terminal();
    let stdin = reads_stdin.then(|| {
        let mut s = String::new();
        let _ = std::io::stdin()
            .take(local::MAX_FRAME as u64 / 2)
            .read_to_string(&mut s);
        s
    });
    let request = Request {
        args,
        cwd: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        stdin,
        lang: ctx.lang.code().to_string(),
    };
    let pass = match passphrase_for(ctx) {
        Ok(p) => p,
        Err(e) => {
            e.report(ctx.json);
            return Some(e.exit);
        }
    };
    match local::client::run(&ctx.data_dir, &request, pass.as_bytes()) {
        Ok(local::client::Outcome::NoHolder) => None,
        Ok(local::client::Outcome::Ran(reply)) => {
            if !reply.stdout.is_empty() {
                let mut out = std::io::stdout();
                let _ = writeln!(out, "{}", reply.stdout).and_then(|()| out.flush());
            }
            if !reply.stderr.is_empty() {
                let _ = writeln!(std::io::stderr(), "{}", reply.stderr);
            }
            Some(reply.exit)
        }
        Err(local::client::ClientError::Store(e)) => {
            let e = CliError::store(e, ctx);
            e.report(ctx.json);
            Some(e.exit)
        }
        Err(e) => {
            let e = CliError::new("in_use", e.to_string());
            e.report(ctx.json);
            Some(e.exit)
        }
    }
}

/// Every path argument made absolute against `cwd` (the client's working directory, not
/// the holder's); `-` (standard input or output) stays.
fn absolute_paths(cmd: clap::Command, cwd: &Arc<PathBuf>) -> clap::Command {
    let for_args = cwd.clone();
    let for_subs = cwd.clone();
    cmd.mut_args(move |a| {
        if a.get_value_parser().type_id() == TypeId::of::<PathBuf>() {
            let cwd = for_args.clone();
            a.value_parser(clap::builder::TypedValueParser::map(
                clap::builder::PathBufValueParser::new(),
                move |p: PathBuf| {
                    if p.as_os_str() == "-" { p } else { cwd.join(p) }
                },
            ))
        } else {
            a
        }
    })
    .mut_subcommands(move |sub| absolute_paths(sub, &for_subs))
}

/// Runs a request for the local socket with the holder's store `held` (on any thread).
pub fn run_request(held: &Store, request: &Request) -> Reply {
    let lang = Lang::parse(&request.lang).unwrap_or_default();
    let json_out = request.args.iter().any(|a| a == "--json");
    let cwd = Arc::new(PathBuf::from(&request.cwd));
    let cmd = absolute_paths(crate::cli_help::command(lang), &cwd);
    let parsed = cmd
        .try_get_matches_from(&request.args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let mut cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let usage = crate::cli_help::errors::render(&e, lang);
            let mut err = CliError::new("usage", usage.reason);
            err.exit = 2;
            return reply_error(&err, json_out);
        }
    };
    if let Some(text) = &request.stdin {
        match &mut cli.command {
            Some(Command::Enroll { code, .. }) if code == "-" => *code = text.clone(),
            Some(Command::Verify { payload, .. }) if payload == "-" => *payload = text.clone(),
            _ => {}
        }
    }
    if !forwardable(&cli) {
        let err = CliError::new("in_use", t!(lang, "peers.not_through_holder"));
        return reply_error(&err, json_out);
    }
    let lend = match held.share() {
        Ok(s) => s,
        Err(e) => {
            let err = CliError::new("store", e.message(lang));
            return reply_error(&err, json_out);
        }
    };
    let ctx = Ctx {
        data_dir: held.dir().to_path_buf(),
        json: cli.json,
        lang: cli.lang.as_deref().and_then(Lang::parse).unwrap_or(lang),
        passphrase: None,
    };
    LENT.with(|l| *l.borrow_mut() = Some(lend));
    SERVING.with(|s| s.set(true));
    let result = super::run(&cli, &ctx);
    LENT.with(|l| *l.borrow_mut() = None);
    SERVING.with(|s| s.set(false));
    match result {
        Ok(out) => Reply {
            exit: 0,
            stdout: out.render(ctx.json).unwrap_or_default(),
            stderr: String::new(),
        },
        Err(e) => reply_error(&e, ctx.json),
    }
}

fn reply_error(e: &CliError, json_out: bool) -> Reply {
    let (stderr, stdout) = e.render(json_out);
    Reply {
        exit: e.exit,
        stdout: stdout.unwrap_or_default(),
        stderr,
    }
}

fn no_service(ctx: &Ctx) -> CliError {
    CliError::new("no_peer_service", t!(ctx.lang, "peers.no_service"))
}

fn pair_error(e: PairFailure, ctx: &Ctx) -> CliError {
    match e {
        PairFailure::Store(e) => CliError::store(e, ctx),
        PairFailure::Pair(p) => CliError::new(p.code(), pair_message(&p, ctx.lang)),
    }
}

/// Why a pairing failed, in words (the command line and the UI's peers screen).
pub fn pair_message(p: &crate::peers::pairing::PairError, lang: Lang) -> String {
    use crate::peers::pairing::PairError;
    match p {
        PairError::WrongCode => t!(lang, "peers.wrong_code").into(),
        PairError::NoCode => t!(lang, "peers.no_code").into(),
        PairError::OtherOffice => t!(lang, "peers.other_office").into(),
        PairError::TwoGroups => t!(lang, "peers.two_groups").into(),
        PairError::Itself => t!(lang, "peers.itself").into(),
        PairError::Io(e) => t!(lang, "peers.unreachable", why = e),
        PairError::Invalid(why) => t!(lang, "peers.invalid_answer", why = why),
    }
}

fn address(text: &str, ctx: &Ctx) -> Result<SocketAddr, CliError> {
    service::resolve_address(text)
        .ok_or_else(|| CliError::new("usage", t!(ctx.lang, "peers.bad_address", address = text)))
}

pub fn peers(ctx: &Ctx, action: &PeersAction) -> Result<Output, CliError> {
    match action {
        PeersAction::Code => {
            let h = running().ok_or_else(|| no_service(ctx))?;
            let (code, _) = h
                .new_code()
                .map_err(|e| CliError::new("random", e.to_string()))?;
            let address = h.shown_address();
            Ok(Output {
                human: t!(ctx.lang, "peers.code", code = code, address = address),
                json: json!({ "code": code, "address": address, "valid_seconds": 300 }),
            })
        }
        PeersAction::Pair { code, addr } => {
            let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(CliError::new("usage", t!(ctx.lang, "peers.bad_code")));
            }
            let Some(addr) = addr else {
                return pair_discovered(ctx, &digits);
            };
            let addr = address(addr, ctx)?;
            let name = match running() {
                Some(h) => h.pair(&digits, addr),
                None => {
                    let mut store = open_store(ctx)?;
                    service::pair_offline(&mut store, &digits, addr)
                }
            }
            .map_err(|e| pair_error(e, ctx))?;
            Ok(Output {
                human: t!(ctx.lang, "peers.paired", name = name),
                json: json!({ "paired": name }),
            })
        }
        PeersAction::List => {
            let mut store = open_store(ctx)?;
            let list = service::status(&mut store).map_err(|e| CliError::store(e, ctx))?;
            let conflicts = store
                .peer_conflicts()
                .map_err(|e| CliError::store(e, ctx))?;
            let mut human: Vec<String> = list
                .iter()
                .map(|p| {
                    t!(
                        ctx.lang,
                        "peers.list_line",
                        name = p.name,
                        key_id = p.key_id,
                        address = p.address.clone().unwrap_or_else(|| "-".into()),
                        last_seen = p.last_seen.clone().unwrap_or_else(|| "-".into()),
                        held = p.held
                    )
                })
                .collect();
            if list.is_empty() {
                human.push(t!(ctx.lang, "peers.none").into());
            }
            if let Some(why) = running().and_then(|h| h.replica_problem()) {
                human.push(t!(ctx.lang, "peers.replica_problem", why = why));
            }
            human.push(t!(ctx.lang, "peers.hotspot_hint").into());
            Ok(Output {
                human: human.join("\n"),
                json: json!({
                    "peers": list.iter().map(|p| json!({
                        "name": p.name,
                        "key_id": p.key_id,
                        "address": p.address,
                        "last_seen": p.last_seen,
                        "held": p.held,
                        "connected": p.connected,
                    })).collect::<Vec<_>>(),
                    "conflicts": conflicts,
                }),
            })
        }
        PeersAction::Forget { name } => {
            let n = match running() {
                Some(h) => h.forget(name),
                None => {
                    let mut store = open_store(ctx)?;
                    crate::store::peers::forget(store.peer_connection(), name)
                }
            }
            .map_err(|e| CliError::store(e, ctx))?;
            if n == 0 {
                return Err(CliError::new(
                    "not_found",
                    t!(ctx.lang, "peers.no_such_peer", name = name),
                ));
            }
            Ok(Output {
                human: t!(ctx.lang, "peers.forgotten", name = name),
                json: json!({ "forgotten": n }),
            })
        }
        PeersAction::Run {
            listen,
            no_discovery,
        } => run(ctx, listen.as_deref(), *no_discovery),
    }
}

/// `peers pair CODE` without an address: the laptops discovery found, one after another,
/// until the one showing the code answers (the others show none, and close at once).
fn pair_discovered(ctx: &Ctx, digits: &str) -> Result<Output, CliError> {
    use crate::peers::pairing::PairError;
    let need = || CliError::new("usage", t!(ctx.lang, "peers.need_address"));
    let h = running().ok_or_else(need)?;
    for addr in h.discovered(Duration::from_secs(3)) {
        match h.pair(digits, addr) {
            Ok(name) => {
                return Ok(Output {
                    human: t!(ctx.lang, "peers.paired", name = name),
                    json: json!({ "paired": name }),
                });
            }
            Err(PairFailure::Pair(PairError::NoCode | PairError::Io(_))) => continue,
            Err(e) => return Err(pair_error(e, ctx)),
        }
    }
    Err(need())
}

/// `booth peers run`: holds the folder, runs the peer service and the local socket until
/// SIGTERM, SIGINT or SIGHUP.
fn run(ctx: &Ctx, listen: Option<&str>, no_discovery: bool) -> Result<Output, CliError> {
    let store = open_store(ctx)?;
    let mut settings = Settings {
        discovery: !no_discovery,
        ..Settings::default()
    };
    if let Some(l) = listen {
        settings.listen = address(l, ctx)?;
    }
    let service = Service::start(&store, &settings)
        .map_err(|e| CliError::new("peers", t!(ctx.lang, "peers.cannot_start", why = e)))?;
    let (tx, rx) = std::sync::mpsc::channel::<local::holder::Job>();
    let holder = local::holder::Holder::start(store.dir(), store.local_socket_key(), tx)
        .map_err(|e| CliError::new("peers", t!(ctx.lang, "peers.cannot_start", why = e)))?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&stop));
    }
    let _ = writeln!(
        std::io::stderr(),
        "booth: {}",
        t!(ctx.lang, "peers.running", port = service.port())
    );
    while !stop.load(Ordering::SeqCst) {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => {
                // each on a thread of its own: a long upload does not hold up a registration
                match store.share() {
                    Ok(mine) => {
                        let _ = std::thread::Builder::new()
                            .name("local-command".into())
                            .spawn(move || {
                                let reply = run_request(&mine, &job.request);
                                job.answer(reply);
                            });
                    }
                    Err(e) => job.answer(reply_error(
                        &CliError::new("store", e.message(ctx.lang)),
                        false,
                    )),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(holder);
    drop(service);
    Ok(Output {
        human: t!(ctx.lang, "peers.stopped").into(),
        json: json!({ "stopped": true }),
    })
}

/// `booth backup --out FILE`.
pub fn backup(ctx: &Ctx, out: &Path) -> Result<Output, CliError> {
    let mut store = open_store(ctx)?;
    let r = crate::peers::relay::backup(store.peer_connection(), out)
        .map_err(|e| CliError::new("backup", t!(ctx.lang, "peers.backup_failed", why = e)))?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "peers.backup_done",
            file = out.display(),
            own = r.own_records,
            held = r.held_records
        ),
        json: json!({
            "file": out.display().to_string(),
            "segments": r.segments,
            "own_records": r.own_records,
            "held_records": r.held_records,
        }),
    })
}

/// After this laptop's own upload: what it holds for its peers goes too. `None` when it
/// holds nothing.
pub fn relay_held(
    store: &mut Store,
    settings: &crate::sync::UploadSettings,
    ctx: &Ctx,
) -> Result<Option<crate::peers::relay::RelayReport>, CliError> {
    let conn = store.peer_connection();
    let held = crate::peers::relay::held_total(conn).map_err(|e| CliError::store(e, ctx))?;
    let own = crate::store::trust::device_key(conn)
        .map_err(|e| CliError::store(e, ctx))?
        .0
        .public()
        .to_bytes();
    let holds_any = crate::store::peers::origins(conn)
        .map_err(|e| CliError::store(e, ctx))?
        .iter()
        .any(|o| *o != own);
    if !holds_any {
        return Ok(None);
    }
    crate::peers::relay::upload_held(conn, settings)
        .map(Some)
        .map_err(|e| {
            let why = match &e {
                crate::peers::relay::RelayError::NotSupported(status) => {
                    t!(ctx.lang, "peers.relay_not_supported", status = status)
                }
                other => other.to_string(),
            };
            CliError::new(
                e.code(),
                t!(ctx.lang, "peers.relay_failed", held = held, why = why),
            )
        })
}

/// The refusal of a person a paired laptop registered: where, when, which number — never
/// the other worker's name.
pub fn peer_duplicate(hit: &crate::store::peers::PeerHit, ctx: &Ctx) -> CliError {
    let when = crate::store::parse_timestamp(&hit.at)
        .map(|t| {
            if t.date_naive() == crate::store::now().date_naive() {
                t.format("%H:%M").to_string()
            } else {
                t.format("%Y-%m-%d %H:%M").to_string()
            }
        })
        .unwrap_or_else(|| hit.at.clone());
    let number = hit
        .member_no
        .parse::<crate::card::MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| hit.member_no.clone());
    CliError::new(
        "duplicate_peer",
        t!(
            ctx.lang,
            "peers.duplicate",
            time = when,
            laptop = hit.laptop,
            member_no = number
        ),
    )
    .with(json!({
        "member_no": number,
        "laptop": hit.laptop,
        "registered_at": hit.at,
    }))
}
