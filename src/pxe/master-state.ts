// What a PXE server holds for one master: its releases and their members, the
// live one, and the files of the flat layout of vauban.sh (before releases),
// read in one round trip.
import { classifyMasterPath, dropInLink, isKernelLinkTarget, isMemberName, releaseOfCurrent } from './layout.js';
import { sh, type PxeServer } from './pxe-server.js';

export interface Member {
  name: string;
  /** find's %y: f file, l symlink, d folder... */
  type: string;
  /** A symlink's target. */
  target: string;
}

export interface MasterState {
  /** The release `<name>/current` points to, when it points to one. */
  current: string | undefined;
  /** Complete releases (partial ones are dot folders), with their members. */
  releases: Map<string, Member[]>;
  /** What is at `<name>/` itself: the drop-in links, or the files of the flat layout. */
  top: Member[];
}

/** Parses `find -printf '%y\0%P\0%l\0'` below `<name>/`. */
export function parseMasterListing(output: string): MasterState {
  const fields = output.split('\0');
  const releases = new Map<string, Member[]>();
  const top: Member[] = [];
  let currentTarget: string | undefined;
  for (let index = 0; index + 2 < fields.length; index += 3) {
    const [type, relative, target] = [fields[index] as string, fields[index + 1] as string, fields[index + 2] as string];
    const place = classifyMasterPath(relative);
    if (place.kind === 'current' && type === 'l') currentTarget = target;
    else if ((place.kind === 'top' || place.kind === 'current') && isMemberName(relative) && (type !== 'l' || isKernelLinkTarget(target, '../') || target === dropInLink('', relative).target)) {
      top.push({ name: relative, type, target });
    } else if (place.kind === 'release') {
      if (place.member === undefined && type === 'd') releases.set(place.release, []);
      // What vauban makes only: a name read back is reused in commands, a link's target in new links.
      else if (place.member !== undefined && isMemberName(place.member) && (type !== 'l' || isKernelLinkTarget(target, '../../../'))) {
        releases.get(place.release)?.push({ name: place.member, type, target });
      }
    }
  }
  const current = currentTarget === undefined ? undefined : releaseOfCurrent(currentTarget);
  return { current: current !== undefined && releases.has(current) ? current : undefined, releases, top };
}

export async function readMasterState(server: PxeServer, name: string): Promise<MasterState> {
  const folder = `${server.dir}/${name}`;
  const result = await server.script([`if [ -d ${sh(folder)} ]; then ${sh('find', folder, '-mindepth', '1', '-maxdepth', '3', '-printf', '%y\\0%P\\0%l\\0')}; fi`]);
  return parseMasterListing(result.stdout);
}

/** The sorted names of a state's complete releases. */
export function releaseNames(state: MasterState): string[] {
  return [...state.releases.keys()].sort();
}
