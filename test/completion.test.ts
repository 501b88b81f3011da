// Issue 15, item 4: `vauban completion bash|zsh|fish`, run in the real
// shells: bash through its completion function (COMP_WORDS, COMP_CWORD), fish
// with `complete -C`, zsh in a pseudo-terminal with Tab. The working directory
// has a config.yml and ANSIBLE_REPO is a local repository with two branches.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAnsibleRepo } from './helpers/fixtures.js';
import { sh } from './helpers/sh.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

let work: string;
let project: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = mkdtempSync('/var/tmp/vauban-itest-completion-');
  project = path.join(work, 'project');
  mkdirSync(project);
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  for (const command of ['vauban', 'vauban-ci']) symlinkSync(path.join(REPO, 'bin', `${command}.js`), path.join(bin, command));
  writeFileSync(path.join(project, 'config.yml'), 'configuration: {}\n"debian-12-generic-amd64.raw":\n  name: debian-12/iso\n  master-12-base:\n    stages: [pb_base.yml]\n    master-12-web:\n      stages: [feature@pb_web.yml]\n      conffs: "web*"\n');
  const repo = await makeAnsibleRepo(work);
  env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: work, ANSIBLE_REPO: repo.url };
  for (const shell of ['bash', 'zsh', 'fish']) {
    writeFileSync(path.join(work, `vauban.${shell}`), await sh(process.execPath, [path.join(REPO, 'bin', 'vauban.js'), 'completion', shell]));
  }
}, 120_000);

afterAll(() => {
  if (work !== undefined && process.env.VAUBAN_TEST_KEEP !== '1') rmSync(work, { recursive: true, force: true });
});

async function inShell(shell: string, args: string[]): Promise<string> {
  const result = await execa(shell, args, { cwd: project, env, extendEnv: false, reject: false, timeout: 60_000 });
  expect(result.exitCode, `${shell}: ${String(result.stderr)}`).toBe(0);
  return String(result.stdout).replace(/\r/g, '');
}

// Each case: the words of the command line as bash splits them (it makes "=" a word of its own), the last being completed.
const CASES: Array<{ line: string[]; expected: string[]; fish?: string[] }> = [
  { line: ['vauban', '-r', ''], expected: ['no', 'yes'] },
  { line: ['vauban', '--upload', '=', ''], expected: ['no', 'yes'] },
  { line: ['vauban', '-rn'], expected: ['-rno'] },
  { line: ['vauban', '--compr'], expected: ['--compression'] },
  { line: ['vauban', '-s', 'master-12-'], expected: ['master-12-base', 'master-12-web'] },
  { line: ['vauban', '-n', ''], expected: ['debian-12/iso', 'master-12-base', 'master-12-web'] },
  { line: ['vauban', '-b', ''], expected: ['feature', 'master'] },
  { line: ['vauban', '-r', 'no', 'pb_b'], expected: ['pb_base.yml', 'pb_broken.yml', 'pb_broken_nginx.yml'] },
  { line: ['vauban', '-b', 'feature', 'pb_w'], expected: ['pb_web.yml'] },
  // pb_web.yml is on branch feature only; fish then falls back to its fuzzy match (p-b-_-w in pb_slow.yml).
  { line: ['vauban', 'pb_w'], expected: [], fish: ['pb_slow.yml'] },
  { line: ['vauban', 'fea'], expected: ['feature@'] },
  { line: ['vauban', 'feature@pb_w'], expected: ['feature@pb_web.yml'] },
  { line: ['vauban', 'completion', ''], expected: ['bash', 'fish', 'zsh'] },
  { line: ['vauban', 'boot', '--accel', ''], expected: ['kvm', 'tcg'] },
  { line: ['vauban-ci', '--stage', ''], expected: ['all', 'conffs', 'initramfs', 'promote', 'rootfs'] },
  { line: ['vauban-ci', '--name', 'master-12-w'], expected: ['master-12-web'] },
];

/** The line as typed: words joined, "--opt = value" written back as "--opt=value". */
function typed(words: string[]): string {
  return words.join(' ').replace(/ = ?/g, '=');
}

describe('vauban completion bash|zsh|fish (issue 15, item 4)', () => {
  it('bash: the script registers both commands and completes options, yes/no, masters, branches and stages', async () => {
    const script = [
      `source ${path.join(work, 'vauban.bash')}`,
      'complete -p vauban vauban-ci',
      // What bash does on Tab: COMP_WORDS and COMP_CWORD set, the function called, COMPREPLY read.
      'c() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _vauban_complete; printf "%s\\n" "${COMPREPLY[@]}" | sort | paste -sd " "; }',
      ...CASES.map((one) => `c ${one.line.map((word) => `'${word}'`).join(' ')}`),
    ].join('\n');
    const lines = (await inShell('bash', ['-c', script])).split('\n');
    expect(lines.slice(0, 2)).toEqual(['complete -F _vauban_complete vauban', 'complete -F _vauban_complete vauban-ci']);
    expect(lines.slice(2)).toEqual(CASES.map((one) => one.expected.join(' ')));
  });

  it('fish: complete -C gives the same candidates', async () => {
    const script = [
      `source ${path.join(work, 'vauban.fish')}`,
      ...CASES.map((one) => `echo (complete -C ${JSON.stringify(typed(one.line))} | string split -f1 \\t | sort)`),
    ].join('\n');
    const lines = (await inShell('fish', ['--no-config', '-c', script])).split('\n');
    // fish writes an --option=value candidate whole.
    expect(lines.slice(0, CASES.length)).toEqual(CASES.map((one) => (one.fish ?? one.expected).map((candidate) => (one.line.includes('=') ? `--upload=${candidate}` : candidate)).join(' ')));
  });

  it('zsh: Tab in an interactive zsh offers the same candidates', async () => {
    for (const one of CASES.filter((candidate, index) => index % 3 === 0 || /@|boot|ci/.test(candidate.line.join(' ')))) {
      const found = await inShell('zsh', ['-f', path.join(REPO, 'test', 'helpers', 'zsh-complete.zsh'), path.join(work, 'vauban.zsh'), typed(one.line)]);
      expect([...new Set(found.split('\n').filter(Boolean))].sort(), typed(one.line)).toEqual(one.expected);
    }
  });

  it('writes the script fast, and refuses a shell it does not know', async () => {
    const started = Date.now();
    await sh(process.execPath, [path.join(REPO, 'bin', 'vauban.js'), 'completion', 'bash']);
    expect(Date.now() - started).toBeLessThan(2000);
    const wrong = await execa(process.execPath, [path.join(REPO, 'bin', 'vauban.js'), 'completion', 'tcsh'], { reject: false });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toBe("error: no completion for the shell 'tcsh': give one of bash, zsh, fish, e.g. vauban completion bash");
  });
});
