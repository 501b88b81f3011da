import { describe, expect, it } from 'vitest';
import type { VaubanOptions } from '../model/options.js';
import { parseVaubanArgs } from './vauban-args.js';

function parse(...argv: string[]): { options?: VaubanOptions; warnings: string[]; code?: number; out: string; err: string } {
  let out = '';
  let err = '';
  const outcome = parseVaubanArgs(argv, { out: (text) => (out += text), err: (text) => (err += text) });
  if (outcome.kind === 'exit') return { code: outcome.code, warnings: [], out, err };
  return { options: outcome.options, warnings: outcome.warnings, out, err };
}

describe('vauban command line: defaults (A2)', () => {
  it('has the defaults of vauban.sh', () => {
    const { options } = parse('-f', 'base.raw', '-a', 'web*');
    expect(options).toMatchObject({
      rootfs: true,
      initramfs: true,
      conffs: true,
      upload: true,
      iso: 'base.raw',
      sourceImage: undefined,
      sshPrivKey: './ansible-ro',
      name: 'master-test',
      branch: 'master',
      ansibleHost: 'web*',
      stages: [],
      noCache: false,
    });
  });

  it('reads --no-cache (issue 12)', () => {
    expect(parse('-f', 'base.raw', '--no-cache', 'pb.yml').options?.noCache).toBe(true);
  });
});

describe('vauban command line: every argbash value form', () => {
  const forms: Array<[string, string[]]> = [
    ['-r no', ['-r', 'no']],
    ['-rno', ['-rno']],
    ['--rootfs no', ['--rootfs', 'no']],
    ['--rootfs=no', ['--rootfs=no']],
  ];
  for (const [label, argv] of forms) {
    it(`reads ${label}`, () => {
      const { options } = parse(...argv, '-i', 'no', '-l', 'no');
      expect(options?.rootfs).toBe(false);
    });
  }

  it('reads -nNAME, --name=NAME and --name NAME', () => {
    expect(parse('-nmaster-a', '-s', 'x/iso', '-ino').options?.name).toBe('master-a');
    expect(parse('--name=master-b', '-s', 'x/iso', '-ino').options?.name).toBe('master-b');
    expect(parse('--name', 'master-c', '-s', 'x/iso', '-ino').options?.name).toBe('master-c');
  });

  it('reads every option in short and long form', () => {
    const short = parse('-r', 'yes', '-i', 'yes', '-l', 'yes', '-u', 'no', '-f', 'b.raw', '-s', 's/iso', '-k', 'key', '-n', 'n1', '-b', 'br', '-a', 'web*');
    const long = parse(
      '--rootfs=yes', '--initramfs=yes', '--conffs=yes', '--upload=no', '--iso=b.raw', '--source-image=s/iso',
      '--ssh-priv-key=key', '--name=n1', '--branch=br', '--ansible-host=web*',
    );
    expect(short.options).toEqual(long.options);
    expect(short.options).toMatchObject({ upload: false, iso: 'b.raw', sourceImage: 's/iso', sshPrivKey: 'key', name: 'n1', branch: 'br' });
  });

  it('lets options and stages interleave', () => {
    const { options } = parse('pb_a.yml', '-n', 'm', 'feature@pb_b.yml', '-s', 'debian-11/iso', '-ino', 'pb_c.yml', '-l', 'no');
    expect(options?.stages).toEqual([
      { playbook: 'pb_a.yml', branch: undefined },
      { playbook: 'pb_b.yml', branch: 'feature' },
      { playbook: 'pb_c.yml', branch: undefined },
    ]);
    expect(options?.name).toBe('m');
  });

  it('refuses a yes/no option given anything else, naming the option', () => {
    const result = parse('-rmaybe', '-f', 'x.raw');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/-r, --rootfs <yes\|no>.*'maybe'.*expected yes or no/);
    const result2 = parse('--upload=1', '-f', 'x.raw');
    expect(result2.code).toBe(1);
    expect(result2.err).toMatch(/--upload/);
  });

  it('refuses an unknown option', () => {
    const result = parse('--rootfz', 'no');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/unknown option '--rootfz'/);
  });

  it('refuses a stage a@b@c', () => {
    const result = parse('-s', 'x/iso', '-ino', 'a@b@c');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/invalid stage 'a@b@c'/);
  });
});

