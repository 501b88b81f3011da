// What vauban keeps in the project folder between runs (issue 31: `vauban
// list`, `vauban clean`): each master's own artifacts (.vauban/kept/<master>),
// the trees and inventories it spares work with, the Ansible mirror. Each
// with its size and when it was last written.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { KEPT_BASELINES, KEPT_DIR, KEPT_INVENTORIES, KEPT_MIRROR } from '../model/local-layout.js';

export interface KeptHolding {
  kind: 'artifacts' | 'baseline' | 'inventory' | 'mirror';
  /** Relative to the project folder. */
  path: string;
  /** The master whose artifacts these are (kind artifacts). */
  master?: string;
  sizeBytes: number;
  /** The newest modification inside. */
  modified: Date;
}

export function readKeptHoldings(cwd: string): KeptHolding[] {
  const held: KeptHolding[] = [];
  for (const name of listFolder(path.join(cwd, KEPT_DIR))) {
    held.push({ kind: 'artifacts', path: `${KEPT_DIR}/${name}`, master: decodeURIComponent(name), ...measure(path.join(cwd, KEPT_DIR, name)) });
  }
  for (const [kind, folder] of [['baseline', KEPT_BASELINES], ['inventory', KEPT_INVENTORIES]] as const) {
    for (const name of listFolder(path.join(cwd, folder))) held.push({ kind, path: `${folder}/${name}`, ...measure(path.join(cwd, folder, name)) });
  }
  if (existsSync(path.join(cwd, KEPT_MIRROR))) held.push({ kind: 'mirror', path: KEPT_MIRROR, ...measure(path.join(cwd, KEPT_MIRROR)) });
  return held;
}

function listFolder(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

/** Bytes and newest modification of a file or folder, links not followed. */
function measure(target: string): { sizeBytes: number; modified: Date } {
  const stat = lstatSync(target);
  let sizeBytes = stat.isDirectory() ? 0 : stat.size;
  let newest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const name of readdirSync(target)) {
      const inside = measure(path.join(target, name));
      sizeBytes += inside.sizeBytes;
      newest = Math.max(newest, inside.modified.getTime());
    }
  }
  return { sizeBytes, modified: new Date(newest) };
}
