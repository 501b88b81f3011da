// What `vauban boot` adds to the guest for the test boot only (never to an
// artifact): a oneshot unit that, once the host is up, prints what it is on
// the serial console (host name, a file of its conffs, its sshd key's
// fingerprint) and powers the machine off.
import { symlinkInTree, writeFileInTree } from '../system/tree-path.js';

export const CHECK_MARKER = 'VAUBAN-CHECK';

const UNIT = `[Unit]
Description=vauban boot check (added by vauban boot for this test boot only)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vauban-boot-check
StandardOutput=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
`;

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** What the operator asked to check beyond identity: units active, pages served; and the paths the conffs deleted. */
export interface ServiceExpectations {
  /** Units that must be active once the host is up. */
  units: string[];
  /** URLs fetched from the guest itself; the expected text is judged on the host. */
  urls: string[];
  /** Files of the guest whose start is printed; the expected text is judged on the host. */
  files?: string[];
  /** Paths (relative to /) the host's stages deleted: they must be absent. */
  absent?: string[];
}

/** Prints `<marker> http:<index>=<page, one line>` per URL given, or the error. */
const HTTP_CHECK = `import sys, urllib.request
for index, url in enumerate(sys.argv[1:]):
    try:
        text = urllib.request.urlopen(url, timeout=20).read().decode(errors="replace").strip().replace(chr(10), " | ")
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
    print(f"http:{index}={text}", flush=True)
`;

function serviceChecks(expect: ServiceExpectations): string {
  const lines: string[] = [];
  for (const unit of expect.units) lines.push(`say "active:${unit}=$(systemctl is-active ${shellQuote(unit)})"`);
  (expect.absent ?? []).forEach((file, index) => {
    const quoted = shellQuote(`/${file}`);
    lines.push(`if [ -e ${quoted} ] || [ -L ${quoted} ]; then say "absent:${index}=present"; else say "absent:${index}=absent"; fi`);
  });
  (expect.files ?? []).forEach((file, index) => {
    const quoted = shellQuote(file);
    lines.push(`if [ -f ${quoted} ]; then say "file:${index}=$(head -c 200 ${quoted} | tr '\\n' ' ')"; else say "file:${index}=(no such file)"; fi`);
  });
  // One python for every page: its start costs about a second under TCG.
  // Through a pipe, each line said on its own: the serial getty's vhangup() of ttyS0, when it starts meanwhile,
  // silences a process that holds the console open (seen: both pages' lines lost while Python started).
  if (expect.urls.length > 0) lines.push(`python3 -c ${shellQuote(HTTP_CHECK)} ${expect.urls.map(shellQuote).join(' ')} 2>&1 | while IFS= read -r line; do say "$line"; done`);
  return lines.join('\n');
}

function checkScript(witness: string, expect: ServiceExpectations): string {
  return `#!/bin/sh
# vauban boot check: added by vauban boot for this test boot only.
say() { echo "${CHECK_MARKER} $*" > /dev/ttyS0; }
say "hostname=$(cat /proc/sys/kernel/hostname)"
say "multi-user=$(systemctl is-active multi-user.target)"
say "witness=$(sha256sum ${shellQuote(`/${witness}`)} 2>/dev/null | cut -d' ' -f1)"
say "sshd-ed25519=$(ssh-keygen -E sha256 -lf /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null | cut -d' ' -f2)"
say "root=$(findmnt -n -o FSTYPE /)"
say "release=$(sed -n 's#.*root=live:[^ ]*/releases/\\([^/ ]*\\)/rootfs\\.tgz.*#\\1#p' /proc/cmdline)"
say "integrity=$(tr '\\n' ' ' < /run/vauban/integrity 2>/dev/null)"
probe=/.vauban-boot-check-probe
: > "$probe"
say "rw-layer=$(findmnt -n -o FSTYPE,SIZE /run/vauban/rw 2>/dev/null | tr -s ' ')$([ -e /run/vauban/rw/upper$probe ] && echo ' holds /')"
rm -f "$probe"
${serviceChecks(expect)}
say "end"
systemctl --no-block poweroff
`;
}

/** Writes the check unit and script into `root` (an unpacked conffs). */
export function addGuestCheck(root: string, witness: string, expect: ServiceExpectations = { units: [], urls: [] }): void {
  // The conffs is unpacked content of a build: its links stay inside it.
  writeFileInTree(root, 'usr/local/sbin/vauban-boot-check', checkScript(witness, expect), { mode: 0o755 });
  writeFileInTree(root, 'etc/systemd/system/vauban-boot-check.service', UNIT, { mode: 0o644 });
  symlinkInTree(root, 'etc/systemd/system/multi-user.target.wants/vauban-boot-check.service', '../vauban-boot-check.service');
}

/** The check lines of a serial log, as key=value. */
export function readCheckLines(serial: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of serial.split(/\r?\n/)) {
    const at = line.indexOf(`${CHECK_MARKER} `);
    if (at === -1) continue;
    const rest = line.slice(at + CHECK_MARKER.length + 1).trim();
    const equal = rest.indexOf('=');
    if (equal === -1) values.set(rest, '');
    else values.set(rest.slice(0, equal), rest.slice(equal + 1));
  }
  return values;
}
