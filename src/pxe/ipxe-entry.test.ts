import { describe, expect, it } from 'vitest';
import { bootLine, chainByMac, hostEntry, macEntry } from './ipxe-entry.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

describe('iPXE entries (B6, B15)', () => {
  it('the article\'s boot line, with the integrity pins', () => {
    expect(bootLine({ base: 'http://10.0.2.2:8080/master-12-web', host: 'web01' })).toBe(
      'root=live:http://10.0.2.2:8080/master-12-web/rootfs.tgz live.updates=http://10.0.2.2:8080/master-12-web/conffs-web01.tgz rd.neednet=1 ip=dhcp rootovl console=tty0 console=ttyS0,115200 net.ifnames=0',
    );
    expect(bootLine({ base: 'http://s/m', host: 'web01', rootfsSha256: SHA_A, conffsSha256: SHA_B })).toContain(`vauban.rootfs.sha256=${SHA_A} vauban.conffs.sha256=${SHA_B} rd.neednet=1 ip=dhcp rootovl`);
    expect(bootLine({ base: 'http://s/m', host: 'web01', network: 'ip=10.0.0.5::10.0.0.1:255.255.255.0:::none' })).toContain('rd.neednet=1 ip=10.0.0.5::10.0.0.1:255.255.255.0:::none rootovl');
  });

  it('a host entry boots its release, names no server, and pins both downloads', () => {
    const entry = hostEntry({ master: 'master-12-web', release: '20260120T143205Z-ab', host: 'web01', rootfsSha256: SHA_A, conffsSha256: SHA_B });
    const lines = entry.split('\n');
    expect(lines[0]).toBe('#!ipxe');
    expect(entry).toContain('isset ${vauban-url} || set vauban-url http://${next-server}');
    const base = '${vauban-url}/master-12-web/releases/20260120T143205Z-ab';
    expect(lines.find((line) => line.startsWith('kernel '))).toBe(
      `kernel ${base}/vmlinuz initrd=initramfs.img root=live:${base}/rootfs.tgz live.updates=${base}/conffs-web01.tgz vauban.rootfs.sha256=${SHA_A} vauban.conffs.sha256=${SHA_B} rd.neednet=1 \${vauban-net} \${vauban-dns} rootovl console=tty0 console=ttyS0,115200 net.ifnames=0`,
    );
    // iPXE's lease on the boot line, set before the kernel line that reads it: no second DHCP in the initramfs.
    const kernelAt = lines.findIndex((line) => line.startsWith('kernel '));
    const netAt = lines.indexOf('isset ${netX/ip} && set vauban-net BOOTIF=01-${netX/mac:hexhyp} ip=${netX/ip}::${netX/gateway}:${netX/netmask}:::none || set vauban-net ip=dhcp');
    const dnsAt = lines.indexOf('isset ${netX/dns} && set vauban-dns nameserver=${netX/dns} || clear vauban-dns');
    expect(netAt).toBeGreaterThan(0);
    expect(dnsAt).toBeGreaterThan(0);
    expect(Math.max(netAt, dnsAt)).toBeLessThan(kernelAt);
    expect(lines.find((line) => line.startsWith('initrd '))).toBe(`initrd ${base}/initramfs.img`);
    expect(lines.filter((line) => line !== '').at(-1)).toBe('boot');
  });

  it('a MAC entry chains to its host\'s entry, relative to itself', () => {
    expect(macEntry('web01', '52-54-00-12-34-56')).toBe('#!ipxe\n# vauban: 52-54-00-12-34-56 is web01 (vauban_mac in the inventory)\nchain ../web01.ipxe\n');
    expect(chainByMac('http://10.0.2.2:8080')).toBe('#!ipxe\nset vauban-url http://10.0.2.2:8080\nchain ${vauban-url}/boot/by-mac/${net0/mac:hexhyp}.ipxe\n');
  });
});
