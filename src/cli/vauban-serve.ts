// `vauban serve [--dir D] [--port P]` (B6): serves a folder laid out as the PXE
// servers are (UPLOAD_DIR: releases, current, boot entries) over HTTP, with
// byte ranges and exact lengths, until Ctrl-C. For labs and tests: the
// production web server stays nginx or Apache on the PXE servers.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { VaubanError } from '../errors.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface Flags {
  dir: string;
  port: number;
  listen: string;
  debug: boolean;
}

function port(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number (0: any free port)');
  return Number(value);
}

const serve: CommandDefinition<Flags, void, 'signals', false> = {
  name: 'vauban serve',
  parse: commanderParse(
    () =>
      new Command('vauban serve')
        .description('Serve a folder laid out as the PXE servers are (UPLOAD_DIR) over HTTP, with byte ranges, until Ctrl-C')
        .option('--dir <dir>', 'the folder to serve', '.')
        .option('--port <port>', 'the TCP port (0: any free port)', port, 8080)
        .option('--listen <address>', 'the address to listen on (0.0.0.0 for a lab network: conffs hold private host keys)', '127.0.0.1')
        .option('--debug', 'print more', false),
    (program) => program.opts<Flags>(),
  ),
  debug: (flags) => flags.debug,
  settings: false,
  needs: 'signals',
  // Ctrl-C is how serving ends: exit 0.
  work: async ({ io, flags, reporter }, _prepared, { signal }) => {
    const { existsSync, statSync } = await import('node:fs');
    const dir = path.resolve(io.cwd, flags.dir);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new VaubanError(`--dir ${dir} is not a folder`);
    const { startStaticServer } = await import('../system/http-server.js');
    const { chainByMac } = await import('../pxe/ipxe-entry.js');
    const server = await startStaticServer(dir, { host: flags.listen, port: flags.port, onRequest: (line) => reporter.line(line) }).catch((error: unknown) => {
      throw new VaubanError(`cannot listen on ${flags.listen}:${flags.port}: ${(error as Error).message}`, { cause: error });
    });
    const url = `http://${flags.listen === '0.0.0.0' ? '<this-host>' : flags.listen}:${server.port}`;
    // The port on a line of its own: scripts (and tests) read it when --port 0 chose one.
    reporter.line(`serving ${dir} at ${url}/ (Ctrl-C stops)`);
    reporter.line(`listening on port ${server.port}`);
    reporter.line(`iPXE script to boot a host by its MAC address from here:\n${chainByMac(url).trimEnd()}`);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await server.close();
    return 0;
  },
};

export function mainServe(io: CommandIo): Promise<number> {
  return runCommand(serve, io);
}
