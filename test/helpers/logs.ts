// The per-host conffs logs (vauban's default folder, /var/log/vauban) made during a test file.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** vauban's default per-host log folder (VAUBAN_LOG_DIR unset). */
export const CONFFS_LOG_DIR = '/var/log/vauban';
const DIR = CONFFS_LOG_DIR;

export interface LogWatch {
  /** Names of the log files created since the watch started. */
  created: () => string[];
  /** Removes them. */
  remove: () => void;
}

export function watchConffsLogs(): LogWatch {
  const list = () => (existsSync(DIR) ? readdirSync(DIR) : []);
  const before = new Set(list());
  const created = () => list().filter((name) => !before.has(name));
  return {
    created,
    remove: () => {
      for (const name of created()) rmSync(path.join(DIR, name), { force: true });
    },
  };
}
