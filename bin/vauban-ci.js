#!/usr/bin/env node
import { mainCi } from '../dist/src/cli/vauban-ci.js';

process.exitCode = await mainCi({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
