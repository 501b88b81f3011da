// The run's view of the Ansible repository: each branch the run needs is
// fetched once on the host (that branch only), then checked out once, and the
// copy is reused by every build that needs that branch (the rootfs stages and
// every conffs host). Each copy lives in a folder named `ansible`, ready to be
// put in a build context as is: its .git holds that branch only, and no
// credential.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { VaubanError } from './errors.js';
import { checkoutBranch, fetchBranch, initMirror, treeMatches, type GitRemote } from './system/git.js';
import type { RunOptions } from './system/run.js';

export interface Checkout {
  branch: string;
  sha: string;
  /** The folder holding `ansible/` (the working copy). */
  parent: string;
  dir: string;
}

export interface AnsibleRepositoryOptions {
  remote: GitRemote;
  workDir: string;
  /** ANSIBLE_ROOT_DIR: where inventory and ansible.cfg live inside the repository. */
  rootDir: string | undefined;
  runOptions: RunOptions;
}

export class AnsibleRepository {
  private mirror: Promise<string> | undefined;
  private readonly checkouts = new Map<string, Promise<Checkout>>();
  private readonly archives = new Map<string, Promise<string>>();

  constructor(private readonly options: AnsibleRepositoryOptions) {}

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
        const { consumeTar, createTarOf } = await import('./system/tar.js');
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
   * A digest of the branch's tree without its inventory (issue 12): the
   * entries `inventory*`, `host_vars` and `group_vars` of the folder ansible
   * runs in are left out, so that a host's variables changing in the inventory
   * change only that host's conffs (its variables, as the inventory resolves
   * them, are an input of their own). Everything else (playbooks, roles,
   * templates, ansible.cfg) is in it, by git object ids.
   */
  inventorylessTree(checkout: Checkout): Promise<string> {
    return (this.trees ??= new Map()).get(checkout.sha) ?? this.computeTree(checkout);
  }

  private trees: Map<string, Promise<string>> | undefined;

  private computeTree(checkout: Checkout): Promise<string> {
    const tree = (async () => {
      const { run } = await import('./system/run.js');
      const rootDir = (this.options.rootDir ?? '').replace(/^\.?\/*|\/+$/g, '');
      const list = async (treeish: string) => (await run('git', ['-C', checkout.dir, 'ls-tree', treeish], this.options.runOptions)).stdout.split('\n').filter(Boolean);
      const inventory = (line: string) => {
        const name = line.split('\t')[1] ?? '';
        return name.startsWith('inventory') || name === 'host_vars' || name === 'group_vars';
      };
      const top = rootDir === '' ? (await list('HEAD')).filter((line) => !inventory(line)) : [...(await list('HEAD')).filter((line) => line.split('\t')[1] !== rootDir.split('/')[0]), ...(await list(`HEAD:${rootDir}`)).filter((line) => !inventory(line))];
      return createHash('sha256').update(top.join('\n')).digest('hex');
    })();
    this.trees?.set(checkout.sha, tree);
    return tree;
  }

  /**
   * Whether a line of the branch's commit (anywhere in the repository: a
   * playbook under ANSIBLE_ROOT_DIR may reach roles outside it through
   * ansible.cfg) matches the extended regular expression `pattern`; asked once per commit and pattern.
   */
  matches(checkout: Checkout, pattern: string): Promise<boolean> {
    const key = `${checkout.sha} ${pattern}`;
    let found = this.mentions.get(key);
    if (found === undefined) {
      found = treeMatches(checkout.dir, pattern, this.options.runOptions);
      this.mentions.set(key, found);
    }
    return found;
  }

  private readonly mentions = new Map<string, Promise<boolean>>();

  /** The folder ansible runs in, inside a working copy. */
  ansibleDir(checkout: Checkout): string {
    return path.join(checkout.dir, this.options.rootDir ?? '');
  }

  /** Fails clearly when `playbook` is not in `branch` (before any build starts). */
  async assertPlaybook(branch: string, playbook: string): Promise<void> {
    const checkout = await this.checkout(branch);
    if (!existsSync(path.join(this.ansibleDir(checkout), playbook))) {
      const where = this.options.rootDir ? ` (in ANSIBLE_ROOT_DIR ${this.options.rootDir})` : '';
      throw new VaubanError(`playbook ${playbook} does not exist on branch '${branch}' of the Ansible repository${where}`);
    }
  }

  /** The bare repository branches are fetched into, one at a time (git locks its refs). */
  private fetch(branch: string): Promise<{ mirror: string; sha: string }> {
    const dir = path.join(this.options.workDir, 'ansible.git');
    this.mirror ??= initMirror(dir, this.options.runOptions).then(() => dir);
    const fetched = this.mirror.then(() => fetchBranch(this.options.remote, dir, branch, this.options.runOptions));
    this.mirror = fetched.then(() => dir, () => dir);
    return fetched.then((sha) => ({ mirror: dir, sha }));
  }

  private async makeCheckout(branch: string): Promise<Checkout> {
    const { mirror, sha } = await this.fetch(branch);
    const parent = path.join(this.options.workDir, 'checkouts', createHash('sha256').update(branch).digest('hex').slice(0, 12));
    mkdirSync(parent, { recursive: true });
    const dir = path.join(parent, 'ansible');
    await checkoutBranch({ mirror, branch, dir, originUrl: this.options.remote.url }, this.options.runOptions);
    return { branch, sha, parent, dir };
  }
}
