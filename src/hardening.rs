//! Process-level protections for a laptop holding sensitive personal information.

/// Files this process creates are private to the user (0600, folders 0700), no core dump can
/// spill decrypted records or the database key to disk, and the exit cannot crash in OpenSSL.
pub fn protect_process() {
    // OpenSSL (SQLCipher's page cipher) frees its state in an `atexit` handler unless told
    // not to; a worker thread still closing its database connection at that moment crashes
    // the exit (openssl/openssl#3505). Initialising it here, first, with NO_ATEXIT (what this
    // call does) leaves the memory to the kernel.
    openssl_sys::init();
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit, umask};
        umask(rustix::fs::Mode::from_raw_mode(0o077));
        let no_core = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        // best effort: a refusal leaves the (already restrictive) defaults
        let _ = setrlimit(Resource::Core, no_core);
        #[cfg(target_os = "linux")]
        let _ =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
}

/// Takes `BOOTH_PASSPHRASE` out of the environment, so that no child process (`lp`, a
/// printer helper) inherits it. Call before any thread is spawned.
pub fn take_passphrase_from_env() -> Option<zeroize::Zeroizing<String>> {
    let value = std::env::var("BOOTH_PASSPHRASE").ok()?;
    // SAFETY: called at start-up while the process is single-threaded.
    unsafe { std::env::remove_var("BOOTH_PASSPHRASE") };
    Some(zeroize::Zeroizing::new(value))
}
