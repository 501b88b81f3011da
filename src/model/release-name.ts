// What can name a release on a PXE server. On its own, without imports:
// `vauban -h` loads it (--release is checked as it is parsed), and the rest of
// the PXE layout stays unloaded until a run needs it.

/** A name that can be a release folder: no leading dot (those are partial), nothing that leaves `releases/`. */
export function isReleaseName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes('..');
}
