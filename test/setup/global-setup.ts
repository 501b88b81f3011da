// Before the integration tests: the services they need (dockerd), the
// fixture base image (built once per recipe, then cached), and the base images
// vauban makes of it (built once per run, removed after: shared-base.ts).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixtureBaseImage } from '../helpers/fixtures.js';
import { buildSharedBase } from '../helpers/shared-base.js';

export default async function setup(): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) throw new Error('the integration tests need root (loop devices, mounts, dockerd)');
  execFileSync('bash', [fileURLToPath(new URL('./start-services.sh', import.meta.url))], { stdio: 'inherit' });
  // The tests run the built bin/vauban.js: build it from the current sources.
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: fileURLToPath(new URL('../../', import.meta.url)), stdio: 'inherit' });
  const started = Date.now();
  const image = await fixtureBaseImage();
  console.log(`fixture base image: ${image} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const shared = Date.now();
  const removeSharedBase = await buildSharedBase(image);
  console.log(`shared base images built in ${((Date.now() - shared) / 1000).toFixed(1)} s`);
  return removeSharedBase;
}
