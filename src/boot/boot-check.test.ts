import { describe, expect, it } from 'vitest';
import { bootLine, judgeBoot } from './boot-check.js';

const EXPECTED = { host: 'web01', witness: { path: 'etc/vauban-fixture', sha256: 'abc' }, fingerprint: 'SHA256:xyz' };
const GOOD = [
  '[  OK  ] Reached target multi-user.target',
  'VAUBAN-CHECK hostname=web01',
  'VAUBAN-CHECK witness=abc',
  'VAUBAN-CHECK sshd-ed25519=SHA256:xyz',
  'VAUBAN-CHECK root=overlay',
  'VAUBAN-CHECK end',
].join('\r\n');

describe('vauban boot: the verdict', () => {
  it('passes when every line matches', () => {
    expect(judgeBoot(GOOD, EXPECTED).ok).toBe(true);
  });

  it('fails on any mismatch, naming it', () => {
    const verdict = judgeBoot(GOOD.replace('hostname=web01', 'hostname=master-x'), EXPECTED);
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['hostname']);
  });

  it('fails when the guest never got to print (time limit)', () => {
    const verdict = judgeBoot('[    0.000000] Linux version 6.1.0', EXPECTED);
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.every((check) => !check.ok)).toBe(true);
  });

  it('fails when the checks did not complete', () => {
    expect(judgeBoot(GOOD.replace('VAUBAN-CHECK end', ''), EXPECTED).ok).toBe(false);
  });

  it('boots with the article\'s line against the A9 layout', () => {
    expect(bootLine('http://10.0.2.2:8080', 'master-12-web', 'web01')).toBe(
      'root=live:http://10.0.2.2:8080/master-12-web/rootfs.tgz live.updates=http://10.0.2.2:8080/master-12-web/conffs-web01.tgz rd.neednet=1 ip=dhcp rootovl console=tty0 console=ttyS0,115200 net.ifnames=0',
    );
  });
});
