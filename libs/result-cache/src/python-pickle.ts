/**
 * A writer of Python's pickle format (protocol 2), for the few kinds of value a Celery result
 * holds: dict, list, tuple, str, int (any size), float, bool, None, and an exception instance.
 * It never reads pickles: a pickle is a program Python runs when it loads it, so this service
 * only ever produces them for the Django app to load.
 */

// The kinds a JS value cannot say by itself are classes, so that no plain object (a dict) is ever
// mistaken for one, whatever its keys.

/** An exception as BaseException.__reduce__ has it: its class, called with `args` when loaded. */
export class PythonException {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: PythonValue[],
  ) {
    for (const part of [module, name])
      if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(part)) throw new TypeError(`Not a Python name: ${JSON.stringify(part)}`);
  }
}

/**
 * A float holding an integral value (`1.0`): a JS number that is a safe integer is written as an
 * int, any other number as a float, a bigint as an int.
 */
export class PythonFloat {
  constructor(readonly value: number) {}
}

export class PythonTuple {
  constructor(readonly items: PythonValue[]) {}
}

/** A dict whose keys are not all strings; a plain object is a dict with string keys. */
export class PythonDict {
  constructor(readonly entries: Array<[PythonValue, PythonValue]>) {}
}

export type PythonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PythonValue[]
  | PythonFloat
  | PythonTuple
  | PythonDict
  | PythonException
  | { [key: string]: PythonValue };

// Opcodes (Python's Lib/pickle.py).
const PROTO = 0x80;
const STOP = 0x2e; // .
const NONE = 0x4e; // N
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const BININT = 0x4a; // J: signed 4-byte little-endian
const BININT1 = 0x4b; // K
const BININT2 = 0x4d; // M
const LONG1 = 0x8a;
const LONG4 = 0x8b;
const BINFLOAT = 0x47; // G: 8-byte big-endian double
const BINUNICODE = 0x58; // X: 4-byte length, then UTF-8
const EMPTY_LIST = 0x5d; // ]
const APPENDS = 0x65; // e
const EMPTY_DICT = 0x7d; // }
const SETITEMS = 0x75; // u
const EMPTY_TUPLE = 0x29; // )
const TUPLE = 0x74; // t
const TUPLE_N = [EMPTY_TUPLE, 0x85, 0x86, 0x87];
const MARK = 0x28; // (
const GLOBAL = 0x63; // c: "module\nname\n"
const REDUCE = 0x52; // R

/** `value` as `pickle.dumps(value, 2)` would write it, give or take memo opcodes. */
export function pickleDumps(value: PythonValue): Buffer {
  const out = new PickleBuffer();
  out.byte(PROTO, 2);
  write(out, value);
  out.byte(STOP);
  return out.toBuffer();
}

function write(out: PickleBuffer, value: PythonValue): void {
  if (value === null) return out.byte(NONE);
  if (typeof value === 'boolean') return out.byte(value ? NEWTRUE : NEWFALSE);
  if (typeof value === 'bigint') return writeInt(out, value);
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return writeInt(out, BigInt(value));
    return writeFloat(out, value);
  }
  if (typeof value === 'string') return writeString(out, value);
  if (Array.isArray(value)) return writeMarked(out, EMPTY_LIST, APPENDS, value);
  if (value instanceof PythonFloat) return writeFloat(out, value.value);
  if (value instanceof PythonTuple) return writeTuple(out, value.items);
  if (value instanceof PythonDict) return writeMarked(out, EMPTY_DICT, SETITEMS, value.entries.flat());
  if (value instanceof PythonException) return writeException(out, value);
  writeMarked(out, EMPTY_DICT, SETITEMS, Object.entries(value).flat());
}

/** An empty container, then its items between MARK and one APPENDS/SETITEMS (none when empty). */
function writeMarked(out: PickleBuffer, empty: number, fill: number, items: PythonValue[]): void {
  out.byte(empty);
  if (items.length === 0) return;
  out.byte(MARK);
  for (const item of items) write(out, item);
  out.byte(fill);
}

function writeTuple(out: PickleBuffer, items: PythonValue[]): void {
  if (items.length < TUPLE_N.length) {
    for (const item of items) write(out, item);
    return out.byte(TUPLE_N[items.length]);
  }
  out.byte(MARK);
  for (const item of items) write(out, item);
  out.byte(TUPLE);
}

function writeException(out: PickleBuffer, exception: PythonException): void {
  out.byte(GLOBAL);
  out.bytes(Buffer.from(`${exception.module}\n${exception.name}\n`, 'ascii'));
  writeTuple(out, exception.args);
  out.byte(REDUCE);
}

function writeInt(out: PickleBuffer, value: bigint): void {
  if (value >= 0n && value <= 0xffn) return out.byte(BININT1, Number(value));
  if (value >= 0n && value <= 0xffffn) {
    out.byte(BININT2);
    return out.bytes(uint(Number(value), 2));
  }
  if (value >= -(2n ** 31n) && value < 2n ** 31n) {
    out.byte(BININT);
    const bytes = Buffer.alloc(4);
    bytes.writeInt32LE(Number(value));
    return out.bytes(bytes);
  }
  const bytes = twosComplementLittleEndian(value);
  if (bytes.length < 256) out.byte(LONG1, bytes.length);
  else {
    out.byte(LONG4);
    out.bytes(uint(bytes.length, 4));
  }
  out.bytes(bytes);
}

/** The shortest little-endian two's complement of `value`, as pickle's encode_long makes it. */
function twosComplementLittleEndian(value: bigint): Buffer {
  const bytes: number[] = [];
  let rest = value;
  for (;;) {
    const low = Number(rest & 0xffn);
    bytes.push(low);
    rest >>= 8n; // arithmetic shift: -1 stays -1
    const signBit = (low & 0x80) !== 0;
    if ((rest === 0n && !signBit) || (rest === -1n && signBit)) return Buffer.from(bytes);
  }
}

function writeFloat(out: PickleBuffer, value: number): void {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  out.byte(BINFLOAT);
  out.bytes(bytes);
}

function writeString(out: PickleBuffer, value: string): void {
  const encoded = utf8SurrogatePass(value);
  out.byte(BINUNICODE);
  out.bytes(uint(encoded.length, 4));
  out.bytes(encoded);
}

/**
 * UTF-8 as pickle writes a str ('surrogatepass'): a lone surrogate, which a JS string may hold
 * (a header read verbatim), is encoded as its own three bytes instead of being replaced.
 */
function utf8SurrogatePass(value: string): Buffer {
  if (value.isWellFormed()) return Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < value.length; index++) {
    const unit = value.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = value.charCodeAt(index + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      index++; // a proper pair: plain UTF-8 below
      continue;
    }
    parts.push(Buffer.from(value.slice(start, index), 'utf8'));
    parts.push(Buffer.from([0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]));
    start = index + 1;
  }
  parts.push(Buffer.from(value.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

function uint(value: number, size: 2 | 4): Buffer {
  const bytes = Buffer.alloc(size);
  if (size === 2) bytes.writeUInt16LE(value);
  else bytes.writeUInt32LE(value);
  return bytes;
}

/** Bytes appended in chunks, joined once. */
class PickleBuffer {
  private readonly chunks: Buffer[] = [];

  byte(...values: number[]): void {
    this.chunks.push(Buffer.from(values));
  }

  bytes(value: Buffer): void {
    this.chunks.push(value);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
