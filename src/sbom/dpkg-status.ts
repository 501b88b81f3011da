// The Debian packages installed in a tree, read from its dpkg database
// (var/lib/dpkg/status) as text: nothing of the image is run to list them.
export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package and its version (the binary's own when the stanza names none). */
  source: { name: string; version: string };
}

/** The stanzas of dpkg's status file whose package is installed ("install ok installed"). */
export function installedPackages(status: string): DebianPackage[] {
  const packages: DebianPackage[] = [];
  for (const stanza of status.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      // Continuation lines (descriptions, conffiles) start with a space: not needed here.
      const match = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
      if (match) fields[(match[1] as string).toLowerCase()] = (match[2] as string).trim();
    }
    const { package: name, version, architecture, status: state } = fields;
    if (!name || !version || !architecture || !state?.endsWith(' installed')) continue;
    // "Source: glibc" or "Source: glibc (2.36-9+deb12u4)" when the versions differ.
    const source = /^(\S+)(?:\s+\((.+)\))?$/.exec(fields.source ?? '');
    packages.push({ name, version, architecture, source: { name: source?.[1] ?? name, version: source?.[2] ?? version } });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name) || a.architecture.localeCompare(b.architecture));
}
