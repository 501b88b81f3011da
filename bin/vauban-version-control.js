#!/usr/bin/env node
import { mainVersionControl } from '../dist/src/cli/vauban-version-control.js';

process.exitCode = await mainVersionControl({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
});
