// Inventory host names become image names, file names and vault entries: a
// name that could leave those folders (/, .., spaces) or that Docker refuses
// stops the run before anything is built.
import { VaubanError } from '../errors.js';
import { isImageName } from '../image-name.js';

export function assertHostName(host: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(host) || host.includes('..')) {
    throw new VaubanError(`inventory host '${host}' cannot be built: a host name may hold only letters, digits, '.', '_' and '-'`);
  }
  if (!isImageName(`prefix/${host}`)) {
    throw new VaubanError(`inventory host '${host}' cannot be part of a Docker image name (use lowercase host names)`);
  }
}
