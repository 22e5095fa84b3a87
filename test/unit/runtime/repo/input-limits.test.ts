// The checks every repository body and parameter passes before its schema: storable text, bounded nesting.
import assert from 'node:assert/strict';
import { jsonProblems, MAX_JSON_DEPTH, paramProblems, textProblem } from '../../../../runtime/repo/input-limits';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

describe('repo input limits', () => {
  const cases: [string, string, RegExp | undefined][] = [
    ['plain text', 'line 7 – Straße 😀', undefined],
    ['NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'x\ud800', /surrogate/],
    ['a lone low surrogate', '\udc00x', /surrogate/],
    ['two high surrogates then a low one', '\ud800\ud800\udc00', /surrogate/],
    ['a surrogate pair', '\ud83d\ude00', undefined],
  ];
  for (const [name, text, expected] of cases) {
    it(`text: ${name}`, () => {
      const reason = textProblem(text);
      if (expected) assert.match(reason ?? '', expected);
      else assert.equal(reason, undefined);
    });
  }

  it('names the field of a bad string and of a bad property name', () => {
    assert.deepEqual(jsonProblems({ labels: { line: 'a\u0000' }, reasons: ['ok', '\ud800'] }), [
      { field: 'labels.line', reason: 'must not contain NUL characters (U+0000)' },
      { field: 'reasons[1]', reason: 'must not contain a lone UTF-16 surrogate (e.g. \\ud800); send well-formed Unicode' },
    ]);
    assert.deepEqual(jsonProblems({ labels: { 'a\u0000': 'x' } }), [{ field: 'labels', reason: 'has a property name that must not contain NUL characters (U+0000)' }]);
  });

  it(`accepts nesting ${MAX_JSON_DEPTH} deep, refuses one more, names the top-level field`, () => {
    assert.deepEqual(jsonProblems({ flow: nested(MAX_JSON_DEPTH - 1) }), []);
    assert.deepEqual(jsonProblems({ flow: nested(MAX_JSON_DEPTH) }), [{ field: 'flow', reason: `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` }]);
  });

  it('walks a value nested 100,000 deep without recursion', () => {
    assert.equal(jsonProblems({ flow: nested(100_000) }).length, 1);
  });

  it('reports at most 20 problems', () => {
    assert.equal(jsonProblems(Array(1000).fill('\u0000')).length, 20);
  });

  it('path and query parameters: storable and at most 512 characters', () => {
    assert.deepEqual(paramProblems({ id: 'line-7', subject: ['a', 'b\u0000'] }, 'query'), [{ field: 'subject', reason: '(query parameter) must not contain NUL characters (U+0000)' }]);
    assert.match(paramProblems({ id: 'x'.repeat(513) }, 'path')[0]!.reason, /longer than 512/);
  });
});
