// What a test must leave as it found it: loop devices, mounts, containers,
// and vauban's private work folders in /var/tmp. Compared with a snapshot
// taken before the test, never with an empty list: a run killed outside the
// suite (an operator's Ctrl-C -9) must not fail the next CI.
import { readdirSync, readFileSync } from 'node:fs';
import { sh } from './sh.js';

export interface HostState {
  loops: string[];
  mounts: string[];
  containers: string[];
  workFolders: string[];
}

export async function readHostState(): Promise<HostState> {
  const loops = (await sh('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])).split('\n').filter(Boolean).sort();
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    // Docker's own container mounts come and go with other tests' containers.
    .filter((line) => !/\/var\/lib\/docker\/(overlay2|containers)\/|\/run\/docker\/netns\//.test(line))
    .sort();
  const containers = (await sh('docker', ['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean).sort();
  const workFolders = readdirSync('/var/tmp').filter((name) => /^vauban-[A-Za-z0-9]{6}$/.test(name)).sort();
  return { loops, mounts, containers, workFolders };
}
