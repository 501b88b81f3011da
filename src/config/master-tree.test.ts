import { describe, expect, it } from 'vitest';
import { chainOf, findMaster, parseMasterTree } from './master-tree.js';

const EXAMPLE = `
configuration:
  ignore_stage_in_conffs:
    - pb_slow.yml
"debian-11-generic-amd64.raw":
  name: debian-11/iso
  master-11-base:
    stages:
      - pb_base.yml
    master-11-postgresql:
      stages:
        - pb_postgresql.yml
      conffs: "postgresql*"
    master-11-docker:
      name: master-11-dock
      stages: [pb_docker.yml]
      branch: feature
      master-11-harbor:
        stages: [bugfix/x@pb_harbor.yml]
`;

describe('config.yml master tree (A13)', () => {
  it('reads bases, masters, properties and children', async () => {
    const tree = await parseMasterTree(EXAMPLE);
    expect(tree.roots.map((root) => root.name)).toEqual(['debian-11/iso']);
    expect(tree.ignoreStageInConffs).toEqual(['pb_slow.yml']);
    expect(tree.all.map((master) => master.name)).toEqual([
      'debian-11/iso',
      'master-11-base',
      'master-11-postgresql',
      'master-11-dock',
      'master-11-harbor',
    ]);
    const postgresql = findMaster(tree, 'master-11-postgresql');
    expect(postgresql).toMatchObject({ conffs: 'postgresql*', stages: ['pb_postgresql.yml'], baseFile: 'debian-11-generic-amd64.raw' });
    expect(postgresql.parent?.name).toBe('master-11-base');
  });

  it('finds a master by key or by name', async () => {
    const tree = await parseMasterTree(EXAMPLE);
    expect(findMaster(tree, 'master-11-docker').name).toBe('master-11-dock');
    expect(findMaster(tree, 'master-11-dock').key).toBe('master-11-docker');
    expect(findMaster(tree, 'debian-11-generic-amd64.raw').name).toBe('debian-11/iso');
    expect(chainOf(findMaster(tree, 'master-11-harbor')).map((master) => master.key)).toEqual([
      'debian-11-generic-amd64.raw',
      'master-11-base',
      'master-11-docker',
      'master-11-harbor',
    ]);
  });

  it('names an unknown master', async () => {
    const tree = await parseMasterTree(EXAMPLE);
    expect(() => findMaster(tree, 'master-nope')).toThrow(/unknown master 'master-nope'/);
  });

  it('refuses an unknown key such as staged:, naming the key and its master', async () => {
    const text = `"d.raw":\n  name: d/iso\n  master-11-docker:\n    staged:\n      - pb_docker.yml\n`;
    await expect(parseMasterTree(text)).rejects.toThrow(/master 'master-11-docker': unknown key 'staged'/);
  });

  it('refuses duplicate master names', async () => {
    const text = `"d.raw":\n  name: d/iso\n  master-a:\n    stages: [a.yml]\n  master-b:\n    name: master-a\n`;
    await expect(parseMasterTree(text)).rejects.toThrow(/two masters are named 'master-a'/);
  });

  it('refuses malformed YAML with the reason', async () => {
    await expect(parseMasterTree('"d.raw":\n  name: [unclosed\n')).rejects.toThrow(/config\.yml is not valid YAML/);
  });

  it('refuses badly typed properties and stages', async () => {
    await expect(parseMasterTree('"d.raw":\n  m:\n    stages: pb.yml\n')).rejects.toThrow(/master 'm': 'stages'/);
    await expect(parseMasterTree('"d.raw":\n  m:\n    stages: [a@b@c]\n')).rejects.toThrow(/master 'm': invalid stage 'a@b@c'/);
    await expect(parseMasterTree('configuration:\n  ignore_stages: []\n')).rejects.toThrow(/configuration/);
    await expect(parseMasterTree('- a\n- b\n')).rejects.toThrow(/expected a mapping/);
  });
});
