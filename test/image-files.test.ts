// build_rootfs's read through the Engine API (issue 29: an engine whose files
// are not on this machine), given images no `docker build` makes: layers
// crafted by hand and loaded with `docker load`. A lower layer's link out of
// the image, written through by a higher layer, must write nothing on the
// build host; whiteouts must hide what Docker hides; the tree must be the one
// Docker itself shows (`docker export` of a container of the image).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupStack } from '../src/system/cleanup.js';
import { createDockerClient, type DockerClient } from '../src/system/docker/client.js';
import { mountImageFiles } from '../src/system/docker/image-files.js';
import { mountsUnder } from '../src/system/mount.js';
import { readHostState, type HostState } from './helpers/host-state.js';
import { bash, sh, uniqueName } from './helpers/sh.js';

let top: string;
let outside: string;
let docker: DockerClient;
let before: HostState;
const images: string[] = [];

/** Loads an image whose layers are the given folders of `top` (bottom first), each packed by `pack` (a bash snippet run in the folder). */
async function loadImage(tag: string, layers: readonly string[]): Promise<void> {
  await bash(
    `top=$1 tag=$2; shift 2
save=$(mktemp -d "$top/save.XXXXXX")
diff_ids= layers= n=0
for layer in "$@"; do
  mkdir "$save/l$n"
  # Each layer folder has a 'pack' script that writes its tar (names in the order an attacker wants them).
  (cd "$top/$layer" && bash ./.pack "$save/l$n/layer.tar")
  sum=$(sha256sum "$save/l$n/layer.tar" | cut -d' ' -f1)
  diff_ids="$diff_ids\${diff_ids:+,}\\"sha256:$sum\\"" layers="$layers\${layers:+,}\\"l$n/layer.tar\\""
  n=$((n + 1))
done
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$diff_ids" > "$save/config.json"
config=$(sha256sum "$save/config.json" | cut -d' ' -f1)
mv "$save/config.json" "$save/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$config" "$tag:latest" "$layers" > "$save/manifest.json"
tar --create --directory="$save" --exclude=./save.tar . | docker load >/dev/null
rm -rf "$save"`,
    { args: [top, tag, ...layers] },
  );
  images.push(tag);
}

beforeAll(async () => {
  before = await readHostState();
  docker = await createDockerClient();
  top = mkdtempSync('/var/tmp/vauban-test-image-files-');
  outside = path.join(top, 'outside');
  // The build host's files a crafted image aims at.
  await bash(
    `top=$1 outside=$2
mkdir -p "$outside" && echo precious > "$outside/precious"
# Layer 0: ordinary files (one with its own owner and a setuid mode), and links out of the image.
mkdir -p "$top/base/etc" "$top/base/opt/app/sub" "$top/base/var/data" && cd "$top/base"
echo keep > etc/keep; echo gone > etc/gone; chown 1234:5678 etc/keep; chmod 4755 etc/keep
echo 1 > opt/app/old1; echo deep > opt/app/sub/deep; echo x > var/data/x
ln -s "$outside" escape
ln -s "../../../../../../../../../../..$outside" climb; ln -s "$outside" stays
printf '%s\\n' 'tar --create --numeric-owner --file="$1" etc opt var escape climb stays' > .pack
# Layer 1: writes through those links, whiteouts (one through a link), an opaque folder.
mkdir -p "$top/attack/escape" "$top/attack/climb" "$top/attack/etc" "$top/attack/opt/app" "$top/attack/var" && cd "$top/attack"
echo pwned > escape/pwned; echo pwned > climb/pwned; : > escape/.wh.precious
: > etc/.wh.gone; echo added > etc/added
: > opt/app/.wh..wh..opq; echo new > opt/app/new; : > var/.wh.data
# Only the files, not their folders: tar meets escape/ and climb/ as the lower layer left them (links).
printf '%s\\n' 'tar --create --numeric-owner --no-recursion --file="$1" escape/pwned climb/pwned escape/.wh.precious etc/.wh.gone etc/added opt/app/.wh..wh..opq opt/app/new var/.wh.data' > .pack`,
    { args: [top, outside] },
  );
});

afterAll(async () => {
  for (const image of images) await sh('docker', ['rmi', '--force', image]).catch(() => undefined);
  rmSync(top, { recursive: true, force: true });
  expect(await readHostState()).toEqual(before);
});

/** Paths, kinds, owners, modes and link targets of a tree, as find prints them, sorted. */
async function describeTree(tree: string): Promise<string[]> {
  const listing = await sh('find', [tree, '-mindepth', '1', '-printf', '%P %y %U:%G %m %l\\n']);
  return listing.split('\n').filter(Boolean).sort();
}

describe('an image read through the Engine API (docker save), layer by layer, as Docker shows it (issue 29)', () => {
  it("a lower layer's link out of the image, written through by a higher layer, writes nothing on the build host; whiteouts hide; the tree is Docker's own", async () => {
    const image = uniqueName('vauban-test-crafted');
    await loadImage(image, ['base', 'attack']);
    const work = path.join(top, 'work');
    const tree = path.join(work, 'tree');
    const cleanup = new CleanupStack();
    const release = await mountImageFiles(docker, image, { target: tree, scratch: path.join(work, 'save'), upper: path.join(work, 'upper'), work: path.join(work, 'overlay-work') }, cleanup);
    try {
      // Nothing written or removed outside the image.
      expect(readdirSync(outside)).toEqual(['precious']);
      // Whiteouts: a file, a folder, and an opaque folder that keeps only the layer's own.
      expect(existsSync(path.join(tree, 'etc', 'gone'))).toBe(false);
      expect(existsSync(path.join(tree, 'var', 'data'))).toBe(false);
      expect(readdirSync(path.join(tree, 'opt', 'app'))).toEqual(['new']);
      expect(readdirSync(path.join(tree, 'escape'))).toEqual(['pwned']);
      // Docker's own view of the same image: a container's files, exported, unpacked into an empty folder.
      const container = uniqueName('vauban-test-crafted');
      await sh('docker', ['create', '--name', container, image, '/none']);
      const exported = path.join(top, 'exported');
      try {
        await bash('mkdir -p "$2" && docker export "$1" | tar --extract --numeric-owner --same-owner --same-permissions --directory="$2"', { args: [container, exported] });
      } finally {
        await sh('docker', ['rm', container]);
      }
      // What docker export adds of a container's own (its /dev, /proc, /sys, /etc/hostname...) is not the image's.
      const ownOfContainer = /^(\.dockerenv|dev|proc|sys|etc\/(hostname|hosts|mtab|resolv\.conf))( |\/)/;
      const docker = (await describeTree(exported)).filter((line) => !ownOfContainer.test(line));
      rmSync(exported, { recursive: true, force: true });
      const ours = await describeTree(tree);
      expect(ours).toEqual(docker);
      expect(ours).toContain('etc/keep f 1234:5678 4755 ');
      // A link the higher layer leaves alone is the image's, as it was made; one it wrote through is now its folder, as in Docker.
      expect(ours).toContain(`stays l 0:0 777 ${outside}`);
      expect(ours).toContain('climb d 0:0 755 ');
    } finally {
      await release();
    }
    expect(await mountsUnder(work)).toEqual([]);
    expect(existsSync(path.join(work, 'save'))).toBe(false);
    expect(readdirSync(outside)).toEqual(['precious']);
    expect(cleanup.size).toBe(0);
  });

});
