/* Booth verification page: the checks, without any page (docs/trust.md, docs/qr-payload.md).
 * Runs on Chrome 78 (WeChat's XWeb): no `?.`, `??`, class fields or top-level await.
 * Exposes window.BoothCore. */
(function () {
  'use strict';

  var ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  var BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  var PREFIX = 'GH1:';
  var VERSION = 1;
  var HEADER_LEN = 11;
  var SIG_LEN = 64;
  var MAX_UNION_BYTES = 24;
  var MAX_PAYLOAD_BYTES = 256;
  var DEVICE_LEN = 6;
  var SEQ_LEN = 4;
  var MAX_SEQ = 1048575;
  var BUNDLE_FORMAT = 'booth-bundle/1';
  var CARD_DOMAIN = utf8('booth-card/1');
  var BUNDLE_DOMAIN = utf8(BUNDLE_FORMAT);
  var DAY_MS = 86400000;
  var EPOCH_MS = Date.UTC(2020, 0, 1);

  /** A refusal with a stable reason code (the same codes as `booth verify --json`). */
  function Refusal(code, detail) {
    this.name = 'Refusal';
    this.code = code;
    this.detail = detail === undefined ? null : detail;
    this.message = code + (detail ? ': ' + detail : '');
  }
  Refusal.prototype = Object.create(Error.prototype);
  Refusal.prototype.constructor = Refusal;

  function refuse(code, detail) {
    throw new Refusal(code, detail);
  }

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  // ---------------------------------------------------------------- base64url (RFC 4648 §5)

  var B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  /** Unpadded base64url, refusing padding, other characters and non-zero trailing bits
   * (as the Rust side's data_encoding BASE64URL_NOPAD does). Returns null when invalid. */
  function b64urlDecode(text) {
    if (typeof text !== 'string' || text.length % 4 === 1) return null;
    var out = new Uint8Array(Math.floor(text.length * 3 / 4));
    var acc = 0;
    var bits = 0;
    var n = 0;
    for (var i = 0; i < text.length; i++) {
      var v = B64URL.indexOf(text.charAt(i));
      if (v < 0) return null;
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[n++] = (acc >> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
    if (acc !== 0) return null;
    return out;
  }

  function b64urlEncode(bytes) {
    var s = '';
    var acc = 0;
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      acc = (acc << 8) | bytes[i];
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        s += B64URL.charAt((acc >> bits) & 63);
      }
      acc &= (1 << bits) - 1;
    }
    if (bits > 0) s += B64URL.charAt((acc << (6 - bits)) & 63);
    return s;
  }

  // ---------------------------------------------------------------- base45 (RFC 9285)

  /** Decodes like the Rust `base45` crate 3.2 does, so both give the same verdicts:
   * groups of three, a final pair, refusing a single leftover character and groups above
   * 65535 (a final pair above 255 keeps its low byte, as the crate does). Returns null
   * when invalid. */
  function base45Decode(text) {
    var values = [];
    for (var i = 0; i < text.length; i++) {
      var v = BASE45.indexOf(text.charAt(i));
      if (v < 0) return null;
      values.push(v);
    }
    var rest = values.length % 3;
    if (rest === 1) return null;
    var out = [];
    var full = values.length - rest;
    for (var j = 0; j < full; j += 3) {
      var n = values[j] + values[j + 1] * 45 + values[j + 2] * 2025;
      if (n > 65535) return null;
      out.push(n >> 8, n & 0xff);
    }
    if (rest === 2) out.push((values[full] + values[full + 1] * 45) & 0xff);
    return new Uint8Array(out);
  }

  // ---------------------------------------------------------------- member numbers (number.rs)

  /** Multiplication by 2 in GF(32) with the reduction polynomial x⁵ + x² + 1. */
  function times2(x) {
    var y = x << 1;
    return y & 0x20 ? (y ^ 0x25) & 0x1f : y;
  }

  function damm(values) {
    var acc = 0;
    for (var i = 0; i < values.length; i++) acc = times2(acc) ^ values[i];
    return acc;
  }

  /** The check symbol's value for the given symbol values. */
  function checkValue(values) {
    return times2(damm(values));
  }

  /** True if the values (check symbol last) pass the Damm check. */
  function passes(values) {
    return damm(values) === 0;
  }

  function encodeSymbols(n, len) {
    var s = '';
    for (var i = len - 1; i >= 0; i--) s += ALPHABET.charAt(Math.floor(n / Math.pow(32, i)) % 32);
    return s;
  }

  /** First 30 bits of a digest as a 6-symbol key id (number.rs key_id_from_digest). */
  function keyIdFromDigest(digest) {
    var n = ((digest[0] << 24) >>> 0) + (digest[1] << 16) + (digest[2] << 8) + digest[3];
    return encodeSymbols(Math.floor(n / 4), DEVICE_LEN);
  }

  function grouped(no) {
    return no.slice(0, DEVICE_LEN) + '-' + no.slice(DEVICE_LEN, DEVICE_LEN + SEQ_LEN) + '-' +
      no.slice(DEVICE_LEN + SEQ_LEN);
  }

  function seqOf(no) {
    var n = 0;
    for (var i = DEVICE_LEN; i < DEVICE_LEN + SEQ_LEN; i++) n = n * 32 + ALPHABET.indexOf(no.charAt(i));
    return n;
  }

  /** 7 bytes, 55 bits left-aligned in 56, into 11 symbols; null if the check fails. */
  function unpackMemberNo(bytes) {
    var values = [];
    for (var i = 0; i < 11; i++) {
      var v = 0;
      for (var b = 0; b < 5; b++) {
        var bit = 5 * i + b;
        v = (v << 1) | ((bytes[bit >> 3] >> (7 - (bit & 7))) & 1);
      }
      values.push(v);
    }
    if (!passes(values)) return null;
    var s = '';
    for (var j = 0; j < values.length; j++) s += ALPHABET.charAt(values[j]);
    return s;
  }

  // ---------------------------------------------------------------- the payload (payload.rs)

  /** member::text::is_hazardous: controls and invisible or direction-changing characters. */
  function isHazardous(u) {
    return u <= 0x1f || (u >= 0x7f && u <= 0x9f) ||
      u === 0x00ad || u === 0x034f || u === 0x061c || u === 0x115f || u === 0x1160 ||
      u === 0x17b4 || u === 0x17b5 || (u >= 0x180b && u <= 0x180f) ||
      (u >= 0x200b && u <= 0x200f) || (u >= 0x2028 && u <= 0x202e) ||
      (u >= 0x2060 && u <= 0x206f) || u === 0x3164 || (u >= 0xfe00 && u <= 0xfe0f) ||
      u === 0xfeff || u === 0xffa0 || (u >= 0xfff0 && u <= 0xfffb) || u === 0xfffe ||
      u === 0xffff || (u >= 0x1d173 && u <= 0x1d17a) || (u >= 0xe0000 && u <= 0xe007f) ||
      (u >= 0xe0100 && u <= 0xe01ef);
  }

  // Rust's char::is_whitespace (Unicode White_Space), which payload::trim_line trims, less space.
  var TRIMMED = '\t\n\u000b\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006' +
    '\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

  /** Trims what scanners and pipes add around a payload (line breaks, tabs), never a space. */
  function trimLine(text) {
    var start = 0;
    var end = text.length;
    while (start < end && TRIMMED.indexOf(text.charAt(start)) >= 0) start++;
    while (end > start && TRIMMED.indexOf(text.charAt(end - 1)) >= 0) end--;
    return text.slice(start, end);
  }

  var gb18030 = null;

  function decodeUnion(bytes) {
    if (!gb18030) gb18030 = new TextDecoder('gb18030', { fatal: true });
    var text;
    try {
      text = gb18030.decode(bytes);
    } catch (e) {
      return null;
    }
    for (var i = 0; i < text.length; i++) {
      var u = text.codePointAt(i);
      if (isHazardous(u)) return null;
      if (u > 0xffff) i++;
    }
    return text;
  }

  function isoDate(days) {
    return new Date(EPOCH_MS + days * DAY_MS).toISOString().slice(0, 10);
  }

  /** Parses a payload (`GH1:…`) without checking the signature; throws a Refusal. */
  function decodePayload(payload) {
    payload = trimLine(String(payload));
    if (payload === '') refuse('empty');
    if (utf8(payload).length > MAX_PAYLOAD_BYTES) refuse('too_long');
    if (payload.slice(0, PREFIX.length) !== PREFIX) refuse('not_booth');
    var bytes = base45Decode(payload.slice(PREFIX.length));
    if (!bytes) refuse('not_base45');
    if (bytes.length === 0) refuse('truncated');
    if (bytes[0] !== VERSION) refuse('version', String(bytes[0]));
    if (bytes.length < HEADER_LEN + SIG_LEN) refuse('truncated');
    var unionLen = bytes[10];
    var bodyLen = HEADER_LEN + unionLen;
    if (bytes.length < bodyLen + SIG_LEN) refuse('truncated');
    if (bytes.length > bodyLen + SIG_LEN || unionLen > MAX_UNION_BYTES) refuse('malformed');
    var memberNo = unpackMemberNo(bytes.subarray(1, 8));
    if (!memberNo) refuse('malformed');
    var days = (bytes[8] << 8) | bytes[9];
    var union = decodeUnion(bytes.subarray(HEADER_LEN, bodyLen));
    if (union === null) refuse('malformed');
    return {
      memberNo: memberNo,
      keyId: memberNo.slice(0, DEVICE_LEN),
      seq: seqOf(memberNo),
      union: union,
      date: isoDate(days),
      body: bytes.slice(0, bodyLen),
      signature: bytes.slice(bodyLen)
    };
  }

  /** The payload inside what was scanned or typed: the code itself, or its URL form
   * `HTTPS://HOST/V#GH1:…` whose fragment has `%` as `%25` and space as `%20` (decoded once). */
  function payloadFromText(text) {
    text = trimLine(String(text));
    if (/^QR-Code:/.test(text)) text = text.slice('QR-Code:'.length);
    if (/^https?:\/\//i.test(text)) {
      var hash = text.indexOf('#');
      if (hash < 0) refuse('not_booth');
      return fromFragment(text.slice(hash + 1));
    }
    return text;
  }

  /** The code in an address fragment (without its `#`): percent-decoded exactly once. */
  function fromFragment(fragment) {
    try {
      return decodeURIComponent(fragment);
    } catch (e) {
      return refuse('bad_fragment');
    }
  }

  // ---------------------------------------------------------------- strict Ed25519 (RFC 8032)

  // The group order L, little-endian.
  var L_LE = fromHex('edd3f55c1a631258d69cf7a2def9de14000000000000000000000000000000' + '10');
  // The five y-coordinates (sign bit cleared) of the eight points of small order, as libsodium
  // lists them; with canonical y (< p) these are all of them.
  var SMALL_ORDER = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
  ].map(fromHex);

  /** y < p = 2^255 - 19 (the sign bit aside): the encoding is canonical. */
  function isCanonicalPoint(b) {
    if ((b[31] & 0x7f) !== 0x7f) return true;
    for (var i = 30; i >= 1; i--) if (b[i] !== 0xff) return true;
    return b[0] < 0xed;
  }

  function isSmallOrder(b) {
    for (var k = 0; k < SMALL_ORDER.length; k++) {
      var p = SMALL_ORDER[k];
      var same = (b[31] & 0x7f) === p[31];
      for (var i = 0; same && i < 31; i++) same = b[i] === p[i];
      if (same) return true;
    }
    return false;
  }

  /** S < L, read little-endian. */
  function scalarIsCanonical(s) {
    for (var i = 31; i >= 0; i--) {
      if (s[i] < L_LE[i]) return true;
      if (s[i] > L_LE[i]) return false;
    }
    return false;
  }

  /** A public key the page accepts at all: 32 bytes, canonical, not of small order. */
  function isAcceptableKey(key) {
    return key.length === 32 && isCanonicalPoint(key) && !isSmallOrder(key);
  }

  /** The checks done before either engine, so that both give the same verdicts as
   * ed25519-dalek's verify_strict: S < L, canonical A and R, neither of small order. */
  function strictPrecheck(key, signature) {
    if (!isAcceptableKey(key) || signature.length !== SIG_LEN) return false;
    var r = signature.subarray(0, 32);
    return isCanonicalPoint(r) && !isSmallOrder(r) && scalarIsCanonical(signature.subarray(32));
  }

  // RFC 8032 §7.1, test 1: an engine must accept this and refuse it with one bit changed.
  var PROBE_KEY = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  var PROBE_SIG = fromHex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' +
    '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');

  function webCryptoEngine(subtle) {
    var keys = {};
    function importKey(key) {
      var id = hex(key);
      if (!keys[id]) keys[id] = subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify']);
      return keys[id];
    }
    return {
      name: 'webcrypto',
      verify: function (key, message, signature) {
        return importKey(key).then(function (k) {
          return subtle.verify({ name: 'Ed25519' }, k, signature, message);
        });
      }
    };
  }

  /** Pure-JS engine on noble's curve arithmetic. It checks R = [S]B − [k]A byte for byte
   * (cofactorless, as BoringSSL and ed25519-dalek's verify_strict do), not noble's own
   * cofactored verify, so that the two engines never disagree. */
  function nobleEngine(noble) {
    var L = BigInt('0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed');
    var points = {};
    function littleEndian(bytes) {
      var h = '';
      for (var i = bytes.length - 1; i >= 0; i--) h += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
      return BigInt('0x' + h);
    }
    function point(key) {
      var id = hex(key);
      if (!(id in points)) {
        try {
          points[id] = noble.Point.fromBytes(key, false);
        } catch (e) {
          points[id] = null;
        }
      }
      return points[id];
    }
    return {
      name: 'js',
      verify: function (key, message, signature) {
        return new Promise(function (resolve) {
          var a = point(key);
          if (!a) return resolve(false);
          var r = signature.subarray(0, 32);
          var s = littleEndian(signature.subarray(32));
          var k = littleEndian(noble.sha512(concat(concat(r, key), message))) % L;
          var expected = noble.Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
          resolve(equalBytes(expected.toBytes(), r));
        });
      }
    };
  }

  /** Strict Ed25519 verification with the given engine: false for any refusal. */
  function verifySignature(engine, key, message, signature) {
    if (!strictPrecheck(key, signature)) return Promise.resolve(false);
    // Through then(), so that an engine throwing at once (old WebCrypto) is a refusal too.
    return Promise.resolve().then(function () {
      return engine.verify(key, message, signature);
    }).then(function (ok) {
      return ok === true;
    }, function () {
      return false;
    });
  }

  /** Resolves to the WebCrypto engine if this browser verifies Ed25519 correctly, else null. */
  function probeWebCrypto() {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle) return Promise.resolve(null);
    var engine = webCryptoEngine(subtle);
    var bad = PROBE_SIG.slice();
    bad[0] ^= 1;
    return Promise.resolve().then(function () {
      return Promise.all([
        engine.verify(PROBE_KEY, new Uint8Array(0), PROBE_SIG),
        engine.verify(PROBE_KEY, new Uint8Array(0), bad)
      ]);
    }).then(function (r) {
      return r[0] === true && r[1] === false ? engine : null;
    }, function () {
      return null;
    });
  }

  // ---------------------------------------------------------------- hashing

  function sha256With(noble) {
    var subtle = window.crypto && window.crypto.subtle;
    return function (bytes) {
      if (subtle) {
        return subtle.digest('SHA-256', bytes).then(function (d) {
          return new Uint8Array(d);
        });
      }
      return Promise.resolve(noble.sha256(bytes));
    };
  }

  // ---------------------------------------------------------------- the trust bundle

  function isString(v) {
    return typeof v === 'string';
  }

  function isSeq(v) {
    return typeof v === 'number' && Math.floor(v) === v && v >= 0 && v <= MAX_SEQ;
  }

  function key32(text, what) {
    var bytes = b64urlDecode(text);
    if (!bytes || bytes.length !== 32) refuse('bundle_malformed', what);
    return bytes;
  }

  /** Parses and checks a bundle envelope (text) against the trusted office key fingerprints.
   * Resolves to the bundle; rejects with a Refusal whose code names the fault. */
  function openBundle(text, trusted, engine, sha256) {
    var envelope;
    var officeKey;
    var signature;
    var bodyBytes;
    return Promise.resolve().then(function () {
      try {
        envelope = JSON.parse(text);
      } catch (e) {
        refuse('bundle_malformed', 'json');
      }
      if (!envelope || typeof envelope !== 'object') refuse('bundle_malformed', 'json');
      if (envelope.format !== BUNDLE_FORMAT) refuse('bundle_format', String(envelope.format));
      officeKey = key32(envelope.office_key, 'office_key');
      signature = b64urlDecode(envelope.signature);
      bodyBytes = b64urlDecode(envelope.body);
      if (!signature || signature.length !== SIG_LEN || !bodyBytes) refuse('bundle_malformed', 'envelope');
      return sha256(officeKey);
    }).then(function (digest) {
      var fingerprint = b64urlEncode(digest);
      if (trusted.indexOf(fingerprint) < 0) refuse('office_key_untrusted', fingerprint);
      return verifySignature(engine, officeKey, concat(BUNDLE_DOMAIN, bodyBytes), signature).then(function (ok) {
        if (!ok) refuse('bundle_signature');
        return checkBody(bodyBytes, officeKey, fingerprint, sha256);
      });
    });
  }

  function checkBody(bodyBytes, officeKey, fingerprint, sha256) {
    var body;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bodyBytes));
    } catch (e) {
      refuse('bundle_malformed', 'body');
    }
    if (!body || typeof body !== 'object') refuse('bundle_malformed', 'body');
    if (typeof body.version !== 'number' || !Number.isSafeInteger(body.version) || body.version < 0) {
      refuse('bundle_malformed', 'version');
    }
    if (!isString(body.issued_at)) refuse('bundle_malformed', 'issued_at');
    if (!equalBytes(key32(body.office_key, 'office_key'), officeKey)) refuse('bundle_malformed', 'office_key');
    var next = null;
    if (body.next_office_key !== null && body.next_office_key !== undefined) {
      next = key32(body.next_office_key, 'next_office_key');
      if (!isAcceptableKey(next)) refuse('weak_key', 'next_office_key');
    }
    if (!Array.isArray(body.keys) || !Array.isArray(body.revoked)) refuse('bundle_malformed', 'lists');
    var entries = body.keys.map(function (e) {
      if (!e || typeof e !== 'object' || !isString(e.key_id) || !isString(e.device) ||
          !isString(e.union) || !isString(e.from) ||
          !(e.max_seq === null || e.max_seq === undefined || isSeq(e.max_seq))) {
        refuse('bundle_malformed', 'keys');
      }
      var key = key32(e.key, 'key');
      if (!isAcceptableKey(key)) refuse('weak_key', e.key_id);
      return { keyId: e.key_id, key: key, device: e.device, union: e.union, from: e.from,
        maxSeq: e.max_seq === undefined ? null : e.max_seq };
    });
    var revoked = {};
    body.revoked.forEach(function (n) {
      if (!isString(n)) refuse('bundle_malformed', 'revoked');
      revoked[n] = true;
    });
    return Promise.all(entries.map(function (e) {
      return sha256(e.key);
    })).then(function (digests) {
      var byId = {};
      entries.forEach(function (e, i) {
        var actual = keyIdFromDigest(digests[i]);
        if (actual !== e.keyId) refuse('key_id_mismatch', e.keyId + ' ≠ ' + actual);
        if (Object.prototype.hasOwnProperty.call(byId, e.keyId)) refuse('duplicate_key_id', e.keyId);
        byId[e.keyId] = e;
      });
      return {
        version: body.version,
        issuedAt: body.issued_at,
        officeKey: officeKey,
        fingerprint: fingerprint,
        nextOfficeKey: next,
        keys: byId,
        revoked: revoked
      };
    });
  }

  // ---------------------------------------------------------------- verdicts

  /** The verdict for a payload against an opened bundle (docs/trust.md, "Verdicts"). */
  function verdict(payload, bundle, engine) {
    var card;
    return Promise.resolve().then(function () {
      card = decodePayload(payload);
      var entry = Object.prototype.hasOwnProperty.call(bundle.keys, card.keyId) ? bundle.keys[card.keyId] : null;
      if (!entry) refuse('unknown_key', card.keyId);
      return verifySignature(engine, entry.key, concat(CARD_DOMAIN, card.body), card.signature).then(function (ok) {
        if (!ok) refuse('bad_signature');
        if (entry.maxSeq !== null && card.seq > entry.maxSeq) refuse('device_revoked', card.keyId);
        var revoked = Object.prototype.hasOwnProperty.call(bundle.revoked, card.memberNo);
        return {
          verdict: revoked ? 'revoked' : 'valid',
          member_no: grouped(card.memberNo),
          union: card.union,
          date: card.date,
          key_id: card.keyId,
          reason: revoked ? 'revoked' : null,
          detail: null
        };
      });
    }).catch(function (e) {
      if (!(e instanceof Refusal)) throw e;
      return { verdict: 'invalid', member_no: null, union: null, date: null, key_id: null,
        reason: e.code, detail: e.detail };
    });
  }

  window.BoothCore = {
    Refusal: Refusal,
    base45Decode: base45Decode,
    b64urlDecode: b64urlDecode,
    b64urlEncode: b64urlEncode,
    checkValue: checkValue,
    passes: passes,
    keyIdFromDigest: keyIdFromDigest,
    grouped: grouped,
    decodePayload: decodePayload,
    payloadFromText: payloadFromText,
    fromFragment: fromFragment,
    strictPrecheck: strictPrecheck,
    verifySignature: verifySignature,
    probeWebCrypto: probeWebCrypto,
    nobleEngine: nobleEngine,
    sha256With: sha256With,
    openBundle: openBundle,
    verdict: verdict
  };
})();
