// The base images every integration file would otherwise build from the
// fixture raw image (issue 27): `<prefix>/raw-iso` and, with ansible-core (the
// lean repositories' ANSIBLE_PACKAGES), `<prefix>/iso`. Built once before the
// files run, by the real vauban; a file's first build then reuses them by
// their inputs, as a second run on an operator's machine would. Cases that
// need the base mounted say --no-cache (robustness.test, bases.test).
//
// They also carry a name of their own (`vauban-itest-shared/...:keep`): a file
// that rebuilds them takes their usual names, and a later `docker image prune`
// would remove what it left untagged. The teardown removes them.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { makeAnsibleRepo } from './fixtures.js';
import { sh } from './sh.js';
import { runVauban, tail } from './vauban.js';

const KEEP = 'vauban-itest-shared';

/** Builds the shared base images from `baseImage`; returns their removal. */
export async function buildSharedBase(baseImage: string): Promise<() => Promise<void>> {
  const work = mkdtempSync('/var/tmp/vauban-itest-shared-');
  try {
    const cwd = path.join(work, 'project');
    mkdirSync(cwd);
    mkdirSync(path.join(work, 'home'));
    const repo = await makeAnsibleRepo(work);
    const master = `${KEEP}-master-${process.pid}`;
    // No stage: the base chain and its rootfs only.
    const run = await runVauban('vauban', ['-f', baseImage, '-n', master, '-i', 'no', '-l', 'no', '-u', 'no', '--compression', 'zstd'], {
      cwd,
      env: { HOME: path.join(work, 'home'), ...repo.settings, VAULTED_SSHD_KEYS_KEY: 'vauban-itest-shared' },
      log: path.join(work, 'vauban.log'),
    });
    if (run.exitCode !== 0) throw new Error(`the shared base images could not be built:\n${tail(run)}`);
    const iso = /\s(?:build|reuse) image (debian-[\d.]+)\/iso: /.exec(run.output)?.[1];
    if (iso === undefined) throw new Error(`no base image named in the build's output:\n${tail(run)}`);
    const ids: string[] = [];
    for (const kind of ['raw-iso', 'iso']) {
      const id = (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', `${iso}/${kind}`])).trim();
      await sh('docker', ['tag', id, `${KEEP}/${kind}:keep`]);
      ids.push(id);
    }
    await sh('docker', ['image', 'rm', master]);
    return async () => {
      await sh('docker', ['image', 'rm', '-f', `${KEEP}/raw-iso:keep`, `${KEEP}/iso:keep`]).catch(() => undefined);
      // Their usual names, if a file left them on these images: then the images themselves.
      await sh('docker', ['image', 'rm', '-f', ...ids.reverse()]).catch(() => undefined);
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
