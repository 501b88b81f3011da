// A release built by several jobs (issue 29): the master's job and N conffs
// shards each upload their files as one *share* of the same staged release,
// `<name>/releases/.shares-<release>/<share>/` with its manifest
// `<share>.json` written last, on every PXE server; nothing is live. `vauban
// promote <name> <release>` then checks, on every server, that each share's
// files are there with their sha256, that the N shards of one selection are
// all there and were built on the master whose rootfs the release holds, and
// only then makes one release of them (publishEverywhere: staged on every
// server, switched on all or none). A share uploaded again replaces only its
// own files and manifest.
import { z } from 'zod';
import { VaubanError } from '../errors.js';
import { hostsOfShard, type Shard } from '../model/shard.js';
import { BY_MAC_DIR, KERNEL_LINKS, ROOTFS, conffsMember, hostOfConffs, isKernelLinkTarget, isMemberName, releasesDir, shareLabel, shareManifest, sharesDir, temporaryBeside } from './layout.js';
import { newFileCommand, protect, sh, type PxeServer } from './pxe-server.js';
import { sendChecked, type ReleaseFile } from './publish-release.js';
import { parseSums } from './sums.js';

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  vauban: z.literal(1),
  release: z.string(),
  share: z.string().regex(/^(rootfs|initramfs|conffs|[1-9][0-9]*-of-[1-9][0-9]*)$/),
  shard: z.object({ index: z.number().int().min(1), total: z.number().int().min(1) }).nullable(),
  /** Every host the pattern selects (all shards'), sorted: the promote names a missing shard's hosts from it. */
  selection: z.object({ pattern: z.string(), hosts: z.array(z.string()) }).nullable(),
  hosts: z.array(z.string()),
  files: z.record(z.string().refine(isMemberName), SHA256),
  bootFiles: z.array(z.object({ path: z.string().refine((one) => new RegExp(`^${BY_MAC_DIR}/[0-9a-f-]{17}\\.ipxe$`).test(one)), content: z.string() })),
  kernelVersion: z.string().nullable(),
  linuxCopies: z.array(z.object({ member: z.enum(KERNEL_LINKS), path: z.string().refine((one) => isKernelLinkTarget(one, '')) })),
  /** The image the share was built from (the master, or the source of its conffs): its Docker ID. */
  image: z.object({ name: z.string(), id: z.string() }).nullable(),
  runId: z.string(),
  uploadedAt: z.string(),
});

export type ShareManifest = z.infer<typeof manifestSchema>;

export interface ShareInput {
  name: string;
  release: string;
  /** Its name among the release's shares (shareLabel). */
  label: string;
  shard: Shard | undefined;
  selection: ShareManifest['selection'];
  hosts: string[];
  files: ReleaseFile[];
  bootFiles: ShareManifest['bootFiles'];
  kernelVersion: string | undefined;
  linuxCopies: ShareManifest['linuxCopies'];
  image: ShareManifest['image'];
  group: string | undefined;
  runId: string;
  onProgress?: (text: string) => void;
}

export function shareManifestOf(input: ShareInput, now: Date): ShareManifest {
  return {
    vauban: 1,
    release: input.release,
    share: input.label,
    shard: input.shard ?? null,
    selection: input.selection,
    hosts: [...input.hosts].sort(),
    files: Object.fromEntries(input.files.map((file) => [file.member, file.sha256])),
    bootFiles: input.bootFiles,
    kernelVersion: input.kernelVersion ?? null,
    linuxCopies: input.linuxCopies,
    image: input.image,
    runId: input.runId,
    uploadedAt: now.toISOString(),
  };
}

/**
 * This run's share on one server, under the master's lock (the caller's):
 * its old manifest and files removed first (a share cut halfway is absent,
 * never stale), its files sent and checked, its manifest written last.
 */
export async function uploadShare(server: PxeServer, input: ShareInput, completeReleases: ReadonlySet<string>): Promise<void> {
  if (completeReleases.has(input.release)) {
    throw new VaubanError(`${server.name}: release ${input.release} of ${input.name} is already complete (promoted or uploaded whole): a share can no longer join it`, { hint: 'give the next release a new name (vauban-ci names it after the pipeline)' });
  }
  const label = input.label;
  const folder = `${server.dir}/${sharesDir(input.name, input.release)}`;
  const manifest = `${folder}/${shareManifest(label)}`;
  const own = `${folder}/${label}`;
  await server.script([sh('rm', '-f', '--', manifest), sh('rm', '-rf', '--', own), sh('mkdir', '-p', '--', own), ...protect([folder, own], input.group, '0750')]);
  await sendChecked(server, own, input.files, (text) => input.onProgress?.(`${server.name}: ${text}`));
  const temporary = temporaryBeside(manifest, input.runId);
  const text = `${JSON.stringify(shareManifestOf(input, new Date()), null, 2)}\n`;
  await server.script([
    ...protect(input.files.map((file) => `${own}/${file.member}`), input.group, '0640'),
    `printf '%s' ${sh(text)} | ${newFileCommand(temporary)}`,
    ...protect([temporary], input.group, '0640'),
    sh('mv', '-f', '--', temporary, manifest),
  ]);
}


