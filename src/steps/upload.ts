// upload (A9): the artifacts this run built, to every PXE server, in the
// layout PXE boot lines expect:
//   UPLOAD_DIR/linux/vmlinuz-<kver>, UPLOAD_DIR/linux/initramfs.img-<kver>
//   UPLOAD_DIR/<name>/rootfs.tgz, UPLOAD_DIR/<name>/conffs-<host>.tgz
//   UPLOAD_DIR/<name>/vmlinuz -> ../linux/vmlinuz-<kver> (kver of the rootfs), same for initramfs.img
// Each file is written under a temporary name in its own folder, checked
// (sha256), then renamed: a server never serves half a file, and an upload cut
// in the middle leaves the previous files serving. With sudo when the ssh
// user cannot write UPLOAD_DIR. rootfs.tgz and conffs carry private sshd keys:
// files are 0640 and folders 0750, with UPLOAD_OWNER's group (the web
// server's), so that no other user of the PXE server can read them.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.js';
import { VaubanError } from '../errors.js';
import { remoteCommand, sshRun, type SshTarget } from '../system/ssh.js';
import type { ConffsArtifact, KernelArtifacts, RootfsArtifact } from './types.js';

export interface UploadInput {
  kernel: KernelArtifacts | undefined;
  rootfs: RootfsArtifact | undefined;
  conffs: ConffsArtifact[] | undefined;
}

interface FileToSend {
  local: string;
  /** Path under UPLOAD_DIR. */
  remote: string;
}

interface LinkToMake {
  remote: string;
  target: string;
}

export async function upload(ctx: Context, input: UploadInput): Promise<undefined> {
  if (!ctx.runs('upload')) return undefined;
  const { files, links } = uploadList(ctx.options.name, input);
  if (input.rootfs !== undefined && input.rootfs.kernelVersion === undefined) {
    ctx.reporter.warn(`the kernel version of ${input.rootfs.image} is unknown: ${ctx.options.name}/vmlinuz and initramfs.img are left as they are`);
  }
  if (files.length === 0) {
    ctx.reporter.info('upload: this run built nothing to upload');
    return undefined;
  }
  const servers = (ctx.settings.values.UPLOAD_HOSTS_LIST ?? '').trim().split(/\s+/);
  if (ctx.settings.values.UPLOAD_OWNER === undefined) {
    ctx.reporter.warn("UPLOAD_OWNER is not set: the uploaded files are 0640, readable by the ssh user's group only; set it to the web server's group");
  }
  const sshOptions = ciSshOptions(ctx);
  for (const server of servers) {
    await ctx.reporter.step(`upload to ${server}`, (status) => uploadTo(ctx, { destination: server, options: sshOptions }, files, links, status.update));
  }
  return undefined;
}

/** What this run built, where it goes (A9). */
export function uploadList(name: string, input: UploadInput): { files: FileToSend[]; links: LinkToMake[] } {
  const files: FileToSend[] = [];
  const links: LinkToMake[] = [];
  if (input.kernel !== undefined) {
    files.push({ local: input.kernel.vmlinuz, remote: `linux/vmlinuz-${input.kernel.kernelVersion}` });
    files.push({ local: input.kernel.initramfs, remote: `linux/initramfs.img-${input.kernel.kernelVersion}` });
  }
  if (input.rootfs !== undefined) {
    files.push({ local: input.rootfs.tarball, remote: `${name}/rootfs.tgz` });
    const version = input.rootfs.kernelVersion;
    if (version !== undefined) {
      links.push({ remote: `${name}/vmlinuz`, target: `../linux/vmlinuz-${version}` });
      links.push({ remote: `${name}/initramfs.img`, target: `../linux/initramfs.img-${version}` });
    }
  }
  for (const conffs of input.conffs ?? []) files.push({ local: conffs.tarball, remote: `${name}/conffs-${conffs.host}.tgz` });
  return { files, links };
}

/**
 * The ssh user and key of the settings (A3), when UPLOAD_CI_SSH_KEY is set
 * (CI sets it), with the servers' host keys checked strictly against
 * UPLOAD_KNOWN_HOSTS (conffs carry private host keys: never to a server
 * accepted blindly). Without the key, the operator's ssh config and
 * known_hosts decide (UPLOAD_KNOWN_HOSTS, when set, is then checked too).
 */
