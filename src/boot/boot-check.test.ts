import { describe, expect, it } from 'vitest';
import { judgeBoot, judgeRefusal } from './boot-check.js';

const EXPECTED = { host: 'web01', witness: { path: 'etc/vauban-fixture', sha256: 'abc' }, fingerprint: 'SHA256:xyz' };
const GOOD = [
  '[  OK  ] Reached target multi-user.target',
  'VAUBAN-CHECK hostname=web01',
  'VAUBAN-CHECK witness=abc',
  'VAUBAN-CHECK sshd-ed25519=SHA256:xyz',
  'VAUBAN-CHECK root=overlay',
  'VAUBAN-CHECK multi-user=active',
  'VAUBAN-CHECK integrity=vauban.conffs.sha256=ok vauban.rootfs.sha256=ok ',
  'VAUBAN-CHECK rw-layer=tmpfs 999.2M holds /',
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

  it('fails when systemd had not reached multi-user.target', () => {
    const verdict = judgeBoot(GOOD.replace('multi-user=active', 'multi-user=activating'), EXPECTED);
    expect(verdict.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['multi-user.target']);
  });

  it('fails when the checks did not complete', () => {
    expect(judgeBoot(GOOD.replace('VAUBAN-CHECK end', ''), EXPECTED).ok).toBe(false);
  });

  it('judges the services asked for: units active, pages containing a text', () => {
    const services = { ...EXPECTED, active: ['nginx.service'], http: [{ url: 'http://127.0.0.1/', text: 'served by web01' }] };
    const serial = GOOD.replace('VAUBAN-CHECK end', 'VAUBAN-CHECK active:nginx.service=active\r\nVAUBAN-CHECK http:0=served by web01 (web)\r\nVAUBAN-CHECK end');
    expect(judgeBoot(serial, services).ok).toBe(true);
    const failed = judgeBoot(serial.replace('nginx.service=active', 'nginx.service=failed').replace('by web01', 'by web02'), services);
    expect(failed.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['unit nginx.service', 'page http://127.0.0.1/']);
    expect(judgeBoot(GOOD, services).ok).toBe(false);
  });

  it('judges B15: both downloads verified, the writable layer on its own tmpfs, the deleted paths absent', () => {
    const absent = { ...EXPECTED, absent: ['etc/issue.net', 'usr/share/doc/x y'] };
    const serial = GOOD.replace('VAUBAN-CHECK end', 'VAUBAN-CHECK absent:0=absent\r\nVAUBAN-CHECK absent:1=absent\r\nVAUBAN-CHECK end');
    expect(judgeBoot(serial, absent).ok).toBe(true);
    const failed = judgeBoot(
      serial.replace('absent:1=absent', 'absent:1=present').replace('vauban.rootfs.sha256=ok', '').replace('tmpfs 999.2M holds /', 'tmpfs 999.2M'),
      absent,
    );
    expect(failed.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([
      'integrity of rootfs.tgz and conffs',
      'writable layer (rootovl)',
      '/usr/share/doc/x y (deleted by the host\'s stages)',
    ]);
  });

  it('judges the release the boot line named and the files asked for (--pxe-dir, --expect-file)', () => {
    const pinned = { ...EXPECTED, release: '20260120T143205Z-ab12cd', files: [{ path: '/etc/vauban-marker', text: 'release two' }] };
    const serial = GOOD.replace(
      'VAUBAN-CHECK end',
      'VAUBAN-CHECK release=20260120T143205Z-ab12cd\r\nVAUBAN-CHECK file:0=release two of web01 \r\nVAUBAN-CHECK end',
    );
    expect(judgeBoot(serial, pinned).ok).toBe(true);
    const other = judgeBoot(serial.replace('release=20260120T143205Z-ab12cd', 'release=20260120T143000Z-ab12cd').replace('release two', 'release one'), pinned);
    expect(other.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['release booted', 'file /etc/vauban-marker']);
    expect(judgeBoot(serial.replace('file:0=release two of web01 ', 'file:0=(no such file)'), pinned).ok).toBe(false);
  });

  it('--tamper: passes only when the boot stopped on the changed file, with the message, before the host came up', () => {
    const refused = [
      '[   21.1] vauban-live: the conffs http://10.0.2.2:1/m/releases/r/conffs-web01.tgz: sha256 ' + 'a'.repeat(64) + ' as the boot line expects',
      '[   30.2] vauban-live: INTEGRITY CHECK FAILED: the rootfs (/tmp/curl.x/rootfs.tgz) has sha256 ' + 'b'.repeat(64) + ', the boot line expects ' + 'c'.repeat(64) + ': refusing to boot it',
      '[   30.3] dracut: FATAL: vauban-live: INTEGRITY CHECK FAILED: the rootfs ...',
    ].join('\r\n');
    expect(judgeRefusal(refused, 'rootfs').ok).toBe(true);
    expect(judgeRefusal(refused, 'conffs').ok).toBe(false);
    expect(judgeRefusal(`${refused}\r\nVAUBAN-CHECK hostname=web01`, 'rootfs').ok).toBe(false);
    expect(judgeRefusal('[ 99.0] Reached target multi-user.target', 'rootfs').ok).toBe(false);
  });
});