describe('vauban command line: the four checks, in order', () => {
  it('1. rootfs without a base: error, help, exit 1', () => {
    const result = parse('-i', 'no', '-l', 'no');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/without giving me a base/);
    expect(result.err).toMatch(/Usage: vauban/);
  });

  it('1. comes before the others', () => {
    // Also breaks check 4 (initramfs without --iso): check 1 must be the one reported.
    const result = parse();
    expect(result.err).toMatch(/without giving me a base/);
    expect(result.err).not.toMatch(/initramfs requires/);
  });

  it('2. conffs without --ansible-host: a warning and conffs off', () => {
    const result = parse('-f', 'b.raw');
    expect(result.options?.conffs).toBe(false);
    expect(result.warnings).toEqual(["won't build the conffs: --ansible-host not provided"]);
  });

  it('3. conffs without rootfs nor source image: exit 1', () => {
    const result = parse('-r', 'no', '-f', 'b.raw', '-a', 'web*');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/can't build conffs .* -s/);
  });

  it('4. initramfs without --iso: exit 1', () => {
    const result = parse('-s', 'debian-11/iso');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/initramfs requires an iso/);
  });

  it('4. --debian-release is a base for the initramfs too (B1)', () => {
    expect(parse('-d', 'bookworm').options?.debianRelease).toBe('bookworm');
  });

  it('refuses --iso together with --debian-release', () => {
    expect(parse('-f', 'b.raw', '-d', 'bookworm').code).toBe(1);
  });
});

describe('vauban -h', () => {
  it('lists every option with its default, exit 0', () => {
    const result = parse('-h');
    expect(result.code).toBe(0);
    const help = result.out;
    for (const [flags, shown] of [
      ['-r, --rootfs <yes|no>', 'default: "yes"'],
      ['-i, --initramfs <yes|no>', 'default: "yes"'],
      ['-l, --conffs <yes|no>', 'default: "yes"'],
      ['-u, --upload <yes|no>', 'default: "yes"'],
      ['-f, --iso <path>', 'no default'],
      ['-s, --source-image <image>', 'no default'],
      ['-k, --ssh-priv-key <path>', 'default: "./ansible-ro"'],
      ['-n, --name <name>', 'default: "master-test"'],
      ['-b, --branch <branch>', 'default: "master"'],
      ['-a, --ansible-host <pattern>', 'no default'],
      ['-h, --help', ''],
    ] as const) {
      const at = help.indexOf(flags);
      expect(at, flags).toBeGreaterThanOrEqual(0);
      // The default is printed within the option's entry (before the next option).
      const entry = help.slice(at, help.indexOf('\n  -', at + 1) === -1 ? undefined : help.indexOf('\n  -', at + 1));
      expect(entry.replace(/\s+/g, ' '), flags).toContain(shown);
    }
  });
});

