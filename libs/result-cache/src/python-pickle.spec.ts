import { PythonDict, PythonException, PythonFloat, PythonTuple, pickleDumps } from './python-pickle';
import type { PythonValue } from './python-pickle';

/** The pickle of `value` as hex, without the PROTO 2 header and the STOP that every one has. */
const body = (value: PythonValue) => {
  const hex = pickleDumps(value).toString('hex');
  expect(hex.startsWith('8002') && hex.endsWith('2e')).toBe(true);
  return hex.slice(4, -2);
};

// The expected bytes of scalars are Python's own `pickle.dumps(value, 2)`; containers differ from
// Python's only by the memo opcodes Python adds (python-pickle.int-spec.ts loads them all in Python).
describe('pickleDumps', () => {
  it.each<[string, PythonValue, string]>([
    ['None', null, '4e'],
    ['True', true, '88'],
    ['False', false, '89'],
    ['0', 0, '4b00'],
    ['255', 255, '4bff'],
    ['256', 256, '4d0001'],
    ['65535', 65535, '4dffff'],
    ['65536', 65536, '4a00000100'],
    ['-1', -1, '4affffffff'],
    ['2**31 - 1', 2 ** 31 - 1, '4affffff7f'],
    ['-2**31', -(2 ** 31), '4a00000080'],
    ['2**31', 2 ** 31, '8a050000008000'],
    ['-2**31 - 1', -(2 ** 31) - 1, '8a05ffffff7fff'],
    ['2**64', 2n ** 64n, '8a09000000000000000001'],
    ['-2**64', -(2n ** 64n), '8a090000000000000000ff'],
    ['1.5', 1.5, '473ff8000000000000'],
    ['1.0 (a float)', new PythonFloat(1), '473ff0000000000000'],
    ["'héllo'", 'héllo', '580600000068c3a96c6c6f'],
  ])('writes %s as Python does', (_, value, hex) => {
    expect(body(value)).toBe(hex);
  });

  it('writes a lone surrogate as its own three bytes (surrogatepass), not U+FFFD', () => {
    expect(body('a\uD800')).toBe('5804000000' + '61eda080');
    expect(body('\uD83D\uDE00')).toBe('5804000000' + 'f09f9880');
  });

  it('writes containers as their empty form, then MARK, the items and one APPENDS or SETITEMS', () => {
    expect(body([])).toBe('5d');
    expect(body([1, 'a'])).toBe('5d' + '28' + '4b01' + '580100000061' + '65');
    expect(body({})).toBe('7d');
    expect(body({ a: 1 })).toBe('7d' + '28' + '580100000061' + '4b01' + '75');
    expect(body(new PythonDict([[1, null]]))).toBe('7d' + '28' + '4b01' + '4e' + '75');
  });

  it('writes tuples of up to three items with TUPLE1-3, longer ones between MARK and TUPLE', () => {
    expect(body(new PythonTuple([]))).toBe('29');
    expect(body(new PythonTuple([1]))).toBe('4b0185');
    expect(body(new PythonTuple([1, 2, 3]))).toBe('4b014b024b0387');
    expect(body(new PythonTuple([1, 2, 3, 4]))).toBe('284b014b024b034b0474');
  });

  it('writes an object that looks like a wrapper as a plain dict', () => {
    expect(body({ value: 1 })).toBe(body(new PythonDict([['value', 1]])));
  });

  it('writes an exception as GLOBAL module\\nname, its args tuple, and REDUCE', () => {
    const hex = body(new PythonException('celery.exceptions', 'NotRegistered', ['x']));
    expect(hex).toBe(
      '63' + Buffer.from('celery.exceptions\nNotRegistered\n').toString('hex') + '580100000078' + '85' + '52',
    );
  });

  it('refuses an exception class name that is not a Python name', () => {
    expect(() => new PythonException('builtins', 'Type\nError', [])).toThrow('Not a Python name');
    expect(() => new PythonException('', 'TypeError', [])).toThrow('Not a Python name');
  });
});
