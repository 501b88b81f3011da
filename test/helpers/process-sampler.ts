// Samples every process of the machine while a vauban run works: the argument
// lists of all of them, and the environment (/proc/<pid>/environ) of every
// process vauban started, directly or not. A secret found in a child's
// environment is a leak, unless the child runs under a program allowed to
// hold that secret (git holds the token of ANSIBLE_REPO, by design).
import { readFileSync, readdirSync } from 'node:fs';

export interface SamplerOptions {
  /** Secrets by name. */
  needles: Record<string, string>;
  /** The pid of the process that leads to vauban (vauban itself, or a wrapper of it). */
  rootPid: () => number | undefined;
  /** Needle name -> program names (comm) under which that secret may be held. */
  allowedUnder?: Record<string, string[]>;
  intervalMs?: number;
}

export interface SampleReport {
  /** Every argument list seen, on the whole machine. */
  argv: Set<string>;
  /** Program names of vauban's children seen. */
  children: Set<string>;
  /** How many children environments were read. */
  environsRead: number;
  /** "<comm> (pid N): NAME" for each secret found where it must not be. */
  leaks: string[];
}

interface Proc {
  ppid: number;
  comm: string;
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      procs.set(Number(entry), { ppid, comm });
    } catch {
      // gone
    }
  }
  return procs;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

export function startProcessSampler(options: SamplerOptions): { stop: () => Promise<SampleReport> } {
  const report: SampleReport = { argv: new Set(), children: new Set(), environsRead: 0, leaks: [] };
  const seenLeaks = new Set<string>();
  let running = true;
  const ancestors = (procs: Map<number, Proc>, pid: number): number[] => {
    const chain: number[] = [];
    for (let at = procs.get(pid)?.ppid; at !== undefined && at > 1 && chain.length < 64; at = procs.get(at)?.ppid) chain.push(at);
    return chain;
  };
  const tick = (): void => {
    const procs = readProcs();
    const root = options.rootPid();
    // vauban's own node process: a descendant (or the root) running bin/vauban.js.
    const vaubans = new Set<number>();
    for (const pid of procs.keys()) {
      const cmdline = read(`/proc/${pid}/cmdline`);
      if (cmdline === undefined) continue;
      report.argv.add(cmdline.split('\0').join(' ').trim());
      if (root !== undefined && (pid === root || ancestors(procs, pid).includes(root)) && /bin\/vauban[\w-]*\.js/.test(cmdline)) vaubans.add(pid);
    }
    for (const [pid, proc] of procs) {
      const chain = ancestors(procs, pid);
      if (vaubans.has(pid) || !chain.some((one) => vaubans.has(one))) continue;
      const environ = read(`/proc/${pid}/environ`);
      if (environ === undefined) continue;
      report.environsRead++;
      report.children.add(proc.comm);
      const names = [proc.comm, ...chain.map((one) => procs.get(one)?.comm ?? '')];
      for (const [name, value] of Object.entries(options.needles)) {
        if (!environ.includes(value)) continue;
        if ((options.allowedUnder?.[name] ?? []).some((allowed) => names.includes(allowed))) continue;
        const leak = `${proc.comm} (pid ${pid}): ${name}`;
        if (!seenLeaks.has(leak)) report.leaks.push(leak);
        seenLeaks.add(leak);
      }
    }
  };
  const loop = (async () => {
    while (running) {
      tick();
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return report;
    },
  };
}
