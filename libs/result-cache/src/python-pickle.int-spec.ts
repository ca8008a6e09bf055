import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PythonDict, PythonException, PythonFloat, PythonTuple, pickleDumps } from './python-pickle';
import type { PythonValue } from './python-pickle';

const run = promisify(execFile);

/** Debian's python3 (the one with Celery installed), as the Celery interop tests use it. */
const PYTHON = process.env.CELERY_PEER_PYTHON ?? '/usr/bin/python3';

/**
 * Loads each base64 pickle with the real `pickle.loads` and says, per case, the repr of what it
 * loaded and whether it equals (same repr, same type) the Python expression given for it.
 */
const LOADER = `
import base64, builtins, json, pickle, sys
import celery.exceptions, kombu.exceptions
out = []
for case in json.load(sys.stdin):
    loaded = pickle.loads(base64.b64decode(case["pickle"]))
    expected = eval(case["expected"], {"celery": celery, "kombu": kombu, "builtins": builtins})
    same = repr(loaded) == repr(expected) and type(loaded) is type(expected)
    if isinstance(expected, BaseException):
        same = same and loaded.args == expected.args
    out.append({"repr": repr(loaded), "same": same})
print(json.dumps(out))
`;

async function loadInPython(cases: Array<[PythonValue, string]>): Promise<Array<{ repr: string; same: boolean }>> {
  const input = JSON.stringify(
    cases.map(([value, expected]) => ({ pickle: pickleDumps(value).toString('base64'), expected })),
  );
  const child = run(PYTHON, ['-c', LOADER], { timeout: 30_000 });
  child.child.stdin!.end(input);
  return JSON.parse((await child).stdout) as Array<{ repr: string; same: boolean }>;
}

describe('pickleDumps, loaded by the real pickle.loads', () => {
  const cases: Array<[PythonValue, string]> = [
    [null, 'None'],
    [true, 'True'],
    [false, 'False'],
    [0, '0'],
    [-1, '-1'],
    [255, '255'],
    [65536, '65536'],
    [2 ** 31, '2**31'],
    [-(2 ** 31) - 1, '-2**31 - 1'],
    [Number.MAX_SAFE_INTEGER, '2**53 - 1'],
    [2n ** 100n, '2**100'],
    [-(2n ** 100n), '-2**100'],
    [-(2n ** 2048n) + 1n, '-2**2048 + 1'],
    [2n ** 2100n, '2**2100'],
    [1.5, '1.5'],
    [new PythonFloat(1), '1.0'],
    [-0.1, '-0.1'],
    // Past 2**53 a JS number is a double and is written as one; a bigint is written as an int.
    [2 ** 60, 'float(2**60)'],
    [1e300, '1e300'],
    [Infinity, "float('inf')"],
    ['', "''"],
    ['héllo ✓ 😀', "'héllo ✓ 😀'"],
    ['a\uD800b', "'a\\ud800b'"],
    ['x'.repeat(70_000), "'x' * 70000"],
    [[], '[]'],
    [[1, 'a', null, [true]], "[1, 'a', None, [True]]"],
    [{}, '{}'],
    [{ a: 1, b: [null], c: { d: 'e' } }, "{'a': 1, 'b': [None], 'c': {'d': 'e'}}"],
    [
      new PythonDict([
        [1, 'one'],
        [new PythonTuple([1, 2]), null],
      ]),
      "{1: 'one', (1, 2): None}",
    ],
    [new PythonTuple([]), '()'],
    [new PythonTuple(['a']), "('a',)"],
    [new PythonTuple([1, 2, 3, 4, 5]), '(1, 2, 3, 4, 5)'],
    [Array.from({ length: 1500 }, (_, index) => index), 'list(range(1500))'],
    [
      new PythonException('builtins', 'TypeError', ['takes 2 positional arguments']),
      "TypeError('takes 2 positional arguments')",
    ],
    [
      new PythonException('celery.exceptions', 'NotRegistered', ['billing.tasks.charge_card']),
      "celery.exceptions.NotRegistered('billing.tasks.charge_card')",
    ],
    [
      new PythonException('celery.exceptions', 'TaskRevokedError', ['expired']),
      "celery.exceptions.TaskRevokedError('expired')",
    ],
    [
      new PythonException('kombu.exceptions', 'ContentDisallowed', ['Refusing to deserialize']),
      "kombu.exceptions.ContentDisallowed('Refusing to deserialize')",
    ],
    [new PythonException('builtins', 'ValueError', ['a', 1]), "ValueError('a', 1)"],
    [
      {
        status: 'FAILURE',
        result: new PythonException('builtins', 'TypeError', ['boom']),
        traceback: 'builtins.TypeError: boom',
        children: [],
        date_done: '2026-12-02T16:45:01.123000',
        task_id: 'abc',
      },
      "{'status': 'FAILURE', 'result': TypeError('boom'), 'traceback': 'builtins.TypeError: boom', 'children': [], 'date_done': '2026-12-02T16:45:01.123000', 'task_id': 'abc'}",
    ],
  ];

  it('loads every case as the value Python writes for it', async () => {
    const loaded = await loadInPython(cases);
    const mismatches = loaded
      .map((result, index) => ({ ...result, expected: cases[index][1] }))
      .filter((result) => !result.same);
    expect(mismatches).toEqual([]);
    expect(loaded).toHaveLength(cases.length);
  });

  it('is told apart from a wrong value (the check can fail)', async () => {
    const [intForFloat, listForTuple] = await loadInPython([
      [1, '1.0'],
      [[1, 2], '(1, 2)'],
    ]);
    expect(intForFloat.same).toBe(false);
    expect(listForTuple.same).toBe(false);
  });
});
