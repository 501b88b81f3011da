import { describe, expect, it } from 'vitest';
import { TransferProgress } from './transfer-progress.js';

const MiB = 1024 * 1024;

describe('how far a push or a pull is, from the Engine API events (issue 31)', () => {
  it('a push: bytes of the layers moving, the layers the registry had counted as done; no layer for the final digest', () => {
    const progress = new TransferProgress();
    progress.add({ status: 'The push refers to repository [localhost:5000/vauban/m]' });
    progress.add({ status: 'Preparing', id: 'aaaaaaaaaaaa' });
    progress.add({ status: 'Preparing', id: 'bbbbbbbbbbbb' });
    progress.add({ status: 'Layer already exists', id: 'bbbbbbbbbbbb' });
    progress.add({ status: 'Pushing', id: 'aaaaaaaaaaaa', progressDetail: { current: 10 * MiB, total: 40 * MiB } });
    expect(progress.text()).toBe('10.0 MiB of 40.0 MiB, 1/2 layers');
    progress.add({ status: 'Pushing', id: 'aaaaaaaaaaaa', progressDetail: { current: 50 * MiB, total: 40 * MiB } });
    expect(progress.text()).toBe('40.0 MiB of 40.0 MiB, 1/2 layers');
    progress.add({ status: 'Pushed', id: 'aaaaaaaaaaaa' });
    progress.add({ status: 'latest: digest: sha256:0123 size: 1234' });
    expect(progress.text()).toBe('40.0 MiB of 40.0 MiB, 2/2 layers');
  });

  it('a pull: downloads count; extraction is not a byte sent; Pull complete and Already exists are done', () => {
    const progress = new TransferProgress();
    progress.add({ status: 'Pulling from vauban/m', id: 'latest' });
    progress.add({ status: 'Already exists', id: 'cccccccccccc' });
    progress.add({ status: 'Pulling fs layer', id: 'dddddddddddd' });
    progress.add({ status: 'Downloading', id: 'dddddddddddd', progressDetail: { current: 5 * MiB, total: 20 * MiB } });
    progress.add({ status: 'Extracting', id: 'dddddddddddd', progressDetail: { current: 1 * MiB, total: 20 * MiB } });
    expect(progress.text()).toBe('5.0 MiB of 20.0 MiB, 1/2 layers');
    progress.add({ status: 'Download complete', id: 'dddddddddddd' });
    progress.add({ status: 'Pull complete', id: 'dddddddddddd' });
    expect(progress.text()).toBe('20.0 MiB of 20.0 MiB, 2/2 layers');
  });
});
