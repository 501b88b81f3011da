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

  it('judges the services asked for: units active, pages containing a text', () => {
    const services = { ...EXPECTED, active: ['nginx.service'], http: [{ url: 'http://127.0.0.1/', text: 'served by web01' }] };
    const serial = GOOD.replace('VAUBAN-CHECK end', 'VAUBAN-CHECK active:nginx.service=active\r\nVAUBAN-CHECK http:0=served by web01 (web)\r\nVAUBAN-CHECK end');
    expect(judgeBoot(serial, services).ok).toBe(true);
    const failed = judgeBoot(serial.replace('=active', '=failed').replace('by web01', 'by web02'), services);
    expect(failed.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['unit nginx.service', 'page http://127.0.0.1/']);
    expect(judgeBoot(GOOD, services).ok).toBe(false);
  });

  it('boots with the article\'s line against the A9 layout', () => {
    expect(bootLine('http://10.0.2.2:8080', 'master-12-web', 'web01')).toBe(
      'root=live:http://10.0.2.2:8080/master-12-web/rootfs.tgz live.updates=http://10.0.2.2:8080/master-12-web/conffs-web01.tgz rd.neednet=1 ip=dhcp rootovl console=tty0 console=ttyS0,115200 net.ifnames=0',
    );
  });
});
