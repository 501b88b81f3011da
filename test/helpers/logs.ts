// The per-host conffs logs of /tmp/vauban-logs made during a test file.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const DIR = '/tmp/vauban-logs';

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
