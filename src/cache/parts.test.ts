import { describe, expect, it } from 'vitest';
import { describeChange } from './decide.js';
import { inputsDigest } from './inputs.js';
import { conffsPartsFrom, type ConffsPartsInput } from './parts.js';

describe("a conffs host's inputs: its own variables, or the whole inventory when the stages read other hosts (issue 12)", () => {
  const host = (inventory: string, readsOtherHosts: boolean, vars = 'web01-vars'): ConffsPartsInput => ({
    source: 'sha256:aaaa',
    host: 'web01',
    stages: [{ playbook: 'pb.yml', branch: 'master', commit: 'tree1' }],
    script: 'abc',
    vars,
    inventory,
    readsOtherHosts,
    keys: '',
    mac: '',
  });

  it("without hostvars/groups in the tree, another host's change (a new inventory digest) does not change the host's digest", () => {
    const before = conffsPartsFrom({}, host('inventory-1', false));
    const after = conffsPartsFrom({}, host('inventory-2', false));
    expect(inputsDigest(after)).toBe(inputsDigest(before));
    expect(before).not.toHaveProperty('inventory');
    // Its own variables still count.
    expect(inputsDigest(conffsPartsFrom({}, host('inventory-2', false, 'web01-vars-2')))).not.toBe(inputsDigest(before));
  });

  it('with them, any change of the inventory rebuilds the host, saying why', () => {
    const before = conffsPartsFrom({}, host('inventory-1', true));
    const after = conffsPartsFrom({}, host('inventory-2', true));
    expect(inputsDigest(after)).not.toBe(inputsDigest(before));
    expect(describeChange(before, after)).toBe('the inventory changed (the stages read other hosts: hostvars, groups...)');
    expect(describeChange(conffsPartsFrom({}, host('inventory-1', false)), before)).toBe('the stages now read other hosts (hostvars, groups...) or no longer do');
  });
});
