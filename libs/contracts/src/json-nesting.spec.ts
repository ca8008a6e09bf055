import fc from 'fast-check';
import { jsonNestingDepth } from './json-nesting';

/** The nesting depth of a parsed value, counted the slow way. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe('jsonNestingDepth', () => {
  it('is the depth of what JSON.parse would build, whatever the strings hold', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) =>
        expect(jsonNestingDepth(JSON.stringify(value))).toBe(depthOf(value)),
      ),
    );
  });

  it('counts only real brackets', () => {
    expect(jsonNestingDepth('{"a":"\\"}')).toBe(1);
    expect(jsonNestingDepth(`"${'[{'.repeat(100)}"`)).toBe(0);
    expect(jsonNestingDepth('['.repeat(9000) + ']'.repeat(9000))).toBe(9000);
  });
});
