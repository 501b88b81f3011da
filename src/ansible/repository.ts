// The run's view of the Ansible repository: each branch the run needs is
// fetched once on the host (that branch only), then checked out once, and the
// copy is reused by every build that needs that branch (the rootfs stages and
// every conffs host). Each copy lives in a folder named `ansible`, ready to be
// put in a build context as is: its .git holds that branch only, and no
// credential.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from '../errors.js';
import { checkoutBranch, fetchBranch, initMirror, pathInCommit, treeMatches, type GitRemote } from '../system/git.js';
import type { RunOptions } from '../system/run.js';
import { isInventoryEntry, isInventorySource, type InventoryFile } from './inventory-change.js';

/** A branch as fetched: what a cache decision or a check of its tree needs, without a working copy. */
export interface Commit {
  branch: string;
  sha: string;
  /** The bare repository holding it. */
  mirror: string;
}

/** A working copy of a branch: what a build needs. */
export interface Checkout extends Commit {
  /** The folder holding `ansible/` (the working copy). */
  parent: string;
  dir: string;
}

export interface AnsibleRepositoryOptions {
  remote: GitRemote;
  workDir: string;
  /**
   * A bare repository kept between runs (the project's .vauban/ansible.git),
   * fetched into instead of a new one in workDir: a run fetches only what is
   * new. Safe under the project's run lock; never holds a credential (fetches
   * name the URL, no remote is stored). Undefined: a fresh one in workDir.
   */
  keptMirror?: string;
  /** ANSIBLE_ROOT_DIR: where inventory and ansible.cfg live inside the repository. */
  rootDir: string | undefined;
  runOptions: RunOptions;
}

export class AnsibleRepository {
  private mirror: Promise<string> | undefined;
  private readonly commits = new Map<string, Promise<Commit>>();
  private readonly checkouts = new Map<string, Promise<Checkout>>();
  private readonly archives = new Map<string, Promise<string>>();

  constructor(private readonly options: AnsibleRepositoryOptions) {}

  /**
   * `branch` fetched (on first use), not checked out: a run that reuses every
   * build never makes a working copy.
   */
  commit(branch: string): Promise<Commit> {
    let commit = this.commits.get(branch);
    if (commit === undefined) {
      commit = this.fetch(branch).then(({ mirror, sha }) => ({ branch, sha, mirror }));
      this.commits.set(branch, commit);
    }
    return commit;
  }

  /** The working copy of `branch` (fetched and checked out on first use). */
  checkout(branch: string): Promise<Checkout> {
    let checkout = this.checkouts.get(branch);
    if (checkout === undefined) {
      checkout = this.makeCheckout(branch);
      this.checkouts.set(branch, checkout);
    }
    return checkout;
  }

  /**
   * The working copy of `branch` as a tar file (`ansible/...`, owned by root),
   * made once per run and branch: every stage container and every conffs host
   * gets a copy of the same bytes, without a tar process each.
   */
  archive(branch: string): Promise<string> {
    let archive = this.archives.get(branch);
    if (archive === undefined) {
      archive = this.checkout(branch).then(async (checkout) => {
        const file = `${checkout.parent}.tar`;
        const { consumeTar, createTarOf } = await import('../system/tar.js');
        const { createWriteStream } = await import('node:fs');
        const { pipeline } = await import('node:stream/promises');
        const tar = await createTarOf(checkout.parent, ['ansible'], { signal: this.options.runOptions.signal });
        await consumeTar(tar, (stream) => pipeline(stream, createWriteStream(file, { mode: 0o600 })));
        return file;
      });
      this.archives.set(branch, archive);
    }
    return archive;
  }

