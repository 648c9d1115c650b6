//! Segments (SPEC §12, docs/trust.md "Peers"): a laptop's unacknowledged records, voids and
//! day summaries as it hands them to its peers (and to a backup file), sealed to the office
//! and signed by the laptop, with a counter that only goes up.
//!
//! ```text
//! {"format":"booth-segment/1","header":"<b64 of the header JSON>","sealed":"<b64>","signature":"<b64>"}
//! signature = Ed25519 by the origin over "booth-segment/1" ‖ u32 BE header length ‖ header ‖ sealed
//! ```
//!
//! The header is in clear, for peers that hold and forward without reading: who (origin key,
//! its office device name and binding proof), the counter, which office key it is sealed to,
//! and how many records, voids and day summaries it carries — numbers, no person. The sealed
//! part is an upload request body (`docs/upload-protocol.md`, `BatchRequest`) that only the
//! office opens. Signing segments, not records, keeps the cost per record at the bytes of the
//! record.
//!
//! The checks here are pure, for the laptops and the office alike: signature, counter,
//! binding proof, and the sealed body's numbers all of the origin's key.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::VerifyingKey;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::keys::{DeviceKey, acceptable_key, key_id_of, verify_strict};
use super::seal::{OfficeSealKey, SealPublic, derive32};

pub const FORMAT: &str = "booth-segment/1";
const DOMAIN: &[u8] = b"booth-segment/1";
/// HKDF label of the binding key the office keeps per device token (`add-device`).
const BINDING_KEY_INFO: &[u8] = b"booth binding v1";
/// HMAC domain of a binding proof.
const BINDING_DOMAIN: &[u8] = b"booth-binding/1";
/// A segment larger than this is refused unread (a whole day of a busy booth is far less).
pub const MAX_SEGMENT_BYTES: usize = 32 * 1024 * 1024;

/// What anyone may read of a segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The origin laptop's Ed25519 public key (base64url).
    pub origin: String,
    /// Its key id (the first six symbols of its member numbers).
    pub key_id: String,
    /// The origin's device name at the office (from its enrolment code), when enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// HMAC(binding key, device name ‖ origin key): proves to the office that whoever held
    /// the device's token made this key, for a laptop lost before its first upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// Goes up by one with every segment of the origin.
    pub counter: u64,
    /// The office sealing key the body is sealed to (base64url).
    pub seal_key: String,
    /// RFC 3339, the origin's clock.
    pub created_at: String,
    pub records: u64,
    pub voids: u64,
    pub days: u64,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    header: String,
    sealed: String,
    signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("not a booth-segment/1 document")]
    Format,
    #[error("the segment is malformed ({0})")]
    Malformed(&'static str),
    #[error("the segment is too large")]
    TooLarge,
    #[error("the segment's origin key is not a valid key")]
    BadOrigin,
    #[error("the segment's signature does not match (forged or altered)")]
    Signature,
    #[error("counter {counter} is not above {last}, the last one taken from this laptop")]
    Replayed { counter: u64, last: u64 },
    #[error("the segment is sealed to another office key")]
    OtherOffice,
    #[error("the segment does not open with the office's key")]
    Sealed,
    #[error("the binding proof does not match the device's token")]
    Binding,
    #[error("the segment names no device or carries no binding proof")]
    Unbound,
    #[error("the segment comes from another key than the one the device is bound to")]
    OtherKey,
    #[error("the segment's body carries a number of another key ({0})")]
    ForeignNumber(String),
}

impl SegmentError {
    /// Stable codes, as the upload protocol's refusals.
    pub fn code(&self) -> &'static str {
        match self {
            SegmentError::Format => "segment_format",
            SegmentError::Malformed(_) => "segment_malformed",
            SegmentError::TooLarge => "segment_too_large",
            SegmentError::BadOrigin => "bad_device_key",
            SegmentError::Signature => "bad_segment_signature",
            SegmentError::Replayed { .. } => "segment_replayed",
            SegmentError::OtherOffice => "segment_other_office",
            SegmentError::Sealed => "segment_sealed",
            SegmentError::Binding => "bad_binding_proof",
            SegmentError::Unbound => "unbound_device",
            SegmentError::OtherKey => "token_bound_to_other_key",
            SegmentError::ForeignNumber(_) => "foreign_member_number",
        }
    }
}

