// A release on one PXE server (B14): this run's files, and what it did not
// build (the rootfs of a conffs-only run, the conffs of a rootfs-only run)
// hard-linked from the live release, filled in a dot folder, checked, its boot
// entries generated for exactly that set, then renamed to
// `<name>/releases/<release>`; one rename of a new `current` link over the old
// one makes the whole set live. A cut anywhere before that leaves `current` on
// the previous complete release. Then the article's paths and the boot links
// (through `current`), the MAC entries, and the releases past RELEASES_KEEP go.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from '../system/cleanup.js';
import { formatBytes } from '../system/format-bytes.js';
import { hostEntry } from './ipxe-entry.js';
import {
  KERNEL_LINKS,
  ROOTFS,
  SUMS,
  SUMS_SIGNATURE,
  BOOT_DIR,
  BY_MAC_DIR,
  conffsMember,
  currentLink,
  currentTarget,
  entryMember,
  flatLinkInRelease,
  hasDropIn,
  hostOfConffs,
  kernelFile,
  kernelLinkTarget,
  releaseDir,
  releasesDir,
  releasesToPrune,
  stagingDir,
  PARTIAL_PREFIX,
  temporaryBeside,
} from './layout.js';
import { linkCommand, liveLinks } from './live-links.js';
import { readMasterState, releaseNames, type MasterState, type Member } from './master-state.js';
import { parseSums } from './sums.js';
import { newFileCommand, protect, sh, type PxeServer } from './pxe-server.js';
import type { ProjectSigner } from '../vault/project-key.js';

export interface ReleaseFile {
  /** Its name in the release: rootfs.tgz or conffs-<host>.tgz. */
  member: string;
  local: string;
  sha256: string;
  /** A copy already on the server (under UPLOAD_DIR, a share of a staged release): hard-linked, not sent. */
  onServer?: string;
}

export interface PublishInput {
  name: string;
  release: string;
  files: ReleaseFile[];
  /**
   * The kernel of the rootfs, for the release's vmlinuz and initramfs.img when
   * `files` has none: UPLOAD_DIR/linux/<kind>-<version> hard-linked into the
   * release (its bytes as they are now), else a link to it; undefined keeps
   * the live release's.
   */
  kernelVersion: string | undefined;
  /**
   * The kernel files of `files` (members vmlinuz, initramfs.img) also put at
   * their A9 path, UPLOAD_DIR/linux/<kind>-<version>, once the release is live:
   * the release keeps its own (issue 30: a rebuilt initramfs of the same kernel
   * never changes a release that was booted).
   */
  linuxCopies?: Array<{ member: string; path: string }>;
  /** Files outside the release written once it is live (paths under UPLOAD_DIR): the MAC entries. */
  bootFiles: Array<{ path: string; content: string }>;
  /** UPLOAD_OWNER: the web server's group. */
  group: string | undefined;
  keep: number;
  /** Unique to this run: names of its temporaries. */
  runId: string;
  cleanup: CleanupStack;
  /**
   * The project's key (B19): the release's SHA256SUMS is signed with it
   * (SHA256SUMS.sig, checked at boot), and the live release's is checked with
   * it before its sums of inherited members are signed again. Without it the
   * release is not signed.
   */
  signer?: ProjectSigner;
  onProgress?: (text: string) => void;
  onWarning?: (text: string) => void;
}

export interface PublishedRelease {
  release: string;
  previous: string | undefined;
  /** Members linked from the previous release (or from the flat layout). */
  inherited: string[];
  /** Files of this run the live release already had with the same sha256: linked from it, not sent (issue 12). */
  unchanged: string[];
  /** The hosts with a boot entry in the release. */
  entries: string[];
  pruned: string[];
}

/** Where the members not built by this run come from: the live release, else vauban.sh's flat `<name>/` layout. */
function inheritance(state: MasterState, name: string): { folder: string; members: Member[]; from: string } | undefined {
  if (state.current !== undefined) return { folder: releaseDir(name, state.current), members: state.releases.get(state.current) ?? [], from: `release ${state.current}` };
  const flat = state.top.flatMap((member): Member[] => {
    if (member.type === 'f' && (member.name === ROOTFS || hostOfConffs(member.name) !== undefined)) return [member];
    const target = member.type === 'l' && (KERNEL_LINKS as readonly string[]).includes(member.name) ? flatLinkInRelease(member.target) : undefined;
    return target === undefined ? [] : [{ ...member, target }];
  });
  return flat.length === 0 ? undefined : { folder: name, members: flat, from: `the files of ${name}/ (layout before releases)` };
}


