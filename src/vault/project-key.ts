// The project's signing key (B19): one OpenPGP key pair, kept in vault/ beside
// the sshd keys, its private half encrypted with VAULTED_SSHD_KEYS_KEY. It
// vouches for what vauban makes: the images it builds (a signature label,
// checked before an image of the registry is reused) and each release's
// SHA256SUMS (checked at boot by our dracut module against the public half,
// baked into the initramfs). The public half is read without the passphrase:
// a run that only checks needs no secret.
//
// Made once by `vauban keygen` and committed with vault/: every clone of the
// fleet repository, every job of a pipeline, then signs and checks with the
// same key. A project without one signs nothing (as vauban did before).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PrivateKey, PublicKey } from 'openpgp';
import { VaubanError } from '../errors.js';

/** vault/<this>: the armored private key, encrypted with the vault's passphrase. */
export const PROJECT_KEY_FILE = 'vauban-signing-key.asc';

/** What checks a signature of the project. */
export interface ProjectKey {
  /** The key's fingerprint (hex): what an initramfs or a record names it by. */
  fingerprint: string;
  /** The public half as OpenPGP packets: a keyring gpgv reads. */
  publicKeyring: Uint8Array;
  /** True when `signature` is the project's over exactly `data`. */
  verify(data: Uint8Array | string, signature: Uint8Array): Promise<boolean>;
}

/** What signs for the project. */
export interface ProjectSigner extends ProjectKey {
  /** A detached binary OpenPGP signature of `data` (what gpgv checks). */
  sign(data: Uint8Array | string): Promise<Uint8Array>;
}

export function projectKeyFile(vaultDir: string): string {
  return path.join(vaultDir, PROJECT_KEY_FILE);
}

/** The project's public key, when it has one (vault/vauban-signing-key.asc); no passphrase needed. */
export async function readProjectKey(vaultDir: string): Promise<ProjectKey | undefined> {
  const file = projectKeyFile(vaultDir);
  if (!existsSync(file)) return undefined;
  const privateKey = await parseKeyFile(file);
  return keyOf(privateKey.toPublic());
}

/**
 * Makes the project's key (`vauban keygen`): once per fleet repository, then
 * committed with vault/. Never made by a run: jobs of one pipeline would each
 * make their own, and what one signed the others could not check.
 */
export async function createProjectKey(vaultDir: string, passphrase: string): Promise<ProjectSigner> {
  const openpgp = await import('openpgp');
  const file = projectKeyFile(vaultDir);
  if (existsSync(file)) throw new VaubanError(`the project already has a signing key: ${file}`, { hint: 'initramfs built with it refuse releases signed with another key: replace it only knowingly (remove the file first)' });
  const { privateKey } = await openpgp.generateKey({ userIDs: [{ name: 'vauban project signing key' }], passphrase, format: 'armored' });
  mkdirSync(vaultDir, { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  // Private at rest (the passphrase protects it, the mode too), as a vault entry.
  writeFileSync(temporary, privateKey, { mode: 0o600 });
  renameSync(temporary, file);
  return projectSigner(vaultDir, passphrase) as Promise<ProjectSigner>;
}

/** The project's signer: its key decrypted with `passphrase`; undefined when the vault has none. A wrong passphrase is an error, and changes nothing. */
export async function projectSigner(vaultDir: string, passphrase: string): Promise<ProjectSigner | undefined> {
  const openpgp = await import('openpgp');
  const file = projectKeyFile(vaultDir);
  if (!existsSync(file)) return undefined;
  let unlocked: PrivateKey;
  try {
    unlocked = await openpgp.decryptKey({ privateKey: await parseKeyFile(file), passphrase });
  } catch (error) {
    throw new VaubanError(`cannot decrypt the project's signing key ${file}: wrong passphrase (VAULTED_SSHD_KEYS_KEY)`, { cause: error });
  }
  return {
    ...(await keyOf(unlocked.toPublic())),
    async sign(data) {
      const message = await openpgp.createMessage({ binary: bytesOf(data) });
      return (await openpgp.sign({ message, signingKeys: unlocked, detached: true, format: 'binary' })) as Uint8Array;
    },
  };
}

/**
 * The signer of a release made by a command that builds nothing (promote,
 * vauban boot, an upload without the passphrase): the project's key when it
 * has one, never made here. A project that signs its releases and no
 * passphrase is an error: hosts whose initramfs holds the key would refuse
 * an unsigned release.
 */
export async function releaseSigner(vaultDir: string, passphrase: string | undefined): Promise<ProjectSigner | undefined> {
  const file = projectKeyFile(vaultDir);
  if (!existsSync(file)) return undefined;
  if (passphrase === undefined || passphrase === '') {
    throw new VaubanError(`the project signs its releases (${file}) but VAULTED_SSHD_KEYS_KEY is not set: an unsigned release would not boot`, {
      hint: 'set VAULTED_SSHD_KEYS_KEY (the vault passphrase) for this command',
    });
  }
  return projectSigner(vaultDir, passphrase);
}

async function parseKeyFile(file: string): Promise<PrivateKey> {
  const openpgp = await import('openpgp');
  try {
    return await openpgp.readPrivateKey({ armoredKey: readFileSync(file, 'utf8') });
  } catch (error) {
    throw new VaubanError(`${file} is not an OpenPGP private key: ${(error as Error).message}`, { cause: error });
  }
}

async function keyOf(publicKey: PublicKey): Promise<ProjectKey> {
  const openpgp = await import('openpgp');
  return {
    fingerprint: publicKey.getFingerprint(),
    publicKeyring: publicKey.write(),
    async verify(data, signature) {
      try {
        const { signatures } = await openpgp.verify({
          message: await openpgp.createMessage({ binary: bytesOf(data) }),
          signature: await openpgp.readSignature({ binarySignature: signature }),
          verificationKeys: publicKey,
        });
        if (signatures.length === 0) return false;
        for (const signature of signatures) await signature.verified;
        return true;
      } catch {
        // Not a signature, another key's, or other bytes: not vouched for.
        return false;
      }
    },
  };
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}