  /**
   * A digest of the branch's tree without its inventory (issues 12, 28): the
   * entries `inventory*`, `host_vars` and `group_vars` of the folder Ansible
   * runs in (ANSIBLE_ROOT_DIR) are left out, so that a host's variables
   * changing there change only that host's builds (its variables, as Ansible
   * resolves them, are an input of their own: stage-reads.ts). Everything
   * else is in it, by git object ids: playbooks, roles, templates, ansible.cfg,
   * and every folder beside ANSIBLE_ROOT_DIR and beside each of its parents.
   */
  inventorylessTree(commit: Commit): Promise<string> {
    return (this.trees ??= new Map()).get(commit.sha) ?? this.computeTree(commit);
  }

  private trees: Map<string, Promise<string>> | undefined;

  private computeTree(commit: Commit): Promise<string> {
    const tree = (async () => {
      const { run } = await import('../system/run.js');
      const list = async (treeish: string) => (await run('git', ['--git-dir', commit.mirror, 'ls-tree', treeish], this.options.runOptions)).stdout.split('\n').filter(Boolean);
      const nameOf = (line: string) => line.split('\t')[1] ?? '';
      const inventory = isInventoryEntry;
      // Down the path to ANSIBLE_ROOT_DIR: at each level every entry but the next folder of the path (listed in turn).
      const lines: string[] = [];
      const parts = this.rootInTree === '' ? [] : this.rootInTree.split('/');
      for (let depth = 0; depth <= parts.length; depth++) {
        const folder = parts.slice(0, depth).join('/');
        const entries = await list(folder === '' ? commit.sha : `${commit.sha}:${folder}`);
        const next = parts[depth];
        const kept = depth === parts.length ? entries.filter((line) => !inventory(nameOf(line))) : entries.filter((line) => nameOf(line) !== next);
        lines.push(...kept.map((line) => `${folder}\t${line}`));
      }
      return createHash('sha256').update(lines.join('\n')).digest('hex');
    })();
    this.trees?.set(commit.sha, tree);
    return tree;
  }

  /**
   * The files of the inventory sources of commit `sha` (`inventory*`,
   * `group_vars/`, `host_vars/` of ANSIBLE_ROOT_DIR, paths relative to it),
   * with the text of the inventory files themselves (not of the variables
   * files): what inventory-change.ts compares. Undefined when the commit, or
   * ANSIBLE_ROOT_DIR in it, is not in the mirror.
   */
  async inventoryFiles(mirror: string, sha: string): Promise<Map<string, InventoryFile> | undefined> {
    const { run } = await import('../system/run.js');
    const options = { ...this.options.runOptions, allowFailure: true };
    const treeish = this.rootInTree === '' ? `${sha}^{tree}` : `${sha}:${this.rootInTree}`;
    const listed = await run('git', ['--git-dir', mirror, 'ls-tree', '-r', '-z', treeish], options);
    if (listed.exitCode !== 0) return undefined;
    const files = new Map<string, InventoryFile>();
    for (const record of listed.stdout.split('\0')) {
      const match = /^(\d+) \w+ ([0-9a-f]+)\t(.+)$/s.exec(record);
      if (match === null || !isInventoryEntry(match[3]?.split('/')[0] ?? '')) continue;
      const [, mode = '', blob = '', file = ''] = match;
      let text: string | undefined;
      if (mode === '100644' && isInventorySource(file)) {
        const shown = await run('git', ['--git-dir', mirror, 'cat-file', 'blob', blob], options);
        if (shown.exitCode !== 0) return undefined;
        text = shown.stdout;
      }
      files.set(file, { mode, blob, ...(text === undefined ? {} : { text }) });
    }
    return files;
  }

  /**
   * Whether a line of the branch's commit (anywhere in the repository: a
   * playbook under ANSIBLE_ROOT_DIR may reach roles outside it through
   * ansible.cfg) matches the extended regular expression `pattern`; asked once per commit and pattern.
   */
  matches(commit: Commit, pattern: string): Promise<boolean> {
    const key = `${commit.sha} ${pattern}`;
    let found = this.mentions.get(key);
    if (found === undefined) {
      found = treeMatches(commit, pattern, this.options.runOptions);
      this.mentions.set(key, found);
    }
    return found;
  }

  private readonly mentions = new Map<string, Promise<boolean>>();

