// What a test must leave as it found it: loop devices, mounts, containers.
import { readFileSync } from 'node:fs';
import { sh } from './sh.js';

export interface HostState {
  loops: string[];
  mounts: string[];
  containers: string[];
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
  return { loops, mounts, containers };
}