/// A segment whose origin signature checked out (the body stays sealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub header: Header,
    pub origin: VerifyingKey,
    pub sealed: Vec<u8>,
    /// The envelope as received: what peers keep and pass on, byte for byte.
    pub text: String,
}

/// What the origin says about a segment it makes.
pub struct Making<'a> {
    pub device: Option<&'a str>,
    pub binding: Option<[u8; 32]>,
    pub counter: u64,
    pub created_at: String,
    pub records: u64,
    pub voids: u64,
    pub days: u64,
}

fn signed_message(header: &[u8], sealed: &[u8]) -> Vec<u8> {
    let len = u32::try_from(header.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes();
    [DOMAIN, &len, header, sealed].concat()
}

fn b64(text: &str, what: &'static str) -> Result<Vec<u8>, SegmentError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| SegmentError::Malformed(what))
}

impl Segment {
    /// Seals `body` (an upload request body) to the office and signs the whole.
    pub fn make(
        key: &DeviceKey,
        seal: &SealPublic,
        m: &Making<'_>,
        body: &[u8],
    ) -> Result<Segment, super::seal::SealError> {
        let header = Header {
            origin: BASE64URL_NOPAD.encode(key.public().as_bytes()),
            key_id: key.key_id().to_string(),
            device: m.device.map(str::to_string),
            binding: m.binding.map(|b| BASE64URL_NOPAD.encode(&b)),
            counter: m.counter,
            seal_key: seal.to_text(),
            created_at: m.created_at.clone(),
            records: m.records,
            voids: m.voids,
            days: m.days,
        };
        let header_bytes = serde_json::to_vec(&header).unwrap_or_default();
        let sealed = seal.seal(body)?;
        let signature = key.sign(&signed_message(&header_bytes, &sealed));
        let text = serde_json::to_string(&Envelope {
            format: FORMAT.into(),
            header: BASE64URL_NOPAD.encode(&header_bytes),
            sealed: BASE64URL_NOPAD.encode(&sealed),
            signature: BASE64URL_NOPAD.encode(&signature),
        })
        .unwrap_or_default();
        Ok(Segment {
            header,
            origin: key.public(),
            sealed,
            text,
        })
    }

    /// Reads a segment and checks its origin's signature (strict Ed25519) and that the key
    /// id is the key's. Nothing is opened.
    pub fn open(text: &str) -> Result<Segment, SegmentError> {
        if text.len() > MAX_SEGMENT_BYTES {
            return Err(SegmentError::TooLarge);
        }
        let env: Envelope =
            serde_json::from_str(text).map_err(|_| SegmentError::Malformed("json"))?;
        if env.format != FORMAT {
            return Err(SegmentError::Format);
        }
        let header_bytes = b64(&env.header, "header")?;
        let sealed = b64(&env.sealed, "sealed")?;
        let signature: [u8; 64] = b64(&env.signature, "signature")?
            .try_into()
            .map_err(|_| SegmentError::Malformed("signature"))?;
        let header: Header =
            serde_json::from_slice(&header_bytes).map_err(|_| SegmentError::Malformed("header"))?;
        let origin_bytes: [u8; 32] = b64(&header.origin, "origin")?
            .try_into()
            .map_err(|_| SegmentError::BadOrigin)?;
        let origin = acceptable_key(&origin_bytes).map_err(|_| SegmentError::BadOrigin)?;
        if key_id_of(&origin) != header.key_id {
            return Err(SegmentError::BadOrigin);
        }
        if !verify_strict(&origin, &signed_message(&header_bytes, &sealed), &signature) {
            return Err(SegmentError::Signature);
        }
        if header.counter == 0 {
            return Err(SegmentError::Malformed("counter"));
        }
        Ok(Segment {
            header,
            origin,
            sealed,
            text: text.to_string(),
        })
    }

    /// The sealed body, opened with the office's key.
    pub fn unseal(&self, office: &OfficeSealKey) -> Result<Vec<u8>, SegmentError> {
        if office.public().to_text() != self.header.seal_key {
            return Err(SegmentError::OtherOffice);
        }
        office.open(&self.sealed).map_err(|_| SegmentError::Sealed)
    }

    /// The records, voids and day summaries counted in the header.
    pub fn items(&self) -> u64 {
        self.header.records + self.header.voids + self.header.days
    }
}

/// The counter rule: a segment is taken only above the last counter taken from its origin,
/// so no relay can put an older day summary or void list over a newer one.
pub fn check_counter(last: Option<u64>, counter: u64) -> Result<(), SegmentError> {
    match last {
        Some(last) if counter <= last => Err(SegmentError::Replayed { counter, last }),
        _ => Ok(()),
    }
}

/// The key the office keeps for a device token (`add-device`): HKDF of the token. The token
/// itself never leaves the laptop it was given to.
pub fn binding_key(token: &str) -> Zeroizing<[u8; 32]> {
    derive32(token.as_bytes(), BINDING_KEY_INFO)
}

fn binding_mac(binding_key: &[u8; 32], device: &str, origin: &VerifyingKey) -> hmac::Hmac<Sha256> {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(binding_key)
        .expect("HMAC takes any key length");
    mac.update(BINDING_DOMAIN);
    mac.update(
        &u32::try_from(device.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    mac.update(device.as_bytes());
    mac.update(origin.as_bytes());
    mac
}

/// The laptop's proof, made at enrolment from its token: HMAC(binding key, device name ‖
/// its public key).
pub fn binding_proof(token: &str, device: &str, origin: &VerifyingKey) -> [u8; 32] {
    binding_mac(&binding_key(token), device, origin)
        .finalize()
        .into_bytes()
        .into()
}

/// The office's check of a segment's binding proof against the binding key it kept for the
/// device the segment names (constant time).
pub fn check_binding(segment: &Segment, binding_key: &[u8; 32]) -> Result<(), SegmentError> {
    let (Some(device), Some(proof)) = (&segment.header.device, &segment.header.binding) else {
        return Err(SegmentError::Unbound);
    };
    let proof = b64(proof, "binding")?;
    binding_mac(binding_key, device, &segment.origin)
        .verify_slice(&proof)
        .map_err(|_| SegmentError::Binding)
}

/// The member numbers of a sealed body (an upload request body), to check they are all the
/// origin's; the office then ingests the body as that device's upload.
#[derive(Deserialize)]
struct BodyNumbers {
    device_key_id: String,
    #[serde(default)]
    records: Vec<BodyRecord>,
    #[serde(default)]
    voids: Vec<String>,
}

#[derive(Deserialize)]
struct BodyRecord {
    member_no: String,
}

/// Everything the office checks before it ingests a relayed segment, in order: the
/// signature (done by [`Segment::open`]), the counter against the last one taken from this
/// origin, the origin against the device's key — the key the device's token is bound to,
/// or, for a device not bound yet, the binding proof under the device's binding key — the
/// seal, and every number in the body of the origin's key. Returns the body, which the
/// office ingests with the same rules as an upload of that device.
pub fn accept(
    segment: &Segment,
    office: &OfficeSealKey,
    last_counter: Option<u64>,
    bound: Option<&VerifyingKey>,
    binding_key: Option<&[u8; 32]>,
) -> Result<Vec<u8>, SegmentError> {
    check_counter(last_counter, segment.header.counter)?;
    match (bound, binding_key) {
        (Some(k), _) if *k != segment.origin => return Err(SegmentError::OtherKey),
        (Some(_), _) => {}
        (None, Some(bk)) => check_binding(segment, bk)?,
        (None, None) => return Err(SegmentError::Unbound),
    }
    let body = segment.unseal(office)?;
    let numbers: BodyNumbers =
        serde_json::from_slice(&body).map_err(|_| SegmentError::Malformed("body"))?;
    let id = &segment.header.key_id;
    if &numbers.device_key_id != id {
        return Err(SegmentError::ForeignNumber(numbers.device_key_id));
    }
    let foreign = numbers
        .records
        .iter()
        .map(|r| r.member_no.as_str())
        .chain(numbers.voids.iter().map(String::as_str))
        .find(|n| !n.starts_with(id.as_str()));
    if let Some(n) = foreign {
        return Err(SegmentError::ForeignNumber(n.to_string()));
    }
    Ok(body)
}

/// A backup file (`booth backup --out FILE`): segments — the laptop's own queue as one
/// segment, and those it holds for peers — in a document the laptop signs. Each segment
/// stands on its origin's signature; the file's signature says which laptop wrote it.
pub const BACKUP_FORMAT: &str = "booth-backup/1";
const BACKUP_DOMAIN: &[u8] = b"booth-backup/1";

#[derive(Serialize, Deserialize)]
struct Backup {
    format: String,
    by: String,
    made_at: String,
    segments: Vec<String>,
    signature: String,
}

fn backup_message(made_at: &str, segments: &[String]) -> Vec<u8> {
    let mut m = BACKUP_DOMAIN.to_vec();
    m.extend_from_slice(&u32::try_from(made_at.len()).unwrap_or(0).to_be_bytes());
    m.extend_from_slice(made_at.as_bytes());
    for s in segments {
        m.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        m.extend_from_slice(s.as_bytes());
    }
    m
}

/// Writes a backup document of `segments`, signed by `key`.
pub fn backup_text(key: &DeviceKey, made_at: &str, segments: &[String]) -> String {
    let signature = key.sign(&backup_message(made_at, segments));
    serde_json::to_string(&Backup {
        format: BACKUP_FORMAT.into(),
        by: BASE64URL_NOPAD.encode(key.public().as_bytes()),
        made_at: made_at.to_string(),
        segments: segments.to_vec(),
        signature: BASE64URL_NOPAD.encode(&signature),
    })
    .unwrap_or_default()
}

/// Reads a backup document: the writer's key and signature, then every segment (each
/// checked as [`Segment::open`] does; one that fails refuses the file).
pub fn open_backup(text: &str) -> Result<(VerifyingKey, Vec<Segment>), SegmentError> {
    let b: Backup = serde_json::from_str(text).map_err(|_| SegmentError::Malformed("json"))?;
    if b.format != BACKUP_FORMAT {
        return Err(SegmentError::Format);
    }
    let by: [u8; 32] = b64(&b.by, "by")?
        .try_into()
        .map_err(|_| SegmentError::BadOrigin)?;
    let by = acceptable_key(&by).map_err(|_| SegmentError::BadOrigin)?;
    let signature: [u8; 64] = b64(&b.signature, "signature")?
        .try_into()
        .map_err(|_| SegmentError::Malformed("signature"))?;
    if !verify_strict(&by, &backup_message(&b.made_at, &b.segments), &signature) {
        return Err(SegmentError::Signature);
    }
    let segments = b
        .segments
        .iter()
        .map(|s| Segment::open(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((by, segments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::office::OfficeKey;

    fn body(key: &DeviceKey, numbers: &[&str]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "batch_id": "00000000-0000-4000-8000-000000000000",
            "device_key_id": key.key_id(),
            "records": numbers.iter().map(|n| serde_json::json!({"member_no": n})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    fn making(counter: u64, device: Option<&str>, binding: Option<[u8; 32]>) -> Making<'_> {
        Making {
            device,
            binding,
            counter,
            created_at: "2026-11-24T10:42:00+08:00".into(),
            records: 1,
            voids: 0,
            days: 1,
        }
    }

    #[test]
    fn a_segment_opens_for_the_office_only_and_counts_up() {
        let office = OfficeKey::generate().unwrap();
        let seal = office.seal_key();
        let laptop = DeviceKey::from_secret(&[7; 32]);
        let n = format!("{}00427", laptop.key_id());
        let token = "tok_lap-a";
        let proof = binding_proof(token, "lap-a", &laptop.public());
        let seg = Segment::make(
            &laptop,
            &seal.public(),
            &making(3, Some("lap-a"), Some(proof)),
            &body(&laptop, &[&n]),
        )
        .unwrap();
        let read = Segment::open(&seg.text).unwrap();
        assert_eq!(read, seg);
        assert_eq!(read.items(), 2);
        // a peer sees numbers, never the body
        assert!(!seg.text.contains(&n));
        // the office, the device not bound yet: binding proof under the token's key
        let bk = binding_key(token);
        let got = accept(&read, &seal, Some(2), None, Some(&bk)).unwrap();
        assert_eq!(got, body(&laptop, &[&n]));
        // bound already to this key: no proof needed
        assert!(accept(&read, &seal, None, Some(&laptop.public()), None).is_ok());
        // replayed, or an older counter
        assert_eq!(
            accept(&read, &seal, Some(3), None, Some(&bk)).unwrap_err(),
            SegmentError::Replayed {
                counter: 3,
                last: 3
            }
        );
        assert!(check_counter(Some(4), 3).is_err());
        assert!(check_counter(None, 1).is_ok());
        // another office cannot open it
        let other = OfficeKey::generate().unwrap().seal_key();
        assert_eq!(
            accept(&read, &other, None, Some(&laptop.public()), None).unwrap_err(),
            SegmentError::OtherOffice
        );
    }

    #[test]
    fn a_backup_file_is_signed_by_its_writer_and_each_segment_by_its_origin() {
        let office = OfficeKey::generate().unwrap().seal_key();
        let a = DeviceKey::from_secret(&[7; 32]);
        let b = DeviceKey::from_secret(&[8; 32]);
        let own =
            Segment::make(&a, &office.public(), &making(1, None, None), &body(&a, &[])).unwrap();
        let held =
            Segment::make(&b, &office.public(), &making(4, None, None), &body(&b, &[])).unwrap();
        let text = backup_text(
            &a,
            "2026-11-24T18:00:00+08:00",
            &[own.text.clone(), held.text],
        );
        let (by, segs) = open_backup(&text).unwrap();
        assert_eq!(by, a.public());
        assert_eq!(segs.len(), 2);
        assert_eq!(segs[1].origin, b.public());
        // a segment dropped from the file
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut cut = v.clone();
        cut["segments"] = serde_json::json!([own.text]);
        assert_eq!(
            open_backup(&cut.to_string()).unwrap_err(),
            SegmentError::Signature
        );
    }

    #[test]
    fn forged_and_altered_segments_are_refused() {
        let office = OfficeKey::generate().unwrap();
        let seal = office.seal_key();
        let laptop = DeviceKey::from_secret(&[7; 32]);
        let thief = DeviceKey::from_secret(&[9; 32]);
        let n = format!("{}00427", laptop.key_id());
        let seg = Segment::make(
            &laptop,
            &seal.public(),
            &making(1, None, None),
            &body(&laptop, &[&n]),
        )
        .unwrap();
        let env: serde_json::Value = serde_json::from_str(&seg.text).unwrap();
        let with = |field: &str, value: String| {
            let mut e = env.clone();
            e[field] = value.into();
            e.to_string()
        };
        // one bit of the sealed body changed
        let mut sealed = seg.sealed.clone();
        sealed[50] ^= 1;
        let altered = with("sealed", BASE64URL_NOPAD.encode(&sealed));
        assert_eq!(Segment::open(&altered), Err(SegmentError::Signature));
        // the header's counter raised
        let mut h = seg.header.clone();
        h.counter = 99;
        let raised = with(
            "header",
            BASE64URL_NOPAD.encode(&serde_json::to_vec(&h).unwrap()),
        );
        assert_eq!(Segment::open(&raised), Err(SegmentError::Signature));
        // the origin's key replaced by a thief's, signature left
        let mut h = seg.header.clone();
        h.origin = BASE64URL_NOPAD.encode(thief.public().as_bytes());
        h.key_id = thief.key_id().into();
        let swapped = with(
            "header",
            BASE64URL_NOPAD.encode(&serde_json::to_vec(&h).unwrap()),
        );
        assert_eq!(Segment::open(&swapped), Err(SegmentError::Signature));
        // a key id that is not the key's
        let mut h = seg.header.clone();
        h.key_id = "000000".into();
        let bad_id = with(
            "header",
            BASE64URL_NOPAD.encode(&serde_json::to_vec(&h).unwrap()),
        );
        assert_eq!(Segment::open(&bad_id), Err(SegmentError::BadOrigin));
        assert_eq!(Segment::open("{}"), Err(SegmentError::Malformed("json")));

        // the thief re-signs the laptop's sealed body as its own: the numbers are not its
        let stolen = Segment::make(
            &thief,
            &seal.public(),
            &making(1, None, None),
            &body(&laptop, &[&n]),
        )
        .unwrap();
        assert!(matches!(
            accept(&stolen, &seal, None, Some(&thief.public()), None),
            Err(SegmentError::ForeignNumber(_))
        ));
        // … and claims the laptop's device: bound to another key, or no valid proof
        assert_eq!(
            accept(&stolen, &seal, None, Some(&laptop.public()), None).unwrap_err(),
            SegmentError::OtherKey
        );
        let forged_proof = binding_proof("guessed-token", "lap-a", &thief.public());
        let claim = Segment::make(
            &thief,
            &seal.public(),
            &making(1, Some("lap-a"), Some(forged_proof)),
            &body(&thief, &[]),
        )
        .unwrap();
        assert_eq!(
            accept(&claim, &seal, None, None, Some(&binding_key("tok_lap-a"))).unwrap_err(),
            SegmentError::Binding
        );
        // without any proof, an unbound device takes nothing
        assert_eq!(
            accept(&stolen, &seal, None, None, None).unwrap_err(),
            SegmentError::Unbound
        );
    }
}
