// The sshd-key vault (A11): vault/<id>.tar.gpg, a tar of
// <id>/etc/ssh/ssh_host_* encrypted symmetrically, exactly what `gpg -c`
// makes and reads. Keys are decrypted in memory only; a new entry is written
// atomically (temporary file, then rename), and a wrong passphrase changes
// nothing.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { vaultFile } from '../model/local-layout.js';
import type { KeyFile } from '../system/ssh-keygen.js';
import { makeDirInTree, writeFileInTree } from '../system/tree-path.js';

/** Decrypts vault/<id>.tar.gpg; undefined when there is no entry for `id`. */
export async function readVaultEntry(vaultDir: string, id: string, passphrase: string): Promise<KeyFile[] | undefined> {
  const file = vaultFile(vaultDir, id);
  if (!existsSync(file)) return undefined;
  const openpgp = await import('openpgp');
  const bytes = readFileSync(file);
  let tarBytes: Uint8Array;
  try {
    const message = bytes.subarray(0, 30).toString('latin1').startsWith('-----BEGIN PGP')
      ? await openpgp.readMessage({ armoredMessage: bytes.toString('utf8') })
      : await openpgp.readMessage({ binaryMessage: bytes });
    const { data } = await openpgp.decrypt({ message, passwords: [passphrase], format: 'binary' });
    tarBytes = data as Uint8Array;
  } catch (error) {
    const reason = (error as Error).message;
    if (/decrypt|session key|password|modification detected|MDC/i.test(reason)) {
      throw new VaubanError(`cannot decrypt ${path.relative(process.cwd(), file) || file}: wrong passphrase (VAULTED_SSHD_KEYS_KEY)`, { cause: error });
    }
    throw new VaubanError(`${file} is not a vault file vauban or gpg can read: ${reason}`, { cause: error });
  }
  let keys: KeyFile[];
  try {
    keys = await unpackKeys(Buffer.from(tarBytes), id);
  } catch (error) {
    // Decrypted, but what it holds is no tar (a file made by hand, a corrupt one): named, never regenerated over.
    throw new VaubanError(`${file} decrypts, but what it holds is not a tar of ${id}/etc/ssh/ssh_host_*: ${(error as Error).message}`, { cause: error });
  }
  if (keys.length === 0) throw new VaubanError(`${file} holds no ${id}/etc/ssh/ssh_host_* key`);
  return keys;
}

/** Encrypts the keys as vault/<id>.tar.gpg; the file appears whole or not at all. */
export async function writeVaultEntry(vaultDir: string, id: string, keys: readonly KeyFile[], passphrase: string): Promise<string> {
  const file = vaultFile(vaultDir, id);
  const openpgp = await import('openpgp');
  const tarBytes = await packKeys(keys, id);
  const message = await openpgp.createMessage({ binary: tarBytes });
  const encrypted = (await openpgp.encrypt({ message, passwords: [passphrase], format: 'binary' })) as Uint8Array;
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  // Private at rest (the passphrase protects it, the mode too); git keeps no mode but the exec bit.
  writeFileSync(temporary, encrypted, { mode: 0o600 });
  renameSync(temporary, file);
  return file;
}

async function packKeys(keys: readonly KeyFile[], id: string): Promise<Buffer> {
  const tarStream = await import('tar-stream');
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const finished = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const now = new Date();
  // Folders first, as GNU tar lists them, so that gpg -d | tar x recreates them.
  let folder = '';
  for (const part of [...id.split('/'), 'etc', 'ssh']) {
    folder = folder ? `${folder}/${part}` : part;
    pack.entry({ name: `${folder}/`, type: 'directory', mode: 0o755, mtime: now, uid: 0, gid: 0 });
  }
  for (const key of keys) {
    pack.entry({ name: `${id}/etc/ssh/${key.name}`, mode: key.name.endsWith('.pub') ? 0o644 : 0o600, mtime: now, uid: 0, gid: 0 }, key.data);
  }
  pack.finalize();
  await finished;
  return Buffer.concat(chunks);
}

async function unpackKeys(tarBytes: Buffer, id: string): Promise<KeyFile[]> {
  const tarStream = await import('tar-stream');
  const extract = tarStream.extract();
  const keys: KeyFile[] = [];
  const prefix = `${id}/etc/ssh/`;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        const name = header.name.replace(/^\.\//, '');
        if (header.type === 'file' && name.startsWith(prefix)) {
          const base = name.slice(prefix.length);
          if (/^ssh_host_[\w.-]+$/.test(base)) keys.push({ name: base, data: Buffer.concat(chunks) });
        }
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(tarBytes);
  await done;
  return keys.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Puts the keys into /etc/ssh of the tree `root`: private keys 0600, public
 * keys 0644, owned by root. The path is resolved inside the tree, and a link
 * at a key's name is replaced, never written through.
 */
export function installHostKeys(root: string, keys: readonly KeyFile[]): void {
  makeDirInTree(root, 'etc/ssh');
  for (const key of keys) {
    // Made by root (vauban runs as root), so owned by root.
    writeFileInTree(root, `etc/ssh/${key.name}`, key.data, { mode: key.name.endsWith('.pub') ? 0o644 : 0o600 });
  }
}
