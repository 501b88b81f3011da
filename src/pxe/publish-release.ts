// A release on one PXE server (B14): this run's files, and what it did not
// build (the rootfs of a conffs-only run, the conffs of a rootfs-only run)
// hard-linked from the live release, filled in a dot folder, checked, its boot
// entries generated for exactly that set, then renamed to
// `<name>/releases/<release>`; one rename of a new `current` link over the old
// one makes the whole set live. A cut anywhere before that leaves `current` on
// the previous complete release. Then the article's paths and the boot links
// (through `current`), the MAC entries, and the releases past RELEASES_KEEP go.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import type { CleanupStack } from '../system/cleanup.js';
import { hostEntry } from './ipxe-entry.js';
import {
  KERNEL_LINKS,
  ROOTFS,
  SUMS,
  bootEntryLink,
  currentLink,
  currentTarget,
  dropInLink,
  entryMember,
  flatLinkInRelease,
  hasDropIn,
  hostOfConffs,
  kernelLinkTarget,
  releaseDir,
  releasesDir,
  releasesToPrune,
  stagingDir,
} from './layout.js';
import { linkCommand, liveLinks } from './live-links.js';
import { readMasterState, releaseNames, type MasterState, type Member } from './master-state.js';
import { sh, type PxeServer } from './pxe-server.js';

export interface ReleaseFile {
  /** Its name in the release: rootfs.tgz or conffs-<host>.tgz. */
  member: string;
  local: string;
  sha256: string;
}

export interface PublishInput {
  name: string;
  release: string;
  files: ReleaseFile[];
  /** The kernel of the rootfs, for the release's vmlinuz and initramfs.img links; undefined keeps the live release's. */
  kernelVersion: string | undefined;
  /** Files outside the release written once it is live (paths under UPLOAD_DIR): the MAC entries. */
  bootFiles: Array<{ path: string; content: string }>;
  /** UPLOAD_OWNER: the web server's group. */
  group: string | undefined;
  keep: number;
  /** Unique to this run: names of its temporaries. */
  runId: string;
  cleanup: CleanupStack;
  onProgress?: (text: string) => void;
  onWarning?: (text: string) => void;
}

export interface PublishedRelease {
  release: string;
  previous: string | undefined;
  /** Members linked from the previous release (or from the flat layout). */
  inherited: string[];
  /** The hosts with a boot entry in the release. */
  entries: string[];
  pruned: string[];
}

/** Modes of what is served: private keys are in rootfs and conffs, readable by the web server's group only. */
function protect(paths: string[], group: string | undefined, mode: string): string[] {
  if (paths.length === 0) return [];
  return [sh('chmod', mode, '--', ...paths), ...(group === undefined ? [] : [sh('chgrp', group, '--', ...paths)])];
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

function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match !== null) sums.set(match[2] as string, match[1] as string);
  }
  return sums;
}

