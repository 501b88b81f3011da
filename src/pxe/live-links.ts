// The links that make a release live: `<name>/current`, and the paths that
// reach the live release through it. Each is replaced in one rename, so that
// no request ever finds it missing.
import { bootEntryLink, dropInLink, hasDropIn, temporaryBeside } from './layout.js';
import { sh } from './pxe-server.js';

/**
 * Replaces `link` by a symlink to `target` in one rename (never a moment
 * without it), unless it already is one. An `if`, not `[ ] || { a && b; }`:
 * sh -e does not stop on a failure inside the latter.
 */
export function linkCommand(link: string, target: string, runId: string): string {
  const temporary = temporaryBeside(link, runId);
  return `if [ "$(readlink -- ${sh(link)} 2>/dev/null)" != ${sh(target)} ]; then ${sh('ln', '-sfn', '--', target, temporary)}; ${sh('mv', '-Tf', '--', temporary, link)}; fi`;
}

/**
 * The paths that reach the live release through `current`: the article's
 * (`<name>/rootfs.tgz`, `vmlinuz`, `initramfs.img`, `conffs-<host>.tgz`) and
 * `boot/<host>.ipxe` for each entry of the release. Each is made once and
 * then only ever points through `current`: switching `current` switches them.
 */
export function liveLinks(dir: string, name: string, members: readonly string[], runId: string): string[] {
  const lines: string[] = [];
  for (const member of members.filter(hasDropIn)) {
    const link = dropInLink(name, member);
    lines.push(linkCommand(`${dir}/${link.path}`, link.target, runId));
  }
  for (const member of members) {
    const host = /^(.+)\.ipxe$/.exec(member)?.[1];
    if (host === undefined) continue;
    const link = bootEntryLink(name, host);
    lines.push(linkCommand(`${dir}/${link.path}`, link.target, runId));
  }
  return lines;
}