describe('values that widen or mislead a run are refused at parse time (issue 13, item 10)', () => {
  const refused = (argv: string[], message: RegExp) => {
    const result = parse(...argv);
    expect(result.code, argv.join(' ')).toBe(1);
    expect(result.err).toMatch(message);
    expect(result.err.split('\n').filter(Boolean)).toHaveLength(1);
  };

  it("refuses -a '' (every host to Ansible)", () => refused(['-f', 'b.raw', '-a', ''], /--ansible-host '' is empty: Ansible would read it as every host/));

  it('refuses a host pattern without a positive part: Ansible adds every host to it (issue 30)', () => {
    refused(['-f', 'b.raw', '-a', ','], /--ansible-host ',' names no host: Ansible would add every host/);
    refused(['-f', 'b.raw', '-a', '!web01'], /--ansible-host '!web01' has only exclusions or intersections \(!web01\)/);
    refused(['-f', 'b.raw', '-a', '&grp'], /has only exclusions or intersections/);
    refused(['-f', 'b.raw', '-a', '!web01:&db'], /has only exclusions or intersections \(!web01, &db\)/);
    for (const good of ['web,!web01', 'web01', 'web[01:03]', 'db:&web', 'web*']) expect(parse('-f', 'b.raw', '-a', good).options?.ansibleHost).toBe(good);
  });

  it('refuses a host pattern beginning with -', () => {
    refused(['-f', 'b.raw', '-a', '-web'], /--ansible-host '-web' begins with '-'/);
    refused(['-f', 'b.raw', '--ansible-host=--list-hosts'], /begins with '-'/);
  });

  it('refuses -n with a tag or a registry, before building anything', () => {
    refused(['-f', 'b.raw', '-n', 'master:v1'], /--name 'master:v1' must be a plain image name, without a tag/);
    refused(['-f', 'b.raw', '-n', 'registry:5000/x'], /--name 'registry:5000\/x' must be a plain image name/);
    refused(['-f', 'b.raw', '-n', 'Master'], /--name 'Master' is not a valid Docker image name/);
    refused(['-f', 'b.raw', '-n', 'registry.example.com/x'], /--name 'registry\.example\.com\/x' begins with a registry \(registry\.example\.com\/\)/);
    refused(['-f', 'b.raw', '-n', 'localhost/x'], /--name 'localhost\/x' begins with a registry/);
    expect(parse('-f', 'b.raw', '-n', 'debian-12/iso').options?.name).toBe('debian-12/iso');
    expect(parse('-f', 'b.raw', '-n', 'debian-12.8/iso').options?.name).toBe('debian-12.8/iso');
    expect(parse('-f', 'b.raw', '-n', 'master.web').options?.name).toBe('master.web');
  });

  it('refuses a source image that is not an image reference', () => {
    refused(['-s', '-oops', '-i', 'no'], /--source-image '-oops' is not a valid Docker image name/);
    expect(parse('-s', 'registry:5000/vauban/master-a:2026-01-01T1200', '-i', 'no').options?.sourceImage).toBe('registry:5000/vauban/master-a:2026-01-01T1200');
  });

  it('checks -b as git checks a branch name', () => {
    for (const bad of ['-b', 'a..b', 'a b', 'a:b', 'a~1', 'a^', 'a?', 'a*', 'a[', 'a\\b', '/a', 'a/', 'a//b', 'a.', '.a', 'a/.b', 'a.lock', 'a.lock/b', 'a@{1}', '@', 'HEAD', '']) {
      refused(['-f', 'b.raw', `--branch=${bad}`], /--branch '.*' is not a git branch name/);
    }
    for (const good of ['master', 'feature/x-1', 'release-2.0', 'a@b', 'fix_lock']) expect(parse('-f', 'b.raw', '-b', good).options?.branch).toBe(good);
  });

  it('refuses a --debian-release that is not a release name', () => refused(['-d', '--variant=buildd'], /--debian-release '--variant=buildd' is not a Debian release name/));
});

