// The vault is compatible both ways with the gpg binary (A11), and a wrong
// passphrase is a clear error that changes no file.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHostKeys } from '../src/system/ssh-keygen.js';
import { readVaultEntry, writeVaultEntry } from '../src/vault/vault.js';
import { bash, sh } from './helpers/sh.js';

let dir: string;
const PASS = 'correct horse battery staple';

beforeAll(() => {
  dir = mkdtempSync('/var/tmp/vauban-vault-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vault compatibility with gpg', () => {
  beforeAll(() => {
    mkdirSync(path.join(dir, 'gnupg'), { mode: 0o700 });
    writeFileSync(path.join(dir, 'pass'), PASS);
  });

  it('files we write decrypt with gpg -d into <id>/etc/ssh/ssh_host_*', async () => {
    const keys = await generateHostKeys();
    expect(keys.map((key) => key.name)).toEqual(
      expect.arrayContaining(['ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub', 'ssh_host_rsa_key', 'ssh_host_ecdsa_key']),
    );
    const file = await writeVaultEntry(path.join(dir, 'vault'), 'web01', keys, PASS);
    expect(file).toBe(path.join(dir, 'vault', 'web01.tar.gpg'));
    const out = path.join(dir, 'out');
    mkdirSync(out);
    await bash('gpg --batch --quiet --homedir "$1" --pinentry-mode loopback --passphrase-fd 0 -d "$2" < "$3" | tar -x -C "$4"', {
      args: [path.join(dir, 'gnupg'), file, path.join(dir, 'pass'), out],
    });
    const extracted = readdirSync(path.join(out, 'web01/etc/ssh')).sort();
    expect(extracted).toEqual(keys.map((key) => key.name).sort());
    for (const key of keys) expect(readFileSync(path.join(out, 'web01/etc/ssh', key.name))).toEqual(key.data);
  });

  it('vaults made by gpg -c decrypt, including ids with a /', async () => {
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'debian-12/iso/etc/ssh'), { recursive: true });
    await sh('ssh-keygen', ['-A', '-f', path.join(src, 'debian-12/iso')]);
    mkdirSync(path.join(dir, 'vault/debian-12'), { recursive: true });
    await bash('tar -C "$1" -cf - debian-12/iso | gpg --batch --quiet --homedir "$2" --pinentry-mode loopback --passphrase-fd 3 -c -o "$3" 3< "$4"', {
      args: [src, path.join(dir, 'gnupg'), path.join(dir, 'vault/debian-12/iso.tar.gpg'), path.join(dir, 'pass')],
    });
    const keys = await readVaultEntry(path.join(dir, 'vault'), 'debian-12/iso', PASS);
    expect(keys?.find((key) => key.name === 'ssh_host_ed25519_key')?.data).toEqual(readFileSync(path.join(src, 'debian-12/iso/etc/ssh/ssh_host_ed25519_key')));
  });

  it('a wrong passphrase is a clear error and changes no file', async () => {
    const vault = path.join(dir, 'vault');
    const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = readdirSync(vault, { recursive: true }).map(String).sort();
    const digest = hash(path.join(vault, 'web01.tar.gpg'));
    await expect(readVaultEntry(vault, 'web01', 'wrong')).rejects.toThrow(/wrong passphrase \(VAULTED_SSHD_KEYS_KEY\)/);
    expect(readdirSync(vault, { recursive: true }).map(String).sort()).toEqual(before);
    expect(hash(path.join(vault, 'web01.tar.gpg'))).toBe(digest);
  });

  it('a corrupt vault file (cut short, random bytes, not a tar inside) is a clear error naming it, and changes no file (issue 27)', async () => {
    const vault = path.join(dir, 'vault');
    const good = readFileSync(path.join(vault, 'web01.tar.gpg'));
    writeFileSync(path.join(vault, 'cut.tar.gpg'), good.subarray(0, Math.floor(good.length / 2)));
    writeFileSync(path.join(vault, 'noise.tar.gpg'), Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7919) % 251)));
    await bash('printf "not a tar" | gpg --batch --quiet --homedir "$1" --pinentry-mode loopback --passphrase-fd 3 -c -o "$2" 3< "$3"', {
      args: [path.join(dir, 'gnupg'), path.join(vault, 'nottar.tar.gpg'), path.join(dir, 'pass')],
    });
    const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = readdirSync(vault, { recursive: true }).map(String).sort();
    const digests = ['cut', 'noise', 'nottar'].map((id) => hash(path.join(vault, `${id}.tar.gpg`)));
    for (const id of ['cut', 'noise', 'nottar']) {
      const error = await readVaultEntry(vault, id, PASS).then(() => undefined, (failure: Error) => failure);
      expect(error, id).toBeInstanceOf(Error);
      expect(error?.message, id).toContain(`${id}.tar.gpg`);
      expect(error?.message, id).not.toMatch(/\n\s+at /);
    }
    expect(readdirSync(vault, { recursive: true }).map(String).sort()).toEqual(before);
    expect(['cut', 'noise', 'nottar'].map((id) => hash(path.join(vault, `${id}.tar.gpg`)))).toEqual(digests);
    for (const id of ['cut', 'noise', 'nottar']) rmSync(path.join(vault, `${id}.tar.gpg`));
  });

  it('refuses ids that would escape vault/', async () => {
    for (const id of ['../x', 'a/../../b', '/etc/x', 'a b']) {
      await expect(readVaultEntry(path.join(dir, 'vault'), id, PASS), id).rejects.toThrow(/cannot name a vault entry/);
    }
  });

  it('gpg itself refuses our file with a wrong passphrase (the encryption is real)', async () => {
    writeFileSync(path.join(dir, 'pass-wrong'), 'nope');
    await expect(
      bash('gpg --batch --quiet --homedir "$1" --pinentry-mode loopback --passphrase-fd 0 -d "$2" < "$3" > /dev/null', {
        args: [path.join(dir, 'gnupg'), path.join(dir, 'vault/web01.tar.gpg'), path.join(dir, 'pass-wrong')],
      }),
    ).rejects.toThrow(/decrypt|Bad session key/i);
  });
});
