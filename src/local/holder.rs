//! The holder's side of the local socket: a thread accepts connections on
//! `<data>/booth.sock`, checks each client's proof, and hands the request to the owning loop
//! as a [`Job`]; the loop runs it with its store and answers. Refusals (wrong passphrase,
//! locked) are answered here, without the loop.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use hmac::Mac;
use zeroize::Zeroizing;

use super::{Auth, Hello, Reply, Request, proof, read_frame, socket_path, write_frame};
use crate::i18n::Lang;
use crate::t;

/// A checked request for the owning loop. Dropping it unanswered answers exit 1.
pub struct Job {
    pub request: Request,
    reply: mpsc::Sender<Reply>,
}

impl std::fmt::Debug for Job {
    // the command line may hold a name or an ID number: nothing of it is said
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl Job {
    pub fn answer(self, reply: Reply) {
        let _ = self.reply.send(reply);
    }
}

/// The socket, while it is open. Dropping it closes the socket and removes the file.
pub struct Holder {
    path: PathBuf,
    locked: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Holder {
    /// Opens `<dir>/booth.sock` (0600; a file left by a holder that died is replaced: this
    /// process holds the folder's lock, so no other holder is alive) and starts accepting.
    /// `key` is [`crate::store::Store::local_socket_key`].
    pub fn start(
        dir: &Path,
        key: Zeroizing<[u8; 32]>,
        jobs: mpsc::Sender<Job>,
    ) -> std::io::Result<Holder> {
        let path = socket_path(dir);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let locked = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let key = Arc::new(key);
        {
            let (locked, stop) = (locked.clone(), stop.clone());
            std::thread::Builder::new()
                .name("local-socket".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let (key, locked, jobs) = (key.clone(), locked.clone(), jobs.clone());
                        let _ = std::thread::Builder::new()
                            .name("local-request".into())
                            .spawn(move || {
                                if let Err(e) = serve(conn, &key, &locked, &jobs) {
                                    tracing::debug!(error = %e, "local socket client gone");
                                }
                            });
                    }
                })?;
        }
        tracing::info!("local socket open");
        Ok(Holder { path, locked, stop })
    }

    /// Locked: every request is refused until unlocked again (the UI's lock screen).
    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake the accepting thread so it sees the stop
        let _ = UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A refusal of `request` as the client prints it: one line on stderr, and for a script
/// that asked for `--json` the usual error object on stdout.
pub fn refusal(request: &Request, code: &str, message: String) -> Reply {
    let json_out = request.args.iter().any(|a| a == "--json");
    Reply {
        exit: 1,
        stdout: if json_out {
            serde_json::json!({"ok": false, "error": code, "message": message}).to_string()
        } else {
            String::new()
        },
        stderr: format!("booth: {message}"),
    }
}

fn serve(
    mut conn: UnixStream,
    key: &[u8; 32],
    locked: &AtomicBool,
    jobs: &mpsc::Sender<Job>,
) -> std::io::Result<()> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(std::io::Error::other)?;
    write_frame(
        &mut conn,
        &Hello {
            challenge: data_encoding::HEXLOWER.encode(&challenge),
        },
    )?;
    // the client derives its key (one Argon2id run) after it connected
    conn.set_read_timeout(Some(Duration::from_secs(120)))?;
    let auth: Auth = read_frame(&mut conn)?;
    conn.set_read_timeout(None)?;
    let lang = Lang::parse(&auth.request.lang).unwrap_or_default();
    let request_bytes = serde_json::to_vec(&auth.request).map_err(std::io::Error::other)?;
    let given = data_encoding::HEXLOWER_PERMISSIVE
        .decode(auth.proof.as_bytes())
        .unwrap_or_default();
    if proof(key, &challenge, &request_bytes)
        .verify_slice(&given)
        .is_err()
    {
        tracing::warn!("local socket: wrong passphrase");
        // as slow as a wrong passphrase on the folder itself, give or take
        std::thread::sleep(Duration::from_millis(500));
        return write_frame(
            &mut conn,
            &refusal(
                &auth.request,
                "wrong_passphrase",
                t!(lang, "store.wrong_passphrase").into(),
            ),
        );
    }
    if locked.load(Ordering::SeqCst) {
        return write_frame(
            &mut conn,
            &refusal(&auth.request, "locked", t!(lang, "local.locked").into()),
        );
    }
    let (tx, rx) = mpsc::channel();
    let request = auth.request.clone();
    let job = Job {
        request: auth.request,
        reply: tx,
    };
    if jobs.send(job).is_err() {
        return write_frame(
            &mut conn,
            &refusal(&request, "in_use", t!(lang, "local.closing").into()),
        );
    }
    let reply = rx.recv().unwrap_or(Reply {
        exit: 1,
        stdout: String::new(),
        stderr: format!("booth: {}", t!(lang, "local.closing")),
    });
    write_frame(&mut conn, &reply)
}