  /** ANSIBLE_ROOT_DIR as a path of the repository's tree ('' for its top): no ./, no leading or trailing /. */
  private get rootInTree(): string {
    return (this.options.rootDir ?? '').replace(/^\.?\/*|\/+$/g, '');
  }

  /** Whether `name` is in ANSIBLE_ROOT_DIR of the commit (a file or a folder). */
  inRootDir(commit: Commit, name: string): Promise<boolean> {
    return pathInCommit(commit, path.posix.join(this.rootInTree, name), this.options.runOptions);
  }

  /** Fails clearly when `playbook` is not in `branch` (before any build starts). */
  async assertPlaybook(branch: string, playbook: string): Promise<void> {
    const commit = await this.commit(branch);
    const inTree = path.posix.normalize(path.posix.join(this.rootInTree, playbook));
    if (inTree.startsWith('../') || !(await pathInCommit(commit, inTree, this.options.runOptions))) {
      const where = this.options.rootDir ? ` (in ANSIBLE_ROOT_DIR ${this.options.rootDir})` : '';
      throw new VaubanError(`playbook ${playbook} does not exist on branch '${branch}' of the Ansible repository${where}`);
    }
  }

  /** The bare repository branches are fetched into, one at a time (git locks its refs). */
  private fetch(branch: string): Promise<{ mirror: string; sha: string }> {
    const mirror = this.mirror ?? this.openMirror();
    const fetched = mirror.then((dir) => this.fetchInto(dir, branch));
    // The next fetch waits for this one, whatever its outcome (a branch that does not exist leaves the mirror as it was);
    // nothing runs in the background meanwhile (the run's cleanup may remove the work folder as soon as it fails).
    this.mirror = fetched.then(
      ({ mirror: dir }) => dir,
      () => mirror,
    );
    // A mirror that could not be opened fails the fetches that ask for it, never the process.
    this.mirror.catch(() => undefined);
    return fetched;
  }

  /** The kept mirror when there is one (made on first use), else a fresh one in the work folder. */
  private async openMirror(): Promise<string> {
    const kept = this.options.keptMirror;
    if (kept !== undefined && existsSync(path.join(kept, 'HEAD'))) return kept;
    const dir = kept ?? path.join(this.options.workDir, 'ansible.git');
    if (kept !== undefined) mkdirSync(path.dirname(kept), { recursive: true, mode: 0o700 });
    await initMirror(dir, this.options.runOptions);
    return dir;
  }

  /**
   * One branch into `dir`. A kept mirror git cannot fetch into (a run killed
   * mid-fetch left a lock, a damaged object store) does not fail the run: the
   * branch is fetched again into a fresh mirror in the work folder, which the
   * rest of the run uses; its error, if any, is the answer.
   */
  private async fetchInto(dir: string, branch: string): Promise<{ mirror: string; sha: string }> {
    try {
      return { mirror: dir, sha: await fetchBranch(this.options.remote, dir, branch, this.options.runOptions) };
    } catch (error) {
      if (dir !== this.options.keptMirror || (error as Error).message.includes('does not exist in the Ansible repository')) throw error;
      const fresh = path.join(this.options.workDir, 'ansible.git');
      if (!existsSync(path.join(fresh, 'HEAD'))) await initMirror(fresh, this.options.runOptions);
      return { mirror: fresh, sha: await fetchBranch(this.options.remote, fresh, branch, this.options.runOptions) };
    }
  }

  private async makeCheckout(branch: string): Promise<Checkout> {
    const { mirror, sha } = await this.commit(branch);
    const parent = path.join(this.options.workDir, 'checkouts', createHash('sha256').update(branch).digest('hex').slice(0, 12));
    mkdirSync(parent, { recursive: true });
    const dir = path.join(parent, 'ansible');
    await checkoutBranch({ mirror, branch, dir, originUrl: this.options.remote.url }, this.options.runOptions);
    return { branch, sha, mirror, parent, dir };
  }
}