/** A release complete on a server (`releases/<release>`), not live yet: what its switch and finish need. */
export interface StagedRelease {
  server: PxeServer;
  state: MasterState;
  inherited: Member[];
  unchanged: ReleaseFile[];
  entries: string[];
  /** Its members: the article's paths and the kernel links made once it is live. */
  members: string[];
  /** Removes the staged release, unless it was made live (a failed upload; the run's cleanup does it too). */
  remove: () => Promise<void>;
  /** It is live: never removed. */
  madeLive: () => Promise<void>;
}

/** One server: the release staged, then made live by one rename of `current`, then finished. */
export async function publishRelease(server: PxeServer, input: PublishInput): Promise<PublishedRelease> {
  const staged = await stageRelease(server, input);
  await server.script([linkCommand(`${server.dir}/${currentLink(input.name)}`, currentTarget(input.release), input.runId)]);
  await staged.madeLive();
  return finishRelease(staged, input);
}

/**
 * Every step of a release on `server` but its switch: this run's files sent
 * and checked, the rest linked from the live release, the entries and
 * SHA256SUMS written, the modes set, the folder renamed to
 * `releases/<release>`. `current` still names the live release: a release
 * staged on every server is switched on all of them at once (publishEverywhere).
 */
export async function stageRelease(server: PxeServer, input: PublishInput): Promise<StagedRelease> {
  const state = await readMasterState(server, input.name);
  if (state.releases.has(input.release)) throw new VaubanError(`${server.name}: release ${input.release} of ${input.name} already exists`);
  const staging = `${server.dir}/${stagingDir(input.name, input.release)}`;
  const complete = `${server.dir}/${releaseDir(input.name, input.release)}`;
  const remove = (folder: string) => async () => {
    await server.script([sh('rm', '-rf', '--', folder)], { debug: server.runOptions.debug, allowFailure: true });
  };
  const removeStaging = input.cleanup.push(`partial release ${server.name}:${staging}`, remove(staging));
  // Registered before the rename: a cut between the two leaves neither folder behind; once live, never removed.
  let isLive = false;
  const removeComplete = input.cleanup.push(`release not made live ${server.name}:${complete}`, async () => {
    if (!isLive) await remove(complete)();
  });
  try {
    const live = state.current === undefined ? NO_LIVE_SUMS : await readLiveSums(server, `${server.dir}/${releaseDir(input.name, state.current)}`);
    // A release without a signature after a signed one would not boot: the initramfs it keeps from the live release
    // (or any built with the project's key) refuses it. Stopped before anything is staged.
    if (input.signer === undefined && live.signature !== '') {
      throw new VaubanError(`${server.name}: the live release ${state.current ?? ''} of ${input.name} is signed with the project's key, and this run cannot sign: an unsigned release would not boot`, {
        hint: 'run with VAULTED_SSHD_KEYS_KEY, from a checkout whose vault/ has vauban-signing-key.asc',
      });
    }
    await server.script([sh('mkdir', '-p', '--', staging)]);
    // What the live release already has, byte for byte (its SHA256SUMS, checked when it was made), is linked, not sent.
    const unchanged = input.files.filter((file) => live.sums.get(file.member) === file.sha256);
    const sums = await sendFiles(server, staging, { ...input, files: input.files.filter((file) => !unchanged.includes(file)) });
    if (unchanged.length > 0 && state.current !== undefined) {
      const from = `${server.dir}/${releaseDir(input.name, state.current)}`;
      await server.script([`cd ${sh(staging)}`, ...unchanged.map((file) => sh('ln', '--', `${from}/${file.member}`, file.member))]);
      for (const file of unchanged) sums.set(file.member, file.sha256);
    }
    const inherited = await inheritFromLive(server, staging, state, input, sums, live);
    const entries = await completeRelease(server, staging, input, sums);
    await removeStaging();
    const links = inherited.some((member) => member.type === 'l') || input.kernelVersion !== undefined;
    return {
      server,
      state,
      inherited,
      unchanged,
      entries,
      members: [...new Set([...sums.keys(), ...(links ? KERNEL_LINKS : [])])],
      remove: removeComplete,
      madeLive: async () => {
        isLive = true;
        await removeComplete();
      },
    };
  } catch (error) {
    // Nothing of a release that failed stays on the server (the run's cleanup would do it at its end).
    await removeStaging();
    await removeComplete();
    throw error;
  }
}

