// Entry for the one esbuild run that makes assets/verifier/vendor/noble/noble-ed25519.js
// (see docs/verifier.md): noble's curve arithmetic and SHA-2, as one global for old browsers.
import { Point } from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

window.boothNoble = { Point: Point, sha256: sha256, sha512: sha512 };
