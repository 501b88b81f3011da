#!/usr/bin/env node
// Start-up time of `vauban -h` against bare node (budget: under 150 ms).
//   node bench/startup.mjs [runs]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 20);
const vauban = fileURLToPath(new URL('../bin/vauban.js', import.meta.url));

function median(command, args) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    execFileSync(command, args, { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times.at(-1) };
}

const bare = median(process.execPath, ['-e', '0']);
const help = median(process.execPath, [vauban, '-h']);
console.log(`bare node:  median ${bare.median.toFixed(0)} ms (min ${bare.min.toFixed(0)}, max ${bare.max.toFixed(0)})`);
console.log(`vauban -h:  median ${help.median.toFixed(0)} ms (min ${help.min.toFixed(0)}, max ${help.max.toFixed(0)}), ${runs} runs`);
console.log(`cost of vauban over bare node: ${(help.median - bare.median).toFixed(0)} ms`);
