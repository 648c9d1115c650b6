// Stand-ins, injected by esbuild (see docs/verifier.md), for built-ins newer than Chrome 78
// that the vendored libraries call. Kept local to the bundle: no global is changed.
export function boothHasOwn(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}