export function ciSshOptions(ctx: Context): string[] {
  const values = ctx.settings.values;
  const options: string[] = [];
  if (values.UPLOAD_CI_SSH_KEY !== undefined) {
    if (values.UPLOAD_KNOWN_HOSTS === undefined) {
      throw new VaubanError('setting UPLOAD_KNOWN_HOSTS is required with UPLOAD_CI_SSH_KEY: the PXE servers\' host keys are checked, never accepted blindly', {
        hint: "set it to the servers' known_hosts lines (ssh-keyscan <server>) or to the path of a known_hosts file",
      });
    }
    const keyFile = path.join(ctx.workDir, 'upload-key');
    if (!existsSync(keyFile)) writeFileSync(keyFile, Buffer.from(values.UPLOAD_CI_SSH_KEY.replace(/\s+/g, ''), 'base64'), { mode: 0o600 });
    options.push('-i', keyFile, '-o', 'IdentitiesOnly=yes');
    if (values.UPLOAD_CI_SSH_USERNAME !== undefined) options.push('-o', `User=${values.UPLOAD_CI_SSH_USERNAME}`);
  }
  if (values.UPLOAD_KNOWN_HOSTS !== undefined) {
    options.push('-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHostsFile(ctx, values.UPLOAD_KNOWN_HOSTS)}`, '-o', 'GlobalKnownHostsFile=/dev/null');
  }
  return options;
}

/** UPLOAD_KNOWN_HOSTS as a file ssh reads: the path it names, or its lines written to the work folder. */
function knownHostsFile(ctx: Context, value: string): string {
  const trimmed = value.trim();
  if (/^\/\S+$/.test(trimmed)) {
    if (!existsSync(trimmed)) throw new VaubanError(`UPLOAD_KNOWN_HOSTS names ${trimmed}, which does not exist`);
    return trimmed;
  }
  const file = path.join(ctx.workDir, 'upload-known_hosts');
  if (!existsSync(file)) writeFileSync(file, `${trimmed}\n`, { mode: 0o600 });
  return file;
}

/** What ssh said, as one line; a host key that does not match UPLOAD_KNOWN_HOSTS said as such. */
export function sshFailure(stderr: string, exitCode: number): string {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    return 'its host key is not one of UPLOAD_KNOWN_HOSTS (or of your known_hosts): host key verification failed';
  }
  return stderr.trim().split('\n').at(-1) ?? `exit status ${exitCode}`;
}

async function uploadTo(ctx: Context, target: SshTarget, files: FileToSend[], links: LinkToMake[], update: (text: string) => void): Promise<void> {
  const dir = ctx.settings.values.UPLOAD_DIR ?? '';
  const folders = [...new Set([...files, ...links].map((entry) => path.posix.dirname(entry.remote)))].map((folder) => `${dir}/${folder}`);

  // Without sudo when the ssh user can write the folders; else with it (vauban.sh did the same).
  const direct = await sshRun(target, [remoteCommand('mkdir', '-p', ...folders), ...folders.map((folder) => remoteCommand('test', '-w', folder))].join(' && '), {
    ...ctx.runOptions,
    allowFailure: true,
  });
  if (direct.exitCode === 255) throw new VaubanError(`cannot reach or log in to the PXE server ${target.destination} over ssh: ${sshFailure(direct.stderr, direct.exitCode)}`);
  const sudo = direct.exitCode !== 0;
  /** A remote command, run with sudo when the ssh user cannot write UPLOAD_DIR. */
  const as = (...words: string[]): string => `${sudo ? 'sudo -n ' : ''}${remoteCommand(...words)}`;
  const remote = (...commands: string[]) => sshRun(target, commands.join(' && '), ctx.runOptions);
  const owner = ctx.settings.values.UPLOAD_OWNER;
  if (sudo) {
    const check = await sshRun(target, as('mkdir', '-p', ...folders), { ...ctx.runOptions, allowFailure: true });
    if (check.exitCode !== 0) {
      throw new VaubanError(`${target.destination}: the ssh user cannot write ${dir} and has no passwordless sudo: ${check.stderr.trim().split('\n').at(-1) ?? ''}`);
    }
    ctx.reporter.debug(`${target.destination}: writing ${dir} with sudo`);
  }

  for (const [index, file] of files.entries()) {
    const final = `${dir}/${file.remote}`;
    const temporary = `${path.posix.dirname(final)}/.${path.posix.basename(final)}.vauban-${ctx.runId}`;
    update(`${index + 1}/${files.length} ${file.remote}`);
    const removeTemporary = ctx.cleanup.push(`temporary ${target.destination}:${temporary}`, async () => {
      await sshRun(target, as('rm', '-f', temporary), { allowFailure: true });
    });
    await sshRun(target, `${as('tee', temporary)} > /dev/null`, { ...ctx.runOptions, inputFile: file.local });
    const [expected, got] = await Promise.all([sha256File(file.local), remote(as('sha256sum', temporary)).then((result) => result.stdout.split(' ')[0])]);
    if (expected !== got) throw new VaubanError(`${target.destination}:${temporary} does not match ${file.local} after the copy (sha256 ${got} != ${expected})`);
    // Readable by the owner and UPLOAD_OWNER's group only, before it is served.
    await remote(as('chmod', '0640', temporary), ...(owner === undefined ? [] : [as('chgrp', owner, temporary)]), as('mv', '-f', temporary, final));
    await removeTemporary();
    ctx.report.uploaded.push(`${target.destination}:${final}`);
  }
  for (const link of links) {
    const final = `${dir}/${link.remote}`;
    const temporary = `${final}.vauban-${ctx.runId}`;
    await remote(as('ln', '-sfn', link.target, temporary), as('mv', '-Tf', temporary, final));
    ctx.report.uploaded.push(`${target.destination}:${final} -> ${link.target}`);
  }
  if (owner !== undefined) await remote(as('chgrp', owner, ...folders), as('chmod', '0750', ...folders));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
