// What an operator needs of a failed host without opening its log (issue 31):
// the task Ansible failed on, the module's message, the log's last lines. Read
// from the host's log as ansible-playbook wrote it (the default callback, -v).

export interface HostFailure {
  /** The task (or handler) that failed, as Ansible names it. */
  task?: string;
  /** The module's message (`msg`), else its standard error, else Ansible's own error line. */
  message?: string;
  /** The last lines of the log, blank ones left out. */
  tail: string[];
}

const TASK = /^(?:TASK|RUNNING HANDLER) \[(.+)\] \**$/;
// fatal: [web01]: FAILED! => {...}, failed: [web01] (item=x) => {...}, fatal: [web01]: UNREACHABLE! => {...}
const FAILED = /^(?:fatal|failed): \[[^\]]+\](?: \(item=.*\))?(?::)? (?:FAILED!|UNREACHABLE!)? ?=> (.*)$/;

/** The failure of a host's play, read from its log's `text`; `tailLines` of its end. */
export function summarizeHostLog(text: string, tailLines = 8): HostFailure {
  const lines = text.split('\n');
  let task: string | undefined;
  let failedTask: string | undefined;
  let message: string | undefined;
  for (const line of lines) {
    const started = TASK.exec(line);
    if (started !== null) {
      task = started[1];
      continue;
    }
    const failed = FAILED.exec(line);
    if (failed !== null && !line.includes('...ignoring')) {
      failedTask = task;
      message = messageOf(failed[1] as string);
      continue;
    }
    // Ansible's own errors (a syntax error, a missing role): no task failed, the play did not run.
    if (message === undefined && line.startsWith('ERROR! ')) message = line.slice('ERROR! '.length);
  }
  const tail = lines.filter((line) => line.trim() !== '').slice(-tailLines);
  return { ...(failedTask === undefined ? {} : { task: failedTask }), ...(message === undefined ? {} : { message }), tail };
}

/** The message of a module's result (`=> {json}`), or the text itself when it is no JSON. */
function messageOf(result: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(result);
  } catch {
    return oneLine(result);
  }
  if (typeof parsed !== 'object' || parsed === null) return oneLine(String(parsed));
  const fields = parsed as Record<string, unknown>;
  for (const key of ['msg', 'stderr', 'module_stderr', 'stdout', 'module_stdout']) {
    const value = fields[key];
    if (typeof value === 'string' && value.trim() !== '') return oneLine(value);
  }
  return undefined;
}

/** At most 400 characters, line breaks shown as ` / `. */
function oneLine(text: string): string {
  const flat = text.trim().split('\n').map((line) => line.trim()).filter(Boolean).join(' / ');
  return flat.length > 400 ? `${flat.slice(0, 400)}...` : flat;
}
