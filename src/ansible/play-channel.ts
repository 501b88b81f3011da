// The play channel between a conffs host's agent (play/agent.py, in the
// host's container) and the shared controller (play/controller.py): one JSON
// message a line, what each side says, and how a line is read.
import { VaubanError } from '../errors.js';

/** A request of a host's play for its agent, or the agent's answer: JSON, byte strings in base64. */
export type PlayMessage = Record<string, unknown> & { op?: string; req?: number };

/** The agent's first words: the play's environment, arguments and folder, as ansible-playbook would have them. */
export interface PlayHello {
  env: Record<string, string>;
  args: string[];
  cwd: string;
}

/** The environment the agent read in the host's container (names and values in base64), decoded. */
export function helloEnv(hello: PlayHello): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(hello.env)) env[Buffer.from(key, 'base64').toString('utf8')] = Buffer.from(value, 'base64').toString('utf8');
  return env;
}

/**
 * The Ansible settings of a play's environment (ANSIBLE_*, in name order),
 * with what the controller's process needs: Ansible reads them once, when the
 * controller loads it, so hosts whose environments differ there (a
 * HOOK_PRE_ANSIBLE exporting one) do not share a controller.
 */
export function controllerEnv(env: Record<string, string>): Record<string, string> {
  const settings = Object.entries(env)
    .filter(([name]) => name.startsWith('ANSIBLE_'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { ...Object.fromEntries(settings), PYTHONUNBUFFERED: '1' };
}

/** At most `max` characters of `text`, control characters escaped: what a message may quote of untrusted output. */
export function printable(text: string, max = 120): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return JSON.stringify(cut);
}

/**
 * A line of a play channel as a message. Anything else (a plugin printing on
 * the channel, a task writing to the agent's descriptor) is refused, named
 * with `whose` and the line's beginning.
 */
export function parseChannelLine(line: string, whose: string): PlayMessage {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    throw new VaubanError(`a line on the play channel of ${whose} that is not vauban's (something printed on it): ${printable(line)}`);
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new VaubanError(`a line on the play channel of ${whose} that is not a message: ${printable(line)}`);
  return message as PlayMessage;
}

/** What a host's stage asks of the controller that plays for it (play-controller.ts). */
export interface PlayRelay {
  /** Runs the host's play; requests for its agent go to `toAgent`; resolves with the play's exit status. */
  play(host: string, hello: PlayHello, toAgent: (message: PlayMessage) => void, onLine: (line: string) => void): Promise<number>;
  /** An answer of the host's agent, for its play. */
  reply(host: string, message: PlayMessage): void;
  /** Ends the host's play (its agent is gone). */
  abort(host: string): void;
}
