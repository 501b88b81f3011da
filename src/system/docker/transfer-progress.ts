// How far a push or a pull is, from the Engine API's progress events: each
// layer's bytes sent or received (`progressDetail`) of its size, and how many
// layers are done. Layers the registry or the engine already had count as done.
import { formatBytes } from '../format-bytes.js';
import type { ProgressEvent } from './progress.js';

const DONE = /^(Pushed|Layer already exists|Mounted from|Download complete|Pull complete|Already exists)/;
const MOVING = /^(Pushing|Downloading)$/;

interface Layer {
  current: number;
  total: number;
  done: boolean;
}

export class TransferProgress {
  private readonly layers = new Map<string, Layer>();

  /** Takes one event of the stream (events without a layer id, such as the final digest, are not layers). */
  add(event: ProgressEvent): void {
    const id = event.id;
    const status = event.status ?? '';
    if (id === undefined || !/^[0-9a-f]{12,}$/.test(id)) return;
    const layer = this.layers.get(id) ?? { current: 0, total: 0, done: false };
    this.layers.set(id, layer);
    const detail = event.progressDetail;
    if (MOVING.test(status) && detail?.total !== undefined && detail.total > 0) {
      layer.total = detail.total;
      layer.current = Math.min(detail.current ?? 0, detail.total);
    } else if (DONE.test(status)) {
      layer.done = true;
      layer.current = layer.total;
    }
  }

  /** `120.0 MiB of 310.4 MiB, 3/7 layers` (the sizes: of the layers seen moving so far). */
  text(): string {
    let current = 0;
    let total = 0;
    let done = 0;
    for (const layer of this.layers.values()) {
      current += layer.current;
      total += layer.total;
      if (layer.done) done += 1;
    }
    return `${formatBytes(current)} of ${formatBytes(total)}, ${done}/${this.layers.size} layers`;
  }
}
