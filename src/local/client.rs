//! The client's side of the local socket: a command on a folder that another process holds
//! sends its command line there instead of opening the store.

use std::os::unix::net::UnixStream;
use std::path::Path;

use hmac::Mac;

use super::{Auth, Hello, Reply, Request, proof, read_frame, socket_path, write_frame};
use crate::store::StoreError;

/// How a request went.
pub enum Outcome {
    /// Nobody holds the folder (no socket, or one a holder that died left): run here.
    NoHolder,
    /// The holder ran it (or refused it); this is what to print and exit with.
    Ran(Reply),
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the running booth went away: {0}")]
    Io(#[from] std::io::Error),
}

/// True when a holder may be listening (the socket file exists); no connection is made.
pub fn holder_present(dir: &Path) -> bool {
    socket_path(dir).exists()
}

/// Sends `request` to the holder of `dir`, proving `passphrase`.
pub fn run(dir: &Path, request: &Request, passphrase: &[u8]) -> Result<Outcome, ClientError> {
    let mut conn = match UnixStream::connect(socket_path(dir)) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(Outcome::NoHolder);
        }
        Err(e) => return Err(e.into()),
    };
    let hello: Hello = read_frame(&mut conn)?;
    let challenge = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hello.challenge.as_bytes())
        .unwrap_or_default();
    let store_key = crate::store::peers::derive_store_key(dir, passphrase)?;
    let key = crate::store::peers::local_socket_key(&store_key);
    let request_bytes = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    let mac = proof(&key, &challenge, &request_bytes);
    write_frame(
        &mut conn,
        &Auth {
            proof: data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()),
            request: request.clone(),
        },
    )?;
    Ok(Outcome::Ran(read_frame(&mut conn)?))
}
