// Kernel versions name files on the PXE servers (linux/vmlinuz-<version>) and
// dracut's module folder: read from an image or a server, each is checked to be
// a version and nothing else.

/** A kernel release as `uname -r` gives it (6.1.0-28-amd64): digits first, then letters, digits, '.', '_', '+', '-', '~'. */
export function isKernelVersion(text: string): boolean {
  return text.length <= 64 && /^\d+\.\d+[A-Za-z0-9._+~-]*$/.test(text) && !text.includes('..');
}
