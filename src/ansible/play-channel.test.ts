import { describe, expect, it } from 'vitest';
import { parseChannelLine, printable } from './play-channel.js';

describe('the play channels: what a line may be', () => {
  it('takes a JSON object as a message', () => {
    expect(parseChannelLine('{"op":"exec","req":3}', 'web01')).toEqual({ op: 'exec', req: 3 });
  });

  it('refuses anything else, naming whose channel and quoting the line escaped and cut', () => {
    expect(() => parseChannelLine('hello from a filter plugin', "web01's agent")).toThrow(
      `a line on the play channel of web01's agent that is not vauban's (something printed on it): "hello from a filter plugin"`,
    );
    expect(() => parseChannelLine('[1,2]', 'web01')).toThrow(/that is not a message: "\[1,2\]"/);
    expect(() => parseChannelLine('null', 'web01')).toThrow(/that is not a message/);
    expect(() => parseChannelLine(`\u001b[31m${'x'.repeat(500)}`, 'web01')).toThrow(/"\\u001b\[31mx{115}\.\.\."$/);
  });

  it('printable escapes control characters and cuts long text', () => {
    expect(printable('a\tb\u0007')).toBe('"a\\tb\\u0007"');
    expect(printable('abcdef', 3)).toBe('"abc..."');
  });
});