/** Once live: the article's paths, the MAC entries, the releases past RELEASES_KEEP, the folder modes. */
export async function finishRelease(staged: StagedRelease, input: PublishInput): Promise<PublishedRelease> {
  const pruned = await afterSwitch(staged.server, input, staged.state, staged.members);
  return {
    release: input.release,
    previous: staged.state.current,
    inherited: staged.inherited.map((member) => member.name).sort(),
    unchanged: staged.unchanged.map((file) => file.member).sort(),
    entries: staged.entries,
    pruned,
  };
}

/** This run's files into the partial release, each checked once there; their sha256 by member. */
async function sendFiles(server: PxeServer, staging: string, input: PublishInput): Promise<Map<string, string>> {
  // The shares of a staged release are on the server, checked by the promote that reads them: linked.
  const there = input.files.filter((file) => file.onServer !== undefined);
  if (there.length > 0) await server.script([`cd ${sh(staging)}`, ...there.map((file) => sh('ln', '--', `${server.dir}/${file.onServer ?? ''}`, file.member))]);
  const sent = input.files.filter((file) => file.onServer === undefined);
  const sums = await sendChecked(server, staging, sent, input.onProgress);
  for (const file of there) sums.set(file.member, file.sha256);
  return sums;
}

/**
 * Sends `files` into `folder` of the server, each then checked there by its
 * sha256 (one `sha256sum` for all); their sha256 by member. Shared by a
 * release's staging and a share of a staged release.
 */
export async function sendChecked(server: PxeServer, folder: string, files: readonly ReleaseFile[], onProgress?: (text: string) => void): Promise<Map<string, string>> {
  for (const [index, file] of files.entries()) {
    // The bytes sent of each file (rootfs.tgz takes minutes on a slow link): a live line, a line every 10 s in CI.
    const size = formatBytes(statSync(file.local).size);
    const said = (sent: number) => onProgress?.(`${index + 1}/${files.length} ${file.member}: ${formatBytes(sent)} of ${size}`);
    said(0);
    await server.send(file.local, `${folder}/${file.member}`, { ...server.runOptions, onInputBytes: said });
  }
  if (files.length > 0) {
    const got = parseSums((await server.script([`cd ${sh(folder)}`, sh('sha256sum', '--', ...files.map((file) => file.member))])).stdout);
    for (const file of files) {
      if (got.get(file.member) !== file.sha256) {
        throw new VaubanError(`${server.name}:${folder}/${file.member} does not match ${file.local} after the copy (sha256 ${got.get(file.member) ?? 'none'} != ${file.sha256})`);
      }
    }
  }
  return new Map(files.map((file) => [file.member, file.sha256]));
}

/**
 * What this run did not make, from the live release (or the flat layout):
 * hard links (same bytes, no copy, the old release unchanged) and the kernel
 * links; their sha256 added to `sums`. Returns what was inherited.
 */
async function inheritFromLive(server: PxeServer, staging: string, state: MasterState, input: PublishInput, sums: Map<string, string>, live: LiveSums): Promise<Member[]> {
  const source = inheritance(state, input.name);
  const made = new Set([...sums.keys(), ...(input.kernelVersion === undefined ? [] : KERNEL_LINKS)]);
  const inherited = (source?.members ?? []).filter((member) => !made.has(member.name) && hasDropIn(member.name));
  const script = [`cd ${sh(staging)}`];
  for (const member of inherited) {
    script.push(member.type === 'l' ? sh('ln', '-s', '--', member.target, member.name) : sh('ln', '--', `${server.dir}/${source?.folder ?? ''}/${member.name}`, member.name));
  }
  const captured: string[] = [];
  if (input.kernelVersion !== undefined) {
    for (const kind of KERNEL_LINKS.filter((one) => !sums.has(one))) {
      // The shared file's bytes as they are now (a hard link: a later upload replaces it by a rename, never in place).
      const shared = `${server.dir}/${kernelFile(kind, input.kernelVersion)}`;
      script.push(`if [ -f ${sh(shared)} ] && [ ! -L ${sh(shared)} ]; then ${sh('ln', '--', shared, kind)}; else ${sh('ln', '-sfn', '--', kernelLinkTarget(kind, input.kernelVersion), kind)}; fi`);
      captured.push(kind);
    }
  }
  const files = inherited.filter((member) => member.type === 'f').map((member) => member.name);
  // The kernel files captured above are read once, there; a link (no shared file yet) has no sum.
  if (captured.length > 0) script.push(`for member in ${captured.map((one) => sh(one)).join(' ')}; do [ -L "$member" ] || sha256sum -- "$member"; done`);
  const kernelSums = parseSums((await server.script(script)).stdout);
  for (const kind of captured) {
    const sum = kernelSums.get(kind);
    if (sum !== undefined) sums.set(kind, sum);
  }
  // The inherited files' sums: the live release's SHA256SUMS (the flat layout has none: its files are read once, there).
  const known = new Map(live.sums);
  const unknown = files.filter((member) => !known.has(member));
  if (unknown.length > 0) {
    for (const [member, sum] of parseSums((await server.script([`cd ${sh(staging)}`, sh('sha256sum', '--', ...unknown)])).stdout)) known.set(member, sum);
  }
  for (const member of files) {
    const sum = known.get(member);
    if (sum === undefined) throw new VaubanError(`${server.name}: no sha256 for ${member} of ${source?.from ?? input.name}`);
    sums.set(member, sum);
  }
  if (input.signer !== undefined && source !== undefined && state.current !== undefined && files.length > 0) {
    await checkSignedSums(server, live, source.from, files.map((member) => [member, sums.get(member) as string]), input);
  }
  return inherited;
}

