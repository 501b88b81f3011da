// Why a stage was reused although its branch moved (issue 28): said by the
// run and by the dry run alike.
import type { DockerClient } from '../system/docker/client.js';

/**
 * Said of a reused stage whose branch has moved since it was built: the
 * commits between changed only what other hosts read (issue 28).
 */
export async function movedForOthersOnly(docker: DockerClient, imageId: string, sha: string): Promise<string> {
  const built = (await docker.getImage(imageId).inspect()).Config.Labels?.['vauban.git-sha1'];
  return built === undefined || built === sha ? '' : ` (branch moved ${built.slice(0, 10)}..${sha.slice(0, 10)}: the change concerns other hosts only)`;
}

