// On a terminal: spinners and ✔ lines, and never a read of the terminal. A
// run started in the background of a shell (here under `timeout`, in its own
// process group) must not be stopped by SIGTTIN.
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAnsibleRepo, type AnsibleRepo } from './helpers/fixtures.js';

const BIN = fileURLToPath(new URL('../bin/vauban.js', import.meta.url));
let work: string;
let repo: AnsibleRepo;

beforeAll(async () => {
  work = mkdtempSync('/var/tmp/vauban-itest-tty-');
  repo = await makeAnsibleRepo(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a shell command on a pseudo-terminal made by script(1), whose own stdin is empty. */
function onTerminal(command: string, typescript: string) {
  return execa('script', ['-qec', command, path.join(work, typescript)], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm', HOME: work, ...repo.settings, VAULTED_SSHD_KEYS_KEY: 'tty-test' },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
}

describe('terminal output', () => {
  it('a terminal of unknown width gets plain lines', async () => {
    const command = `timeout 60 ${process.execPath} ${BIN} -s vauban-no-such-image -n master-tty -i no -l no -u no pb_base.yml`;
    const result = await onTerminal(command, 'typescript-0');
    expect(result.exitCode).toBe(1);
    expect(String(result.stdout)).toMatch(/\dZ ==> preflight/);
  });

  it('shows a spinner per step with its outcome, and exits while in the background of a terminal', async () => {
    // A terminal of known size (script's has none), then vauban in the background of it.
    const command = `stty cols 120 rows 40; timeout 60 ${process.execPath} ${BIN} -s vauban-no-such-image -n master-tty -i no -l no -u no pb_base.yml`;
    const started = Date.now();
    const result = await onTerminal(command, 'typescript');
    const seconds = (Date.now() - started) / 1000;
    const raw = String(result.stdout);
    // Colours and cursor moves are there (it is a terminal); read the text without them.
    expect(raw).toMatch(/\x1b\[/);
    const output = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    // timeout(1) exits 124 when it had to stop the command: that would be the hang.
    expect(result.exitCode, output.slice(-2000)).toBe(1);
    expect(seconds).toBeLessThan(30);
    expect(output).toMatch(/✔ preflight/);
    expect(output).toMatch(/✖ apply_stages/);
    expect(output).toMatch(/source image vauban-no-such-image does not exist/);
  });
});
