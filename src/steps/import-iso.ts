// import_iso (A4): the bootstrapped base streamed as a tar into `docker
// import` (<prefix>/raw-iso), then Dockerfile.base on it (<prefix>/iso):
// packages useless on a server removed, python3/ansible/git/openssh-server
// installed, the Ansible repository under /root/ansible, and the headers of
// /imginfo and /packages. Each image is reused instead when one with the same
// inputs exists (issue 12): a reusable raw-iso spares mounting the base at all.
import path from 'node:path';
import { decideImage, type ImageDecision } from '../cache/decide-image.js';
import { baseIdentity } from '../cache/base-identity.js';
import { OS_NAME_LABEL, cacheLabels, imageId } from '../cache/image-cache.js';
import type { InputParts } from '../cache/inputs.js';
import { baseImageParts } from '../cache/parts.js';
import type { Context } from '../context.js';
import { plannedImage } from '../model/plan.js';
import { buildImage, importImage, tagImage } from '../system/docker/images.js';
import { consumeTar, createTarStream } from '../system/tar.js';
import { readOsName } from '../base/os-name.js';
import { createBuildContext } from '../ansible/build-context.js';
import type { ImportedBase, MountedBase } from './types.js';

// Pseudo file systems and scratch space: empty in the image, as in a container.
const NOT_IMPORTED = ['./proc/*', './sys/*', './dev/*', './run/*', './tmp/*', './var/tmp/*'];


/** A raw-iso that can be reused as it is: the base need not be mounted for the images. */
export interface CachedRawBase {
  prefix: string;
  origin: string;
  decision: ImageDecision;
}

/** The base's identity and origin, known without mounting it. */
function rawBaseOf(ctx: Context): { parts: InputParts; origin: string } {
  return baseIdentity(ctx.options, ctx.settings.values, ctx.cwd);
}

/** The raw-iso of an earlier run with the same base, when the cache allows its reuse. */
export async function findCachedRawBase(ctx: Context): Promise<CachedRawBase | undefined> {
  if (!ctx.runs('import_iso')) return undefined;
  const { parts, origin } = rawBaseOf(ctx);
  const decision = await decideImage(ctx.imageCache, { name: `raw-iso of ${origin}`, parts, parentRebuilt: false, named: false });
  if (decision.action !== 'reuse' || decision.reused === undefined) return undefined;
  const docker = await ctx.docker();
  const prefix = (await docker.getImage(decision.reused.id).inspect()).Config.Labels?.[OS_NAME_LABEL];
  if (prefix === undefined) return undefined;
  return { prefix, origin, decision };
}

export async function importIso(ctx: Context, base: MountedBase | undefined, cached: CachedRawBase | undefined): Promise<ImportedBase | undefined> {
  if (!ctx.runs('import_iso') || (base === undefined && cached === undefined)) return undefined;
  const docker = await ctx.docker();

  let prefix: string;
  let origin: string;
  let rawIso: string;
  if (cached !== undefined && cached.decision.reused !== undefined) {
    ({ prefix, origin } = cached);
    // Known now: the plan names the base's images from here on.
    ctx.learn({ osName: prefix });
    rawIso = plannedImage(ctx.plan, 'raw-base').name;
    await tagImage(docker, cached.decision.reused.id, rawIso);
    ctx.reporter.line(`  reused ${rawIso} (${cached.decision.reused.id.slice(7, 19)}): ${cached.decision.reason}`);
    ctx.report.images.push(rawIso);
    ctx.report.cache.push({ kind: 'image', name: rawIso, action: 'reuse', reason: cached.decision.reason, id: cached.decision.reused.id });
  } else if (base !== undefined) {
    prefix = readOsName(base.root);
    origin = base.origin;
    ctx.learn({ osName: prefix });
    rawIso = plannedImage(ctx.plan, 'raw-base').name;
    const { parts } = rawBaseOf(ctx);
    const decision = await decideImage(ctx.imageCache, { name: rawIso, parts, parentRebuilt: false });
    const labels = { ...cacheLabels(decision.digest, parts, new Date()), [OS_NAME_LABEL]: prefix };
    await ctx.reporter.step(`import_iso: ${rawIso} (${decision.reason})`, async () => {
      const tar = await createTarStream(base.root, { oneFileSystem: true, exclude: NOT_IMPORTED, signal: ctx.signal });
      const id = await ctx.signBuild(await consumeTar(tar, (stream) => importImage(docker, stream, rawIso, ctx.signal, labels)), rawIso);
      // Its id and size in the log: what the next step starts FROM, should it fail at once.
      const { Size } = await docker.getImage(id).inspect();
      ctx.reporter.line(`  imported ${rawIso}: ${id.replace(/^sha256:/, '').slice(0, 12)}, ${(Size / 1024 ** 2).toFixed(0)} MiB`);
      ctx.report.images.push(rawIso);
      ctx.report.cache.push({ kind: 'image', name: rawIso, action: 'build', reason: decision.reason, id });
    });
  } else {
    return undefined;
  }
  ctx.registry.publish(rawIso);

  const image = plannedImage(ctx.plan, 'base').name;
  const checkout = await ctx.ansible.checkout(ctx.options.branch);
  const ansiblePackages = ctx.settings.values.ANSIBLE_PACKAGES?.trim() || 'ansible';
  const dockerfile = path.join(ctx.installDir, 'Dockerfile.base');
  const parts = baseImageParts({
    parent: await imageId(docker, rawIso),
    dockerfile: ctx.installDigest('baseDockerfile'),
    origin,
    ansiblePackages,
  });
  const decision = await decideImage(ctx.imageCache, { name: image, parts, parentRebuilt: cached === undefined });
  if (decision.action === 'reuse' && decision.reused !== undefined) {
    await tagImage(docker, decision.reused.id, image);
    ctx.reporter.line(`  reused ${image} (${decision.reused.id.slice(7, 19)}): ${decision.reason}`);
    ctx.report.images.push(image);
    ctx.report.cache.push({ kind: 'image', name: image, action: 'reuse', reason: decision.reason, id: decision.reused.id });
  } else {
    await ctx.reporter.step(`import_iso: ${image} (Dockerfile.base; ${decision.reason})`, async () => {
      const context = await createBuildContext({
        dockerfile,
        ansibleParent: checkout.parent,
        scratch: path.join(ctx.workDir, 'context-base'),
        files: {},
        signal: ctx.signal,
      });
      const built = await consumeTar(context, (stream) =>
        buildImage(docker, {
          context: stream,
          dockerfile: 'Dockerfile.base',
          tag: image,
          buildArgs: { SOURCE: rawIso, ISO: origin, BRANCH: ctx.options.branch, ANSIBLE_PACKAGES: ansiblePackages },
          labels: cacheLabels(decision.digest, parts, new Date()),
          onLine: (line) => ctx.reporter.line(`  │ ${line}`),
          signal: ctx.signal,
        }),
      );
      const id = await ctx.signBuild(built, image);
      ctx.reporter.debug(`built ${image} (${id})`);
      ctx.report.images.push(image);
      ctx.report.cache.push({ kind: 'image', name: image, action: 'build', reason: decision.reason, id });
    });
  }
  ctx.registry.publish(image);
  return { prefix, image };
}