export async function publishRelease(server: PxeServer, input: PublishInput): Promise<PublishedRelease> {
  const { name, release, runId } = input;
  const dir = server.dir;
  const at = (relative: string) => `${dir}/${relative}`;
  const state = await readMasterState(server, name);
  if (state.releases.has(release)) throw new VaubanError(`${server.name}: release ${release} of ${name} already exists`);

  const staging = at(stagingDir(name, release));
  const removeStaging = input.cleanup.push(`partial release ${server.name}:${staging}`, async () => {
    await server.script([sh('rm', '-rf', '--', staging)], { debug: server.runOptions.debug, allowFailure: true });
  });
  await server.script([sh('mkdir', '-p', '--', staging)]);

  // This run's files, each checked once it is there.
  for (const [index, file] of input.files.entries()) {
    input.onProgress?.(`${index + 1}/${input.files.length} ${file.member}`);
    await server.send(file.local, `${staging}/${file.member}`);
  }
  const sums = new Map(input.files.map((file) => [file.member, file.sha256]));
  if (input.files.length > 0) {
    const got = parseSums((await server.script([`cd ${sh(staging)}`, sh('sha256sum', '--', ...input.files.map((file) => file.member))])).stdout);
    for (const file of input.files) {
      if (got.get(file.member) !== file.sha256) {
        throw new VaubanError(`${server.name}:${staging}/${file.member} does not match ${file.local} after the copy (sha256 ${got.get(file.member) ?? 'none'} != ${file.sha256})`);
      }
    }
  }

  // What this run did not make, from the live release: hard links (same bytes, no copy, no change to the old release).
  const source = inheritance(state, name);
  const made = new Set([...input.files.map((file) => file.member), ...(input.kernelVersion === undefined ? [] : KERNEL_LINKS)]);
  const inherited = (source?.members ?? []).filter((member) => !made.has(member.name) && hasDropIn(member.name));
  const inheritScript = [`cd ${sh(staging)}`];
  for (const member of inherited) {
    inheritScript.push(member.type === 'l' ? sh('ln', '-s', '--', member.target, member.name) : sh('ln', '--', `${at(source?.folder ?? '')}/${member.name}`, member.name));
  }
  if (input.kernelVersion !== undefined) {
    for (const kind of KERNEL_LINKS) inheritScript.push(sh('ln', '-sfn', '--', kernelLinkTarget(kind, input.kernelVersion), kind));
  }
  const inheritedFiles = inherited.filter((member) => member.type === 'f').map((member) => member.name);
  if (source !== undefined && state.current !== undefined && inheritedFiles.length > 0) {
    inheritScript.push(`cat -- ${sh(`${at(source.folder)}/${SUMS}`)} 2>/dev/null || true`);
  }
  const inheritedSums = parseSums((await server.script(inheritScript)).stdout);
  const unknown = inheritedFiles.filter((member) => !inheritedSums.has(member));
  // The flat layout has no SHA256SUMS: its files are read once, there.
  if (unknown.length > 0) {
    for (const [member, sum] of parseSums((await server.script([`cd ${sh(staging)}`, sh('sha256sum', '--', ...unknown)])).stdout)) inheritedSums.set(member, sum);
  }
  for (const member of inheritedFiles) {
    const sum = inheritedSums.get(member);
    if (sum === undefined) throw new VaubanError(`${server.name}: no sha256 for ${member} of ${source?.from ?? name}`);
    sums.set(member, sum);
  }

  // Boot entries for exactly this set, and its SHA256SUMS; then the release is complete and goes live.
  const hosts = [...sums.keys()].map(hostOfConffs).filter((host): host is string => host !== undefined).sort();
  const rootfsSum = sums.get(ROOTFS);
  const generated = new Map<string, string>();
  if (rootfsSum === undefined) {
    if (hosts.length > 0) input.onWarning?.(`${server.name}: ${name} has no rootfs.tgz yet: no boot entry is written for ${hosts.join(', ')}`);
  } else {
    for (const host of hosts) {
      const conffsSha256 = sums.get(`conffs-${host}.tgz`) as string;
      generated.set(entryMember(host), hostEntry({ master: name, release, host, rootfsSha256: rootfsSum, conffsSha256 }));
    }
  }
  for (const [member, content] of generated) sums.set(member, createHash('sha256').update(content).digest('hex'));
  const sumsText = [...sums.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([member, sum]) => `${sum}  ${member}`).join('\n');
  generated.set(SUMS, `${sumsText}\n`);
  const final = at(releaseDir(name, release));
  const regular = [...new Set([...sums.keys(), SUMS])].filter((member) => !(KERNEL_LINKS as readonly string[]).includes(member));
  await server.script([
    `cd ${sh(staging)}`,
    ...[...generated].map(([member, content]) => `printf '%s' ${sh(content)} > ${sh(member)}`),
    ...protect(regular, input.group, '0640'),
    ...protect([staging], input.group, '0750'),
    sh('mv', '-T', '--', staging, final),
    linkCommand(at(currentLink(name)), currentTarget(release), runId),
  ]);
  await removeStaging();

  // Live. The article's paths and the boot links through current (made once, they never change), the MAC entries, old releases.
  const members = [...sums.keys(), ...(input.kernelVersion !== undefined || inherited.some((member) => member.type === 'l') ? KERNEL_LINKS : [])];
  const after: string[] = [sh('mkdir', '-p', '--', at('boot/by-mac')), ...liveLinks(dir, name, members, runId)];
  for (const file of input.bootFiles) {
    const temporary = `${at(path.posix.dirname(file.path))}/.${path.posix.basename(file.path)}.vauban-${runId}`;
    after.push(`printf '%s' ${sh(file.content)} > ${sh(temporary)}`, ...protect([temporary], input.group, '0640'), sh('mv', '-f', '--', temporary, at(file.path)));
  }
  const pruned = releasesToPrune([...releaseNames(state), release], release, input.keep);
  for (const old of pruned) after.push(sh('rm', '-rf', '--', at(releaseDir(name, old))));
  after.push(...protect([at(name), at(releasesDir(name)), at('boot'), at('boot/by-mac')], input.group, '0750'));
  await server.script(after);
  return { release, previous: state.current, inherited: inherited.map((member) => member.name).sort(), entries: rootfsSum === undefined ? [] : hosts, pruned };
}