/** The live release's SHA256SUMS, as written and by member, and its signature (base64, '' when it has none). */
interface LiveSums {
  text: string;
  sums: Map<string, string>;
  signature: string;
}

const NO_LIVE_SUMS: LiveSums = { text: '', sums: new Map(), signature: '' };

/** Reads SHA256SUMS and SHA256SUMS.sig of the release folder `folder` in one round trip: the staging of a release reads them once. */
async function readLiveSums(server: PxeServer, folder: string): Promise<LiveSums> {
  const marker = '--- vauban signature';
  const { stdout } = await server.script([`cd ${sh(folder)}`, `cat -- ${SUMS} 2>/dev/null || true`, `printf '\\n%s\\n' ${sh(marker)}`, `base64 -w0 -- ${SUMS_SIGNATURE} 2>/dev/null || true`]);
  const at = stdout.lastIndexOf(`\n${marker}`);
  const text = stdout.slice(0, Math.max(at, 0));
  return { text, sums: parseSums(text), signature: at < 0 ? '' : stdout.slice(at + marker.length + 1).trim() };
}

/**
 * The sums of inherited members are signed again in the new release: they
 * must be the ones the project signed in the live release, not what someone
 * who can write the server put in its SHA256SUMS since. A live release made
 * before releases were signed has no signature: its sums are taken as they
 * are (said), once.
 */
async function checkSignedSums(server: PxeServer, live: LiveSums, from: string, inherited: Array<[string, string]>, input: PublishInput): Promise<void> {
  const { text, signature } = live;
  if (signature === '') {
    input.onWarning?.(`${server.name}: ${from} of ${input.name} is not signed (made before releases were): the sums of what this release keeps from it are taken from its SHA256SUMS`);
    return;
  }
  if (!(await input.signer?.verify(text, Buffer.from(signature, 'base64')))) {
    throw new VaubanError(`${server.name}: the SHA256SUMS of ${from} of ${input.name} does not carry the project's signature: changed on the server since it was published; nothing of it is signed again`, {
      hint: 'look at who changed that release; an upload of every host (-a all) makes a release that inherits nothing',
    });
  }
  for (const [member, sum] of inherited) {
    if (live.sums.get(member) !== sum) throw new VaubanError(`${server.name}: ${member} of ${from} of ${input.name} is not the file its signed SHA256SUMS lists`);
  }
}

/**
 * The boot entries for exactly this set and its SHA256SUMS, the modes, the
 * rename to `releases/<release>`: complete, not live. Returns the hosts given
 * an entry (none without a rootfs).
 */