/** What one server holds of a staged release: each share's manifest (or why it is unreadable) and its files' sha256 as read there. */
export interface ServerShares {
  server: string;
  manifests: Array<{ label: string; manifest: ShareManifest | undefined; problem?: string }>;
  /** `<label>/<member>` -> sha256 of what is on the server. */
  sums: Map<string, string>;
}

const SEPARATOR = '--vauban-share-separator--';

/** Reads the shares of `release` on one server in one round trip: the manifests, and the sha256 of every file they may name. */
export async function readShares(server: PxeServer, name: string, release: string): Promise<ServerShares> {
  const folder = `${server.dir}/${sharesDir(name, release)}`;
  const script = [
    `cd ${sh(folder)} 2>/dev/null || exit 0`,
    `for manifest in *.json; do [ -f "$manifest" ] || continue; printf '%s %s\\n' ${sh(SEPARATOR)} "$manifest"; cat -- "$manifest"; printf '\\n'; done`,
    `printf '%s sums\\n' ${sh(SEPARATOR)}`,
    `find . -mindepth 2 -maxdepth 2 -type f -exec sha256sum -- {} +`,
  ];
  return parseSharesListing(server.name, (await server.script(script)).stdout);
}

/** Parses what readShares' script prints (pure, for the unit tests). */
export function parseSharesListing(server: string, output: string): ServerShares {
  const manifests: ServerShares['manifests'] = [];
  const sums = new Map<string, string>();
  const blocks = output.split(`${SEPARATOR} `).slice(1);
  for (const block of blocks) {
    const newline = block.indexOf('\n');
    const head = block.slice(0, newline);
    const body = block.slice(newline + 1);
    if (head === 'sums') {
      for (const [file, sum] of parseSums(body)) sums.set(file.replace(/^\.\//, ''), sum);
      continue;
    }
    const label = head.replace(/\.json$/, '');
    let manifest: ShareManifest | undefined;
    let problem: string | undefined;
    try {
      const parsed = manifestSchema.safeParse(JSON.parse(body));
      if (parsed.success && parsed.data.share === label) manifest = parsed.data;
      else problem = parsed.success ? `its manifest names share ${parsed.data.share}` : `its manifest is not one vauban writes (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`;
    } catch {
      problem = 'its manifest is not JSON';
    }
    manifests.push(problem === undefined ? { label, manifest } : { label, manifest, problem });
  }
  return { server, manifests, sums };
}

/** The release the shares make, identical on every server: its files (each in its share's folder), boot files, kernel. */
export interface MergedShares {
  files: Array<ReleaseFile & { share: string }>;
  bootFiles: ShareManifest['bootFiles'];
  kernelVersion: string | undefined;
  linuxCopies: ShareManifest['linuxCopies'];
  /** The shares, as `main`, `1-of-3`...: what the release is made of. */
  labels: string[];
  hosts: string[];
  /** Why the rootfs' image could not be compared with the shards' (no main share: the live rootfs stays). */
  notes: string[];
}

export type SharesVerdict = { ok: true; merged: MergedShares } | { ok: false; problems: string[] };

/**
 * Whether the shares on every server make one whole release (pure): each
 * server has the same shares, each share's files as its manifest says, the
 * N shards of one selection all there, one member in one share only, and
 * every share built on the same master image.
 */
export function checkShares(name: string, release: string, servers: readonly ServerShares[], expectedShards?: number): SharesVerdict {
  const problems: string[] = [];
  const byLabel = new Map<string, ShareManifest>();
  for (const one of servers) {
    if (one.manifests.length === 0) problems.push(`${one.server}: no share of release ${release} of ${name} (${sharesDir(name, release)}/ is empty or absent)`);
    for (const { label, manifest, problem } of one.manifests) {
      if (manifest === undefined) {
        problems.push(`${one.server}: share ${label}: ${problem ?? 'unreadable'}`);
        continue;
      }
      if (manifest.release !== release) problems.push(`${one.server}: share ${label} names release ${manifest.release}`);
      const seen = byLabel.get(label);
      // The same share on two servers is one upload: the same files, the same image.
      if (seen !== undefined && (JSON.stringify(seen.files) !== JSON.stringify(manifest.files) || seen.image?.id !== manifest.image?.id)) {
        problems.push(`share ${label} differs between servers (uploaded again meanwhile?): upload it again`);
      }
      if (seen === undefined) byLabel.set(label, manifest);
      for (const host of manifest.hosts) {
        if (manifest.files[conffsMember(host)] === undefined) problems.push(`${one.server}: share ${label} names ${host} but holds no conffs of it`);
      }
      for (const [member, sha256] of Object.entries(manifest.files)) {
        const got = one.sums.get(`${label}/${member}`);
        if (got !== sha256) problems.push(`${one.server}: ${label}/${member} ${got === undefined ? 'is missing' : `has sha256 ${got}, its manifest says ${sha256}`}`);
      }
    }
  }
  // A share every server must have.
  for (const label of byLabel.keys()) {
    const lacking = servers.filter((one) => !one.manifests.some((entry) => entry.label === label && entry.manifest !== undefined)).map((one) => one.server);
    if (lacking.length > 0) problems.push(`share ${label} (hosts: ${describeHosts(byLabel.get(label)?.hosts ?? [])}) is missing on ${lacking.join(', ')}`);
  }
  const shards = [...byLabel.values()].filter((manifest) => manifest.shard !== null);
  const totals = new Set(shards.map((manifest) => manifest.shard?.total));
  if (totals.size > 1) problems.push(`the shards were cut in different numbers of shares (${[...totals].join(', ')}): run every shard of one pipeline`);
  const selections = new Set(shards.map((manifest) => JSON.stringify(manifest.selection)));
  if (selections.size > 1) problems.push('the shards selected different hosts (another inventory or pattern): run every shard of one commit');
  if (expectedShards !== undefined) {
    if (shards.length === 0) problems.push(`none of the ${expectedShards} shard(s) has uploaded its share`);
    else if (!totals.has(expectedShards)) problems.push(`the shards were cut in ${[...totals].join(', ')} shares, not ${expectedShards}`);
  }
  const [firstShard] = shards;
  if (firstShard?.shard != null && totals.size === 1 && selections.size === 1) {
    const total = firstShard.shard.total;
    const selected = firstShard.selection?.hosts ?? [];
    for (let index = 1; index <= total; index += 1) {
      if (byLabel.has(shareLabel({ index, total }, { rootfs: false, initramfs: false }))) continue;
      const hosts = hostsOfShard(selected, { index, total });
      if (hosts.length > 0) problems.push(`shard ${index}/${total} has not uploaded (its hosts: ${describeHosts(hosts)})`);
    }
  }
  // One member, one share: two shares naming one host would race.
  const owner = new Map<string, string>();
  for (const [label, manifest] of byLabel) {
    for (const member of Object.keys(manifest.files)) {
      const other = owner.get(member);
      if (other !== undefined) problems.push(`${member} is in share ${other} and share ${label}`);
      else owner.set(member, label);
    }
  }
  // Built on one master: a shard's conffs is what its host adds to the rootfs the release boots.
  const images = new Map<string, string[]>();
  for (const [label, manifest] of byLabel) {
    if (manifest.image !== null) images.set(manifest.image.id, [...(images.get(manifest.image.id) ?? []), label]);
  }
  if (images.size > 1) {
    problems.push(`the shares were built on different images of the master: ${[...images].map(([id, labels]) => `${labels.join(', ')} on ${id.replace(/^sha256:/, '').slice(0, 12)}`).join('; ')} (re-run the shards after the master's job)`);
  }
  if (problems.length > 0) return { ok: false, problems };

  const main = [...byLabel.values()].find((manifest) => manifest.files[ROOTFS] !== undefined);
  const notes: string[] = [];
  if (main === undefined) notes.push('no share holds a rootfs: the release keeps the live one');
  const labels = [...byLabel.keys()].sort();
  return {
    ok: true,
    merged: {
      files: labels.flatMap((label) =>
        Object.entries((byLabel.get(label) as ShareManifest).files).map(([member, sha256]) => ({
          member,
          sha256,
          share: label,
          local: `share ${label}`,
          onServer: `${sharesDir(name, release)}/${label}/${member}`,
        })),
      ),
      bootFiles: labels.flatMap((label) => (byLabel.get(label) as ShareManifest).bootFiles),
      kernelVersion: main?.kernelVersion ?? undefined,
      linuxCopies: labels.flatMap((label) => (byLabel.get(label) as ShareManifest).linuxCopies),
      labels,
      hosts: labels.flatMap((label) => Object.keys((byLabel.get(label) as ShareManifest).files).map(hostOfConffs).filter((host): host is string => host !== undefined)).sort(),
      notes,
    },
  };
}

function describeHosts(hosts: readonly string[]): string {
  if (hosts.length === 0) return 'none';
  return hosts.length <= 12 ? hosts.join(', ') : `${hosts.slice(0, 12).join(', ')} and ${hosts.length - 12} more`;
}

/** The shares folder, once its release is made: removed on every server (the release holds hard links of its files). */
export async function removeShares(server: PxeServer, name: string, release: string): Promise<void> {
  await server.script([sh('rm', '-rf', '--', `${server.dir}/${sharesDir(name, release)}`)]);
}

/** The staged releases of a master on a server and their shares (for `vauban promote --list`). */
export async function listStaged(server: PxeServer, name: string): Promise<Map<string, string[]>> {
  const folder = `${server.dir}/${releasesDir(name)}`;
  const output = (await server.script([`cd ${sh(folder)} 2>/dev/null || exit 0`, `for manifest in .shares-*/*.json; do [ -f "$manifest" ] && printf '%s\\n' "$manifest"; done; true`])).stdout;
  const staged = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const match = /^\.shares-([^/]+)\/(.+)\.json$/.exec(line.trim());
    if (match === null) continue;
    staged.set(match[1] as string, [...(staged.get(match[1] as string) ?? []), match[2] as string]);
  }
  return staged;
}
