// The boot entries vauban writes for the PXE servers (B6, B15): per host, an
// iPXE script with the article's boot line for its master and conffs, pinned
// to one release and to the sha256 of its rootfs and conffs; per MAC address,
// a script that chains to its host's entry.
//
// The scripts name no server: the same files go to every PXE server. They read
// the base URL from the iPXE setting `vauban-url` (set it before chaining
// them), else take http://<next-server> (the DHCP server's boot server).
import { entryMember, releaseDir } from './layout.js';

/** What the kernel needs to boot a host (A15), with the integrity pins of B15. */
export interface BootLineInput {
  /** Base URL of the release's files, e.g. http://srv/master-12-web/releases/<release>. */
  base: string;
  host: string;
  rootfsSha256?: string;
  conffsSha256?: string;
  /** How the initramfs brings the network up: the article's `ip=dhcp` unless told (the entries hand on iPXE's lease). */
  network?: string;
}

/**
 * The article's boot line: rootfs and conffs from the server, DHCP, the
 * writable layer on a tmpfs of its own (rootovl), the serial console; plus the
 * sha256 our dracut module checks each download against.
 */
export function bootLine(input: BootLineInput): string {
  return [
    `root=live:${input.base}/rootfs.tgz`,
    `live.updates=${input.base}/conffs-${input.host}.tgz`,
    ...(input.rootfsSha256 === undefined ? [] : [`vauban.rootfs.sha256=${input.rootfsSha256}`]),
    ...(input.conffsSha256 === undefined ? [] : [`vauban.conffs.sha256=${input.conffsSha256}`]),
    'rd.neednet=1',
    input.network ?? 'ip=dhcp',
    'rootovl',
    'console=tty0',
    'console=ttyS0,115200',
    'net.ifnames=0',
  ].join(' ');
}

/** The iPXE settings the entries put the network on the boot line with. */
const NET_SETTING = 'vauban-net';
const DNS_SETTING = 'vauban-dns';

/**
 * iPXE lines that hand the address iPXE booted with to the initramfs, so that
 * dracut configures it as is instead of asking DHCP again (a DHCP round in the
 * initramfs took 2.5 s of a boot under TCG: dhclient's start and exchange).
 * The interface is the one iPXE booted from, named by its MAC address
 * (`BOOTIF=01-<mac>`, as pxelinux passes it; dracut brings up that one only),
 * the static form of dracut's `ip=` (`<ip>::<gateway>:<netmask>:::none`), and
 * `nameserver=` when iPXE has a DNS server. iPXE without an IPv4 address
 * (IPv6 only) falls back to the article's `ip=dhcp`.
 */
function ipxeNetworkLines(): string[] {
  return [
    `isset \${netX/ip} && set ${NET_SETTING} BOOTIF=01-\${netX/mac:hexhyp} ip=\${netX/ip}::\${netX/gateway}:\${netX/netmask}:::none || set ${NET_SETTING} ip=dhcp`,
    `isset \${netX/dns} && set ${DNS_SETTING} nameserver=\${netX/dns} || clear ${DNS_SETTING}`,
  ];
}

export interface HostEntryInput {
  master: string;
  release: string;
  host: string;
  rootfsSha256: string;
  conffsSha256: string;
}

/** The iPXE setting the entries take their base URL from. */
export const URL_SETTING = 'vauban-url';

/** `<host>.ipxe` of a release: boots that host on that release, whatever `current` becomes meanwhile. */
export function hostEntry(input: HostEntryInput): string {
  const base = `\${${URL_SETTING}}/${releaseDir(input.master, input.release)}`;
  return [
    '#!ipxe',
    `# vauban: ${input.host} on ${input.master}, release ${input.release} (generated: changes are lost at the next upload)`,
    `isset \${${URL_SETTING}} || set ${URL_SETTING} http://\${next-server}`,
    `echo vauban: booting ${input.host} on ${input.master} (release ${input.release})`,
    ...ipxeNetworkLines(),
    `kernel ${base}/vmlinuz initrd=initramfs.img ${bootLine({ base, host: input.host, rootfsSha256: input.rootfsSha256, conffsSha256: input.conffsSha256, network: `\${${NET_SETTING}} \${${DNS_SETTING}}` })}`,
    `initrd ${base}/initramfs.img`,
    'boot',
    '',
  ].join('\n');
}

/** `boot/by-mac/<mac>.ipxe`: the host the inventory gives this MAC address (relative chain: same server, same folder). */
export function macEntry(host: string, mac: string): string {
  return ['#!ipxe', `# vauban: ${mac} is ${host} (vauban_mac in the inventory)`, `chain ../${entryMember(host)}`, ''].join('\n');
}

/** What an operator's menu or DHCP-served script runs to boot by MAC address from `url` (the folder UPLOAD_DIR is served at). */
export function chainByMac(url: string): string {
  return ['#!ipxe', `set ${URL_SETTING} ${url}`, `chain \${${URL_SETTING}}/boot/by-mac/\${net0/mac:hexhyp}.ipxe`, ''].join('\n');
}

/** The same, by host name. */
export function chainByName(url: string, host: string): string {
  return ['#!ipxe', `set ${URL_SETTING} ${url}`, `chain \${${URL_SETTING}}/boot/${entryMember(host)}`, ''].join('\n');
}
