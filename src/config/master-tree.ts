// config.yml (A13): the tree of masters. Top-level keys are base files (ISO or
// raw image names), except the reserved `configuration`. In a master, `name`,
// `stages`, `conffs` and `branch` are properties and every other key whose
// value is a mapping is a child master, built FROM its parent.
import { z } from 'zod';
import { VaubanError } from '../errors.js';
import { parseStage } from '../model/stage.js';

export interface Master {
  /** The key it is declared under in config.yml. */
  key: string;
  /** Its image name: `name`, or the key when there is none. */
  name: string;
  stages: string[];
  conffs: string | undefined;
  branch: string | undefined;
  parent: Master | undefined;
  children: Master[];
  /** The base file of the tree it belongs to (its root's key). */
  baseFile: string;
}

export interface MasterTree {
  roots: Master[];
  /** Stages never replayed for conffs. */
  ignoreStageInConffs: string[];
  /** configuration.no_cache: every build of the tree with --no-cache (issue 12). */
  noCache: boolean;
  /** Every master, parents before children. */
  all: Master[];
}

const RESERVED_TOP_LEVEL = 'configuration';
const PROPERTIES = ['name', 'stages', 'conffs', 'branch'] as const;

const configurationSchema = z
  .object({ ignore_stage_in_conffs: z.array(z.string()).default([]), no_cache: z.boolean().default(false) })
  .strict();

const propertySchemas = {
  name: z.string().min(1),
  stages: z.array(z.string().min(1)),
  conffs: z.string().min(1),
  branch: z.string().min(1),
} as const;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses config.yml's text into the master tree; any mistake is one error naming the key and its master. */
export async function parseMasterTree(text: string, file = 'config.yml'): Promise<MasterTree> {
  const yaml = await import('js-yaml');
  let document: unknown;
  try {
    document = yaml.load(text, { filename: file });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new VaubanError(`${file} is not valid YAML: ${reason}`, { cause: error });
  }
  return buildMasterTree(document, file);
}

export function buildMasterTree(document: unknown, file = 'config.yml'): MasterTree {
  if (!isMapping(document)) throw new VaubanError(`${file}: expected a mapping of base files to masters at the top level`);
  let ignoreStageInConffs: string[] = [];
  let noCache = false;
  const roots: Master[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (key === RESERVED_TOP_LEVEL) {
      const parsed = configurationSchema.safeParse(value ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new VaubanError(`${file}: configuration: ${describeIssue(issue)}`);
      }
      ignoreStageInConffs = parsed.data.ignore_stage_in_conffs;
      noCache = parsed.data.no_cache;
      continue;
    }
    if (!isMapping(value)) throw new VaubanError(`${file}: base '${key}': expected a mapping (name, stages, child masters)`);
    roots.push(readMaster(key, value, undefined, key, file));
  }
  const all: Master[] = [];
  const visit = (master: Master): void => {
    all.push(master);
    master.children.forEach(visit);
  };
  roots.forEach(visit);

  const seen = new Map<string, Master>();
  for (const master of all) {
    const twin = seen.get(master.name);
    if (twin) {
      throw new VaubanError(`${file}: two masters are named '${master.name}' (keys '${twin.key}' and '${master.key}'): names must be unique`);
    }
    seen.set(master.name, master);
  }
  return { roots, ignoreStageInConffs, noCache, all };
}

function readMaster(key: string, value: Record<string, unknown>, parent: Master | undefined, baseFile: string, file: string): Master {
  const where = parent === undefined ? `base '${key}'` : `master '${key}'`;
  const property = <K extends (typeof PROPERTIES)[number]>(name: K): z.infer<(typeof propertySchemas)[K]> | undefined => {
    if (!(name in value)) return undefined;
    const parsed = propertySchemas[name].safeParse(value[name]);
    if (!parsed.success) throw new VaubanError(`${file}: ${where}: '${name}' ${describeIssue(parsed.error.issues[0])}`);
    return parsed.data as z.infer<(typeof propertySchemas)[K]>;
  };
  const stages = property('stages') ?? [];
  for (const stage of stages) {
    try {
      parseStage(stage);
    } catch (error) {
      throw new VaubanError(`${file}: ${where}: ${(error as Error).message}`);
    }
  }
  const master: Master = {
    key,
    name: property('name') ?? key,
    stages,
    conffs: property('conffs'),
    branch: property('branch'),
    parent,
    children: [],
    baseFile,
  };
  for (const [childKey, childValue] of Object.entries(value)) {
    if ((PROPERTIES as readonly string[]).includes(childKey)) continue;
    if (!isMapping(childValue)) {
      throw new VaubanError(
        `${file}: ${where}: unknown key '${childKey}' (a master has ${PROPERTIES.join(', ')}, and child masters as mappings)`,
      );
    }
    master.children.push(readMaster(childKey, childValue, master, baseFile, file));
  }
  return master;
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'is invalid';
  const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${at}${issue.message}`;
}

/** Finds a master by its key or its name. */
export function findMaster(tree: MasterTree, wanted: string): Master {
  const found = tree.all.find((master) => master.name === wanted) ?? tree.all.find((master) => master.key === wanted);
  if (!found) {
    const known = tree.all.map((master) => master.name).join(', ');
    throw new VaubanError(`unknown master '${wanted}' in config.yml (known: ${known})`);
  }
  return found;
}

/** The master and its ancestors, root first. */
export function chainOf(master: Master): Master[] {
  const chain: Master[] = [];
  for (let current: Master | undefined = master; current; current = current.parent) chain.unshift(current);
  return chain;
}
