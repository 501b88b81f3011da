// upload (A9, B14, B19): what this run built, to every PXE server, as a
// release of the master: its kernel files (the rootfs's kernel), rootfs and
// conffs, staged complete on every server, then made live on all of them by
// one rename of `<name>/current` each, or on none
// (src/pxe/publish-everywhere.ts), with its boot entries; then the kernel files
// at their A9 path, UPLOAD_DIR/linux/<kind>-<kver>, hard links of the
// release's (a release keeps the bytes it was booted with). With sudo when the
// ssh user cannot write UPLOAD_DIR. rootfs.tgz and conffs carry private sshd
// keys: files are 0640 and folders 0750, with UPLOAD_OWNER's group (the web
// server's), so that no other user of the PXE server can read them.
import { readFileSync } from 'node:fs';
import type { Context } from '../context.js';
import type { PlannedArtifact } from '../model/plan.js';
import { byMacEntry, uploadFolders, releaseDir, releaseName, sharesDir } from '../pxe/layout.js';
import { publishEverywhere } from '../pxe/publish-everywhere.js';
import { putFile } from '../pxe/put-file.js';
import { openSshServer, type PxeServer } from '../pxe/pxe-server.js';
import type { ReleaseFile } from '../pxe/publish-release.js';
import { pxeTargets } from '../pxe/ssh-options.js';
import { sha256File } from '../system/sha256-file.js';
import { imageId } from '../system/docker/images.js';
import { formatShard } from '../model/shard.js';
import { waitingMessage, withMasterLocks } from '../pxe/master-lock.js';
import { readMasterState } from '../pxe/master-state.js';
import { uploadShare, type ShareInput } from '../pxe/shares.js';
import type { ConffsArtifact, KernelArtifacts, RootfsArtifact } from './types.js';
import { releaseSigner } from '../vault/project-key.js';

export interface UploadInput {
  kernel: KernelArtifacts | undefined;
  rootfs: RootfsArtifact | undefined;
  conffs: ConffsArtifact[] | undefined;
  /** Every host -a selects (every shard's), for a share's manifest. */
  selectedHosts?: string[] | undefined;
}

/** The image the run's files were built from: the master it built, else the source of its conffs (its Docker ID). */
async function builtOn(ctx: Context, rootfs: RootfsArtifact | undefined): Promise<ShareInput['image']> {
  const name = rootfs?.image ?? ctx.options.sourceImage;
  if (name === undefined) return null;
  const id = await imageId(await ctx.docker(), name);
  return id === undefined ? null : { name, id };
}

/**
 * A share of a staged release (issue 29): this run's files on every server,
 * under the master's lock, nothing live; `vauban promote` makes the shares
 * one release. A server that fails fails the run: the promote then names it.
 */
async function uploadShareEverywhere(ctx: Context, servers: readonly PxeServer[], input: ShareInput): Promise<void> {
  const label = input.shard === undefined ? `share ${input.label}` : `shard ${formatShard(input.shard)}`;
  await ctx.reporter.step(`${label} of staged release ${input.release} of ${input.name} on ${servers.length} server(s)`, (status) =>
    withMasterLocks(servers, input.name, (server) => ctx.reporter.info(waitingMessage(server, input.name)), async () => {
      for (const server of servers) {
        const state = await readMasterState(server, input.name);
        await uploadShare(server, { ...input, onProgress: (text) => status.update(text) }, new Set(state.releases.keys()));
        for (const file of input.files) ctx.report.uploaded.push(`${server.name}:${server.dir}/${sharesDir(input.name, input.release)}/${input.label}/${file.member}`);
      }
    }),
  );
  ctx.reporter.info(`${input.name}: ${label} of release ${input.release} staged (${input.files.length} file(s), not live): \`vauban promote ${input.name} ${input.release}\` makes the whole release live once every share is there`);
}

