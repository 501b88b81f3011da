import { VaubanError } from '../errors.js';

/** Marks a pipeline step that is planned but not built yet: the run stops with a clear message. */
export function notImplemented(step: string): never {
  throw new VaubanError(`step ${step} is not implemented yet in this version of vauban`, {
    hint: 'use --dry-run to see the plan, or vauban.sh for this step until it lands',
  });
}