describe("vauban v2's command line (issue 15, item 6)", () => {
  it('accepts -p/--kernel and -e/--build-engine docker (and --kubernetes-no-cleanup) in every form argbash took', () => {
    for (const argv of [
      ['-p', 'no', '-e', 'docker'],
      ['-pno', '-edocker'],
      ['--kernel=no', '--build-engine=docker', '--kubernetes-no-cleanup', 'no'],
      ['--kernel', 'no', '--build-engine', 'docker', '--kubernetes-no-cleanup=yes'],
    ]) {
      const result = parse('-s', 'x/iso', '-i', 'no', ...argv, 'pb_base.yml');
      expect(result.code, argv.join(' ')).toBeUndefined();
      expect(result.options?.stages).toEqual([{ playbook: 'pb_base.yml', branch: undefined }]);
      expect(result.warnings).toEqual(["won't build the conffs: --ansible-host not provided"]);
    }
  });

  it('-p yes (v2 built its own kernel): said in a warning, the run goes on', () => {
    const result = parse('-s', 'x/iso', '-i', 'no', '-l', 'no', '-p', 'yes');
    expect(result.code).toBeUndefined();
    expect(result.warnings).toEqual(["--kernel yes (vauban v2): no custom kernel is built; the kernel is the base's newest linux-image-amd64, built with the initramfs (-i)"]);
  });

  it('-e kubernetes: not supported yet, one clear line; another engine: refused as a bad value', () => {
    const kubernetes = parse('-s', 'x/iso', '-i', 'no', '-e', 'kubernetes');
    expect(kubernetes.code).toBe(1);
    expect(kubernetes.err).toBe('error: --build-engine kubernetes is not supported yet: vauban builds with docker (the Docker Engine API, DOCKER_HOST for a remote engine); use -e docker or leave -e out\n');
    const podman = parse('-s', 'x/iso', '-i', 'no', '--build-engine=podman');
    expect(podman.code).toBe(1);
    expect(podman.err).toMatch(/-e, --build-engine <engine>.*'podman'.*expected docker or kubernetes/);
    expect(parse('-s', 'x/iso', '-p', 'maybe').err).toMatch(/-p, --kernel <yes\|no>.*expected yes or no/);
  });
});

describe('--shard I/N (issue 29)', () => {
  it('builds conffs only: the steps left at their default are off', () => {
    const { options, code, err } = parse('-s', 'master-web', '-n', 'master-web', '-a', 'web*', '--shard', '2/3', 'pb_web.yml');
    expect(code, err).toBeUndefined();
    expect(options).toMatchObject({ rootfs: false, initramfs: false, upload: false, conffs: true, shard: { index: 2, total: 3 } });
  });

  it('refuses a step asked for by name, a missing -a or -s, and a malformed share, each in one line', () => {
    const cases: Array<[string[], RegExp]> = [
      [['-r', 'yes'], /--shard builds conffs only: --rootfs yes is not for a shard \(the master is built once, by its own job\)/],
      [['-u', 'yes'], /--shard uploads into a staged release only: give --release <release>/],
      [['-i', 'yes'], /--initramfs yes is not for a shard/],
    ];
    for (const [extra, message] of cases) {
      const { code, err } = parse('-s', 'm', '-n', 'm', '-a', 'web*', '--shard', '1/2', ...extra);
      expect(code).toBe(1);
      expect(err).toMatch(message);
    }
    expect(parse('-s', 'm', '-n', 'm', '--shard', '1/2').err).toMatch(/--shard selects conffs hosts: give -a <pattern>/);
    expect(parse('-n', 'm', '-a', 'web*', '--shard', '1/2').err).toMatch(/--shard builds on the master: give it with -s/);
    const bad = parse('-s', 'm', '-a', 'web*', '--shard', '3/2');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--shard.*expected I\/N, the share I of N/);
  });

  it('--release: a shard uploads its share of a staged release (upload on by default), and so may any run', () => {
    const shard = parse('-s', 'm', '-n', 'm', '-a', 'web*', '--shard', '1/2', '--release', '20261207T150000Z-p42');
    expect(shard.code, shard.err).toBeUndefined();
    expect(shard.options).toMatchObject({ upload: true, rootfs: false, release: '20261207T150000Z-p42', shard: { index: 1, total: 2 } });
    const master = parse('-s', 'parent', '-n', 'm', '-i', 'no', '--release', 'r1');
    expect(master.options).toMatchObject({ upload: true, rootfs: true, release: 'r1' });
    expect(parse('-s', 'parent', '-n', 'm', '-u', 'no', '--release', 'r1').err).toMatch(/--release names the staged release an upload joins: not with -u no/);
    expect(parse('-s', 'parent', '-n', 'm', '--release', '.hidden').err).toMatch(/--release <release>.*expected a release name/);
  });
});
