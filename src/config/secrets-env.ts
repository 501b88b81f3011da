// Reads `.secrets.env`, the shell file vauban.sh sourced: `export KEY='value'`
// lines, also `KEY=value`, double quotes, comments and blank lines. We parse
// it rather than run a shell, so nothing in it is executed. `$VAR` and
// `${VAR}` expand in double-quoted and bare text, as they would in bash.
import { VaubanError } from '../errors.js';

export function parseSecretsEnv(
  text: string,
  file: string,
  environment: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const values: Record<string, string> = {};
  const lookup = (name: string): string => values[name] ?? environment[name] ?? '';
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    let line = lines[index] ?? '';
    // A quoted value may run over several lines, as in shell: each line is scanned once (an unclosed quote
    // in a file of thousands of lines costs one pass, not one a line).
    let open = openQuoteAfter(line, undefined);
    while (open !== undefined && index + 1 < lines.length) {
      index++;
      const next = lines[index] ?? '';
      line += `\n${next}`;
      open = openQuoteAfter(next, open);
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(trimmed);
    if (!match) {
      // The line is not shown: a malformed line may well hold a secret.
      const key = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)/.exec(trimmed)?.[1];
      throw new VaubanError(`${file}:${lineNumber}: expected KEY=value or export KEY='value'${key === undefined ? '' : ` (the line begins with ${key})`}; its text is not shown, it may hold a secret`);
    }
    const [, key, rawValue] = match as unknown as [string, string, string];
    values[key] = parseShellValue(rawValue, `${file}:${lineNumber}`, lookup);
  }
  return values;
}

/** The quote still open at the end of `text` when `quote` was open at its start (undefined: none). */
function openQuoteAfter(text: string, quote: string | undefined): string | undefined {
  let open = quote;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (open === undefined) {
      if (char === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) return undefined;
      if (char === '\\') i++;
      else if (char === "'" || char === '"') open = char;
    } else if (char === open) open = undefined;
    else if (open === '"' && char === '\\') i++;
  }
  return open;
}

function parseShellValue(raw: string, where: string, lookup: (name: string) => string): string {
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const char = raw[i] as string;
    if (/\s/.test(char)) {
      const rest = raw.slice(i).trim();
      if (rest === '' || rest.startsWith('#')) break;
      throw new VaubanError(`${where}: unquoted space in the value; put the value in quotes`);
    }
    if (char === "'") {
      const end = raw.indexOf("'", i + 1);
      if (end === -1) throw new VaubanError(`${where}: the single quote is never closed`);
      out += raw.slice(i + 1, end);
      i = end + 1;
    } else if (char === '"') {
      i++;
      let closed = false;
      while (i < raw.length) {
        const c = raw[i] as string;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && i + 1 < raw.length && '"\\$`\n'.includes(raw[i + 1] as string)) {
          if (raw[i + 1] !== '\n') out += raw[i + 1];
          i += 2;
        } else if (c === '$') {
          const expanded = expandVariable(raw, i, lookup);
          out += expanded.value;
          i = expanded.next;
        } else {
          out += c;
          i++;
        }
      }
      if (!closed) throw new VaubanError(`${where}: the double quote is never closed`);
    } else if (char === '\\') {
      out += raw[i + 1] ?? '';
      i += 2;
    } else if (char === '$') {
      const expanded = expandVariable(raw, i, lookup);
      out += expanded.value;
      i = expanded.next;
    } else {
      out += char;
      i++;
    }
  }
  return out;
}

/** `$NAME` or `${NAME}` at `at` in `text` (matched in place: no copy of the rest of the text). */
function expandVariable(text: string, at: number, lookup: (name: string) => string): { value: string; next: number } {
  for (const pattern of [/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/y, /\$([A-Za-z_][A-Za-z0-9_]*)/y]) {
    pattern.lastIndex = at;
    const found = pattern.exec(text);
    if (found) return { value: lookup(found[1] as string), next: at + found[0].length };
  }
  return { value: '$', next: at + 1 };
}