export async function upload(ctx: Context, input: UploadInput): Promise<undefined> {
  if (!ctx.runs('upload')) return undefined;
  const name = ctx.options.name;
  if (input.rootfs !== undefined && input.rootfs.kernelVersion === undefined) {
    ctx.reporter.warn(`the kernel version of ${input.rootfs.image} is unknown: the release keeps the vmlinuz and initramfs.img links of the live one`);
  }
  // What goes where is the plan's (its delivery); what this run built of it goes: a host whose conffs
  // failed, or a master whose SBOM could not be made, is left out.
  const delivery = ctx.plan.delivery;
  if (delivery === undefined) return undefined;
  const built = (artifact: PlannedArtifact): boolean => {
    if (artifact.role === 'conffs') return (input.conffs ?? []).some((conffs) => conffs.host === artifact.host);
    if (artifact.role === 'sbom') return input.rootfs?.sbom !== undefined;
    return artifact.role === 'rootfs' ? input.rootfs !== undefined : input.kernel !== undefined;
  };
  const releaseFiles = delivery.members.filter(({ artifact }) => built(artifact)).map(({ member, artifact }) => ({ member, local: ctx.output(artifact.file) }));
  // The kernel files are members of the release (issue 30): promote and rollback restore the ones booted with it;
  // also put at their A9 path once live. A release boots the kernel of its rootfs (A9): one of another version only
  // goes to linux/, as before releases.
  const linuxOnly = delivery.linuxOnly.filter(({ artifact }) => built(artifact)).map(({ artifact, path }) => ({ local: ctx.output(artifact.file), path }));
  const linuxCopies = input.kernel === undefined ? [] : delivery.linuxCopies;
  if (input.kernel !== undefined && linuxOnly.length > 0) {
    ctx.reporter.warn(`the kernel built (${input.kernel.kernelVersion}) is not the rootfs's (${input.rootfs?.kernelVersion ?? ''}): it goes to linux/ only, the release boots linux/vmlinuz-${input.rootfs?.kernelVersion ?? ''}`);
  }
  if (releaseFiles.length === 0 && linuxOnly.length === 0) {
    ctx.reporter.info('upload: this run built nothing to upload');
    return undefined;
  }
  const group = ctx.settings.values.UPLOAD_OWNER || undefined;
  if (group === undefined) {
    ctx.reporter.warn("UPLOAD_OWNER is not set: the uploaded files are 0640, readable by the ssh user's group only; set it to the web server's group");
  }
  // Each file is read once, whatever the number of servers.
  const sums = new Map<string, string>();
  for (const file of [...releaseFiles, ...linuxOnly]) sums.set(file.local, await sha256File(file.local));
  const withSums: ReleaseFile[] = releaseFiles.map((file) => ({ ...file, sha256: sums.get(file.local) as string }));
  const bootFiles = (input.conffs ?? []).flatMap((conffs) =>
    conffs.byMac === undefined ? [] : [{ path: byMacEntry(conffs.byMac.mac), content: readFileSync(conffs.byMac.file, 'utf8') }],
  );
  const release = releaseName(ctx.startedAt, ctx.runId);
  const keep = Number(ctx.settings.values.RELEASES_KEEP ?? '3');
  const dir = ctx.settings.values.UPLOAD_DIR ?? '';

  const targets = pxeTargets(ctx.settings.values, ctx.workDir);
  const servers: PxeServer[] = [];
  await ctx.reporter.step(`upload: reach ${targets.length} PXE server(s)`, async () => {
    for (const target of targets) {
      const folders = uploadFolders(name, input.kernel !== undefined);
      const server = await openSshServer({ target, dir, folders, runOptions: ctx.runOptions, onSudo: () => ctx.reporter.debug(`${target.destination}: writing ${dir} with sudo`) });
      servers.push(server);
      // A kernel that is not the rootfs's: to linux/ only (each file under a temporary name, checked, renamed).
      for (const file of linuxOnly) {
        const sent = await putFile(server, { local: file.local, path: file.path, sha256: sums.get(file.local) as string, group, runId: ctx.runId, cleanup: ctx.cleanup });
        if (sent) ctx.report.uploaded.push(`${target.destination}:${dir}/${file.path}`);
      }
    }
  });
  if (releaseFiles.length === 0) return undefined;
  if (delivery.share !== undefined) {
    await uploadShareEverywhere(ctx, servers, {
      name,
      release: delivery.share.release,
      label: delivery.share.label,
      shard: ctx.options.shard,
      selection: ctx.options.shard === undefined ? null : { pattern: ctx.options.ansibleHost ?? '', hosts: [...(input.selectedHosts ?? [])].sort() },
      hosts: (input.conffs ?? []).map((conffs) => conffs.host),
      files: withSums,
      bootFiles,
      kernelVersion: input.rootfs?.kernelVersion,
      linuxCopies,
      image: await builtOn(ctx, input.rootfs),
      group,
      runId: ctx.runId,
    });
    return undefined;
  }
  // Signed with the project's key (B19); a project that signs and a run without the passphrase stop here.
  const signer = (await ctx.projectSigner()) ?? (await releaseSigner(ctx.vaultDir, undefined));
  // Staged on every server, then live on all of them or on none (issue 30).
  const published = await ctx.reporter.step(`release ${release} of ${name} on ${servers.length} server(s), all or none`, (status) =>
    publishEverywhere(
      servers,
      {
        name,
        release,
        files: withSums,
        kernelVersion: input.rootfs?.kernelVersion,
        linuxCopies,
        bootFiles,
        group,
        keep,
        runId: ctx.runId,
        cleanup: ctx.cleanup,
        ...(signer === undefined ? {} : { signer }),
        onProgress: (text) => status.update(text),
        onWarning: (text) => ctx.reporter.warn(text),
      },
      {
        onStaging: (server) => status.update(`staging on ${server}`),
        onWaiting: (server) => ctx.reporter.info(waitingMessage(server, name)),
        onSwitched: (server, from, to) => ctx.reporter.debug(`${server}: ${name} ${from ?? 'none'} -> ${to}`),
      },
    ),
  );
  for (const { server, published: one } of published) {
    for (const file of withSums) {
      if (!one.unchanged.includes(file.member)) ctx.report.uploaded.push(`${server}:${dir}/${releaseDir(name, release)}/${file.member}`);
    }
    for (const file of [...bootFiles, ...linuxCopies]) ctx.report.uploaded.push(`${server}:${dir}/${file.path}`);
    ctx.report.live.push(`${server}: ${name} release ${release} (was ${one.previous ?? 'none'})`);
    const same = one.unchanged.length > 0 ? `; unchanged (same sha256, linked, not sent): ${one.unchanged.join(', ')}` : '';
    const kept = `${one.inherited.length > 0 ? `; kept from ${one.previous ?? 'the flat layout'}: ${one.inherited.join(', ')}` : ''}${same}`;
    ctx.reporter.info(`${server}: ${name} release ${release} is live, ${one.entries.length} boot entr${one.entries.length === 1 ? 'y' : 'ies'}${kept}${one.pruned.length > 0 ? `; removed ${one.pruned.join(', ')}` : ''}`);
  }
  return undefined;
}
