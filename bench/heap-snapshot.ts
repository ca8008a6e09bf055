import { createReadStream } from 'node:fs';

/**
 * The live heap a V8 heap snapshot holds, in bytes: the sum of every node's `self_size`. The file
 * is read as a stream (a gateway with 18,000 sockets writes a few hundred MB, too much to
 * `JSON.parse` at once): the header names the node fields, then the `nodes` array is summed.
 */
export async function liveHeapBytes(file: string): Promise<number> {
  let fieldCount = 0;
  let selfSizeAt = -1;
  let header = '';
  let inNodes = false;
  let number = '';
  let index = 0;
  let total = 0;
  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    let text = chunk as string;
    if (!inNodes) {
      header += text;
      const start = header.indexOf('"nodes":[');
      if (start < 0) continue;
      const fields = JSON.parse(/"node_fields":(\[[^\]]*\])/.exec(header)![1]) as string[];
      fieldCount = fields.length;
      selfSizeAt = fields.indexOf('self_size');
      inNodes = true;
      text = header.slice(start + '"nodes":['.length);
      header = '';
    }
    for (let i = 0; i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (char >= 48 && char <= 57) number += text[i];
      else if (number !== '') {
        if (index % fieldCount === selfSizeAt) total += Number(number);
        index++;
        number = '';
      }
      if (char === 93) return total; // `]`: the end of the nodes array
    }
  }
  throw new Error(`${file}: no end of the nodes array`);
}
