// The project's signing key (B19): one OpenPGP key pair, kept in vault/ beside
// the sshd keys, its private half encrypted with VAULTED_SSHD_KEYS_KEY. It
// vouches for what vauban makes: the images it builds (a signature label,
// checked before an image of the registry is reused) and each release's
// SHA256SUMS (checked at boot by our dracut module against the public half,
// baked into the initramfs). The public half is read without the passphrase:
// a run that only checks needs no secret.
//
// Made on first use, like a vault entry (and committed by CI like one). Every
// clone of the fleet repository then signs and checks with the same key.
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
 * The project's signer: its key decrypted with `passphrase`, made and
 * written first when the vault has none (`onNew` hears of the file, for CI's
 * commit). A wrong passphrase is an error, and changes nothing.
 */
export async function projectSigner(vaultDir: string, passphrase: string, onNew: (file: string) => void): Promise<ProjectSigner> {
  const openpgp = await import('openpgp');
  const file = projectKeyFile(vaultDir);
  if (!existsSync(file)) {
    const { privateKey } = await openpgp.generateKey({ userIDs: [{ name: 'vauban project signing key' }], passphrase, format: 'armored' });
    mkdirSync(vaultDir, { recursive: true });
    const temporary = `${file}.tmp-${process.pid}`;
    writeFileSync(temporary, privateKey, { mode: 0o600 });
    renameSync(temporary, file);
    onNew(file);
  }
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
  return projectSigner(vaultDir, passphrase, () => undefined);
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