async function completeRelease(server: PxeServer, staging: string, input: PublishInput, sums: Map<string, string>): Promise<string[]> {
  const hosts = [...sums.keys()].map(hostOfConffs).filter((host): host is string => host !== undefined).sort();
  const rootfsSha256 = sums.get(ROOTFS);
  const generated = new Map<string, string>();
  if (rootfsSha256 === undefined) {
    if (hosts.length > 0) input.onWarning?.(`${server.name}: ${input.name} has no rootfs.tgz yet: no boot entry is written for ${hosts.join(', ')}`);
  } else {
    for (const host of hosts) {
      const conffsSha256 = sums.get(conffsMember(host)) as string;
      generated.set(entryMember(host), hostEntry({ master: input.name, release: input.release, host, rootfsSha256, conffsSha256 }));
    }
  }
  for (const [member, content] of generated) sums.set(member, createHash('sha256').update(content).digest('hex'));
  const listed = [...sums.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([member, sum]) => `${sum}  ${member}`);
  const sumsText = `${listed.join('\n')}\n`;
  generated.set(SUMS, sumsText);
  // The signature, as base64 through the shell (its bytes are binary).
  const signature = input.signer === undefined ? undefined : Buffer.from(await input.signer.sign(sumsText)).toString('base64');
  // What has a sum is a file (a kernel member too, when it is one); links have none.
  const regular = [...sums.keys(), SUMS, ...(signature === undefined ? [] : [SUMS_SIGNATURE])];
  await server.script([
    `cd ${sh(staging)}`,
    ...[...generated].map(([member, content]) => `printf '%s' ${sh(content)} | ${newFileCommand(member)}`),
    ...(signature === undefined ? [] : [`printf '%s' ${sh(signature)} | base64 -d | ${newFileCommand(SUMS_SIGNATURE)}`]),
    ...protect(regular, input.group, '0640'),
    ...protect([staging], input.group, '0750'),
    sh('mv', '-T', '--', staging, `${server.dir}/${releaseDir(input.name, input.release)}`),
  ]);
  return rootfsSha256 === undefined ? [] : hosts;
}

/** Once live: the article's paths and boot links through current (made once), the MAC entries, old releases, folder modes. Returns the releases removed. */
async function afterSwitch(server: PxeServer, input: PublishInput, state: MasterState, members: string[]): Promise<string[]> {
  const at = (relative: string) => `${server.dir}/${relative}`;
  const script: string[] = [sh('mkdir', '-p', '--', at(BY_MAC_DIR)), ...liveLinks(server.dir, input.name, members, input.runId)];
  for (const file of input.bootFiles) {
    const temporary = temporaryBeside(at(file.path), input.runId);
    script.push(sh('rm', '-f', '--', temporary), `printf '%s' ${sh(file.content)} | ${newFileCommand(temporary)}`, ...protect([temporary], input.group, '0640'), sh('mv', '-f', '--', temporary, at(file.path)));
  }
  for (const copy of input.linuxCopies ?? []) {
    // The A9 path of the live kernel: a new name renamed over the old one (a release booted holds its own bytes).
    const temporary = temporaryBeside(at(copy.path), input.runId);
    script.push(
      sh('mkdir', '-p', '--', at(path.posix.dirname(copy.path))),
      sh('rm', '-f', '--', temporary),
      sh('ln', '--', `${at(releaseDir(input.name, input.release))}/${copy.member}`, temporary),
      // Already that file (an unchanged kernel): mv would refuse to rename a file over itself.
      `if [ ${sh(temporary)} -ef ${sh(at(copy.path))} ]; then ${sh('rm', '-f', '--', temporary)}; else ${sh('mv', '-f', '--', temporary, at(copy.path))}; fi`,
    );
  }
  if ((input.linuxCopies ?? []).length > 0) script.push(...protect([at('linux')], input.group, '0750'));
  const pruned = releasesToPrune([...releaseNames(state), input.release], input.release, input.keep);
  for (const old of pruned) script.push(sh('rm', '-rf', '--', at(releaseDir(input.name, old))));
  script.push(removeStalePartials(at(releasesDir(input.name))));
  script.push(...protect([at(input.name), at(releasesDir(input.name)), at(BOOT_DIR), at(BY_MAC_DIR)], input.group, '0750'));
  const { stdout } = await server.script(script);
  return [...pruned, ...stdout.split('\n').filter((line) => line.startsWith(PARTIAL_PREFIX))];
}

/**
 * The partial releases a run killed outright (SIGKILL, a lost machine) could
 * not remove, each named on stdout once removed. Run once this run's release
 * is live, under the master's lock (publishEverywhere, promote): no other run
 * of the master is staging now, so every `.partial-*` left is a dead run's.
 */
function removeStalePartials(folder: string): string {
  return `(cd ${sh(folder)} && for partial in ${PARTIAL_PREFIX}*; do [ -d "$partial" ] || continue; rm -rf -- "$partial" && printf '%s\\n' "$partial"; done)`;
}
