// Reads a disk image's partition table (sfdisk understands MBR and GPT).
import { VaubanError } from '../errors.js';
import { run, type RunOptions } from './run.js';

export interface Partition {
  number: number;
  /** Byte offset and size inside the image. */
  offset: number;
  size: number;
}

export async function readPartitionTable(image: string, runOptions: RunOptions = {}): Promise<Partition[]> {
  const { stdout } = await run('sfdisk', ['--json', image], runOptions);
  let table: { partitiontable?: { sectorsize?: number; partitions?: Array<{ node: string; start: number; size: number }> } };
  try {
    table = JSON.parse(stdout);
  } catch (error) {
    throw new VaubanError(`cannot read the partition table of ${image}`, { cause: error });
  }
  const sector = table.partitiontable?.sectorsize ?? 512;
  return (table.partitiontable?.partitions ?? []).map((partition) => ({
    number: Number(/(\d+)$/.exec(partition.node)?.[1] ?? NaN),
    offset: partition.start * sector,
    size: partition.size * sector,
  }));
}
