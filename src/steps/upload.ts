// upload (A9, B14): what this run built, to every PXE server. The kernel files
// go to UPLOAD_DIR/linux/ (shared by every release, each written under a
// temporary name, checked, renamed); the rest is a release of the master,
// made live on that server by one rename of `<name>/current` once complete
// (src/pxe/publish-release.ts), with its boot entries. With sudo when the ssh
// user cannot write UPLOAD_DIR. rootfs.tgz and conffs carry private sshd
// keys: files are 0640 and folders 0750, with UPLOAD_OWNER's group (the web
// server's), so that no other user of the PXE server can read them.
import { readFileSync } from 'node:fs';
import type { Context } from '../context.js';
import { ROOTFS, SBOM, byMacEntry, conffsMember, kernelFile, releaseDir, releaseName } from '../pxe/layout.js';
import { openSshServer } from '../pxe/pxe-server.js';
import { publishRelease, type ReleaseFile } from '../pxe/publish-release.js';
import { putFile } from '../pxe/put-file.js';
import { pxeTargets } from '../pxe/ssh-options.js';
import { sha256File } from '../system/sha256-file.js';
import type { ConffsArtifact, KernelArtifacts, RootfsArtifact } from './types.js';

export interface UploadInput {
  kernel: KernelArtifacts | undefined;
  rootfs: RootfsArtifact | undefined;
  conffs: ConffsArtifact[] | undefined;
}

export async function upload(ctx: Context, input: UploadInput): Promise<undefined> {
  if (!ctx.runs('upload')) return undefined;
  const name = ctx.options.name;
  if (input.rootfs !== undefined && input.rootfs.kernelVersion === undefined) {
    ctx.reporter.warn(`the kernel version of ${input.rootfs.image} is unknown: the release keeps the vmlinuz and initramfs.img links of the live one`);
  }
  const kernel = input.kernel;
  const kernelFiles =
    kernel === undefined
      ? []
      : [
          { local: kernel.vmlinuz, path: kernelFile('vmlinuz', kernel.kernelVersion) },
          { local: kernel.initramfs, path: kernelFile('initramfs.img', kernel.kernelVersion) },
        ];
  const releaseFiles = [
    ...(input.rootfs === undefined ? [] : [{ member: ROOTFS, local: input.rootfs.tarball }]),
    ...(input.rootfs?.sbom === undefined ? [] : [{ member: SBOM, local: input.rootfs.sbom }]),
    ...(input.conffs ?? []).map((conffs) => ({ member: conffsMember(conffs.host), local: conffs.tarball })),
  ];
  if (kernelFiles.length === 0 && releaseFiles.length === 0) {
    ctx.reporter.info('upload: this run built nothing to upload');
    return undefined;
  }
  const group = ctx.settings.values.UPLOAD_OWNER || undefined;
  if (group === undefined) {
    ctx.reporter.warn("UPLOAD_OWNER is not set: the uploaded files are 0640, readable by the ssh user's group only; set it to the web server's group");
  }
  // Each file is read once, whatever the number of servers.
  const sums = new Map<string, string>();
  for (const file of [...kernelFiles, ...releaseFiles]) sums.set(file.local, await sha256File(file.local));
  const withSums: ReleaseFile[] = releaseFiles.map((file) => ({ ...file, sha256: sums.get(file.local) as string }));
  const bootFiles = (input.conffs ?? []).flatMap((conffs) =>
    conffs.byMac === undefined ? [] : [{ path: byMacEntry(conffs.byMac.mac), content: readFileSync(conffs.byMac.file, 'utf8') }],
  );
  const release = releaseName(ctx.startedAt, ctx.runId);
  const keep = Number(ctx.settings.values.RELEASES_KEEP ?? '3');
  const dir = ctx.settings.values.UPLOAD_DIR ?? '';

  for (const target of pxeTargets(ctx.settings.values, ctx.workDir)) {
    await ctx.reporter.step(`upload to ${target.destination}`, async (status) => {
      const folders = [...(kernelFiles.length > 0 ? ['linux'] : []), ...(releaseFiles.length > 0 ? [name, `${name}/releases`, 'boot', 'boot/by-mac'] : [])];
      const server = await openSshServer({
        target,
        dir,
        folders,
        runOptions: ctx.runOptions,
        onSudo: () => ctx.reporter.debug(`${target.destination}: writing ${dir} with sudo`),
      });
      for (const file of kernelFiles) {
        status.update(file.path);
        const sent = await putFile(server, { local: file.local, path: file.path, sha256: sums.get(file.local) as string, group, runId: ctx.runId, cleanup: ctx.cleanup });
        if (sent) ctx.report.uploaded.push(`${target.destination}:${dir}/${file.path}`);
        else ctx.reporter.info(`${target.destination}: ${file.path} is already there with the same sha256: not sent`);
      }
      if (releaseFiles.length === 0) return;
      const published = await publishRelease(server, {
        name,
        release,
        files: withSums,
        kernelVersion: input.rootfs?.kernelVersion,
        bootFiles,
        group,
        keep,
        runId: ctx.runId,
        cleanup: ctx.cleanup,
        onProgress: (text) => status.update(`release ${release}: ${text}`),
        onWarning: (text) => ctx.reporter.warn(text),
      });
      for (const file of withSums) {
        if (!published.unchanged.includes(file.member)) ctx.report.uploaded.push(`${target.destination}:${dir}/${releaseDir(name, release)}/${file.member}`);
      }
      for (const file of bootFiles) ctx.report.uploaded.push(`${target.destination}:${dir}/${file.path}`);
      ctx.report.live.push(`${target.destination}: ${name} release ${release} (was ${published.previous ?? 'none'})`);
      const same = published.unchanged.length > 0 ? `; unchanged (same sha256, linked, not sent): ${published.unchanged.join(', ')}` : '';
      const kept = `${published.inherited.length > 0 ? `; kept from ${published.previous ?? 'the flat layout'}: ${published.inherited.join(', ')}` : ''}${same}`;
      ctx.reporter.info(`${target.destination}: ${name} release ${release} is live, ${published.entries.length} boot entr${published.entries.length === 1 ? 'y' : 'ies'}${kept}${published.pruned.length > 0 ? `; removed ${published.pruned.join(', ')}` : ''}`);
    });
  }
  return undefined;
}
