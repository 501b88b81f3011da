// The conffs hosts (A7, issue 13 item 4): the -a pattern resolved against the
// branch's inventory by Ansible itself (groups, globs, `!` exclusions, comma
// lists), in a throw-away container of the source image. The inventory can be
// a script or a plugin and ansible.cfg can load any Python: that is the
// repository's code, so it runs where the repository's playbooks run, never as
// root on the build host.
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { assertHostName } from '../conffs/host-names.js';
import { VaubanError } from '../errors.js';
import { execInContainer, putArchive, removeContainer } from '../system/docker/containers.js';

// Keeps the container alive for one exec, and stops at once on TERM.
const SLEEPER = ['/bin/sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];

// The branch's tree exactly (files deleted since the image's copy gone), then Ansible in the inventory's folder.
const LIST_HOSTS = 'git -C /root/ansible clean -ffdxq 2>/dev/null; cd "/root/ansible/${ANSIBLE_ROOT_DIR:-}" && exec ansible "$VAUBAN_PATTERN" --list-hosts';

/** The hosts of the run's branch inventory matching -a, never the master-* ones, resolved inside `image`. */
export async function resolveHosts(ctx: Context, image: string): Promise<string[]> {
  const pattern = ctx.options.ansibleHost ?? '';
  if (!(await ctx.registry.ensureLocal(image))) {
    throw new VaubanError(`the source image ${image} does not exist (needed to resolve the hosts '${pattern}')`);
  }
  const docker = await ctx.docker();
  const archive = await ctx.ansible.archive(ctx.options.branch);
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: [],
    Cmd: SLEEPER,
    name: `vauban-hosts-${ctx.runId}-${randomBytes(3).toString('hex')}`,
  });
  const release = ctx.cleanup.push(`container ${container.id.slice(0, 12)} (host resolution)`, () => removeContainer(docker, container.id));
  try {
    await putArchive(container, createReadStream(archive), '/root');
    await container.start();
    let stdout = '';
    const messages: string[] = [];
    const code = await execInContainer(docker, container, {
      cmd: ['/bin/sh', '-c', LIST_HOSTS],
      env: {
        VAUBAN_PATTERN: `${pattern},!master-*`,
        ANSIBLE_ROOT_DIR: ctx.settings.values.ANSIBLE_ROOT_DIR ?? '',
        ANSIBLE_LOCALHOST_WARNING: 'false',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
      },
      onStdout: async (stream) => {
        for await (const chunk of stream) stdout += (chunk as Buffer).toString('utf8');
      },
      onLine: (line) => messages.push(line),
      signal: ctx.signal,
    });
    if (code !== 0) {
      const detail = messages.filter((line) => line.trim() !== '').slice(-3).join(' / ') || stdout.trim().split('\n').slice(-3).join(' / ');
      throw new VaubanError(`ansible could not resolve the host pattern '${pattern}' (branch ${ctx.options.branch}, in ${image}): ${detail}`);
    }
    const hosts = parseListHosts(stdout);
    if (hosts.length === 0) {
      throw new VaubanError(`no host of the inventory (branch ${ctx.options.branch}) matches '${pattern}' (master-* hosts are never built)`);
    }
    hosts.forEach(assertHostName);
    return hosts;
  } finally {
    await release();
  }
}

/** Reads `ansible --list-hosts` output: a "hosts (N):" header, then one host per line. */
export function parseListHosts(output: string): string[] {
  const lines = output.split('\n');
  const header = lines.findIndex((line) => /^\s*hosts \(\d+\):\s*$/.test(line));
  if (header === -1) return [];
  return lines
    .slice(header + 1)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('[WARNING]'));
}
