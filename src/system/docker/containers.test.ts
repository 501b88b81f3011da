import { describe, expect, it } from 'vitest';
import { readLines } from './containers.js';

async function* chunks(...parts: Array<string | Buffer>): AsyncGenerator<Buffer> {
  for (const part of parts) yield Buffer.isBuffer(part) ? part : Buffer.from(part);
}

async function linesOf(parts: Array<string | Buffer>, maxLine?: number): Promise<string[]> {
  const lines: string[] = [];
  await readLines(chunks(...parts), (line) => lines.push(line), maxLine);
  return lines;
}

describe('readLines (the line protocols of execs: the play channels, stage output)', () => {
  it('splits on newlines across chunks, drops a CR before them, gives the last line without one', async () => {
    expect(await linesOf(['one\ntw', 'o\r\nthr', 'ee'])).toEqual(['one', 'two', 'three']);
    expect(await linesOf(['\n\n'])).toEqual(['', '']);
  });

  it('keeps a character whose bytes two chunks cut apart whole', async () => {
    const word = Buffer.from('déjà vu\n');
    expect(await linesOf([word.subarray(0, 2), word.subarray(2)])).toEqual(['déjà vu']);
  });

  it('refuses a line longer than its bound, naming its beginning', async () => {
    await expect(linesOf(['x'.repeat(40), 'y'.repeat(40)], 64)).rejects.toThrow(/a line of more than 0 MiB without an end: not a line protocol's \(it begins "xxxx/);
    expect(await linesOf(['x'.repeat(40), 'y'.repeat(20), '\n'], 64)).toEqual(['x'.repeat(40) + 'y'.repeat(20)]);
  });

  it('ends with the error its reader throws on a line', async () => {
    await expect(
      readLines(chunks('{"op":"hello"}\nnot json\n'), (line) => {
        if (!line.startsWith('{')) throw new Error(`refused: ${line}`);
      }),
    ).rejects.toThrow('refused: not json');
  });
});
