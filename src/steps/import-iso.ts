// import_iso (A4): the bootstrapped base streamed as a tar into `docker
// import` (<prefix>/raw-iso), then Dockerfile.base on it (<prefix>/iso):
// packages useless on a server removed, python3/ansible/git/openssh-server
// installed, the Ansible repository under /root/ansible, and the headers of
// /imginfo and /packages.
import path from 'node:path';
import type { Context } from '../context.js';
import { buildImage, importImage } from '../system/docker/images.js';
import { consumeTar, createTarStream } from '../system/tar.js';
import { readOsName } from '../os-name.js';
import { createBuildContext } from './build-context.js';
import type { ImportedBase, MountedBase } from './types.js';

// Pseudo file systems and scratch space: empty in the image, as in a container.
const NOT_IMPORTED = ['./proc/*', './sys/*', './dev/*', './run/*', './tmp/*', './var/tmp/*'];

export async function importIso(ctx: Context, base: MountedBase | undefined): Promise<ImportedBase | undefined> {
  if (!ctx.runs('import_iso') || base === undefined) return undefined;
  const prefix = readOsName(base.root);
  const docker = await ctx.docker();

  const rawIso = `${prefix}/raw-iso`;
  await ctx.reporter.step(`import_iso: ${rawIso}`, async () => {
    const tar = await createTarStream(base.root, { oneFileSystem: true, exclude: NOT_IMPORTED, signal: ctx.signal });
    const id = await consumeTar(tar, (stream) => importImage(docker, stream, rawIso, ctx.signal));
    // Its id and size in the log: what the next step starts FROM, should it fail at once.
    const { Size } = await docker.getImage(id).inspect();
    ctx.reporter.line(`  imported ${rawIso}: ${id.replace(/^sha256:/, '').slice(0, 12)}, ${(Size / 1024 ** 2).toFixed(0)} MiB`);
    ctx.report.images.push(rawIso);
    ctx.registry.publish(rawIso);
  });

  const image = `${prefix}/iso`;
  await ctx.reporter.step(`import_iso: ${image} (Dockerfile.base)`, async () => {
    const checkout = await ctx.ansible.checkout(ctx.options.branch);
    const context = await createBuildContext({
      dockerfile: path.join(ctx.installDir, 'Dockerfile.base'),
      ansibleParent: checkout.parent,
      scratch: path.join(ctx.workDir, 'context-base'),
      files: {},
      signal: ctx.signal,
    });
    const id = await consumeTar(context, (stream) =>
      buildImage(docker, {
        context: stream,
        dockerfile: 'Dockerfile.base',
        tag: image,
        buildArgs: { SOURCE: rawIso, ISO: base.origin, BRANCH: ctx.options.branch, ANSIBLE_PACKAGES: ctx.settings.values.ANSIBLE_PACKAGES?.trim() || 'ansible' },
        onLine: (line) => ctx.reporter.line(`  │ ${line}`),
        signal: ctx.signal,
      }),
    );
    ctx.reporter.debug(`built ${image} (${id})`);
    ctx.report.images.push(image);
    ctx.registry.publish(image);
  });
  return { prefix, image };
}
