// An output written under a temporary name beside its final one, then renamed:
// it appears whole or not at all. The temporary file (gigabytes for
// rootfs.tgz) is removed by the cleanup when the run fails or is interrupted
// before the rename.
import { renameSync, rmSync } from 'node:fs';
import type { CleanupStack } from './cleanup.js';

export interface TemporaryFile {
  /** Where to write. */
  path: string;
  /** Renames it to its final name. */
  commit: () => Promise<void>;
}

/** A temporary name for `final` (`<final>.tmp-<id>`), registered for removal at once. */
export function temporaryFileFor(final: string, id: string, cleanup: CleanupStack): TemporaryFile {
  const temporary = `${final}.tmp-${id}`;
  const remove = cleanup.push(`temporary file ${temporary}`, async () => rmSync(temporary, { force: true }));
  return {
    path: temporary,
    commit: async () => {
      renameSync(temporary, final);
      await remove();
    },
  };
}
