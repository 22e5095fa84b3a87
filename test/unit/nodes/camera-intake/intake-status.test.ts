import assert from 'node:assert/strict';
import { intakeStatus, refusalWarning, type IntakeSnapshot } from '../../../../nodes/camera-intake/intake-status';
import { bearerMatches } from '../../../../nodes/camera-intake/intake-server';

const base: IntakeSnapshot = { port: 50051, calls: 100, rejected: 0, unauthenticated: 0, waiting: 0, maxWaiting: 64, connections: 3, maxConnections: 64, refusedConnections: 0 };
const at = (over: Partial<IntakeSnapshot>): IntakeSnapshot => ({ ...base, ...over });

describe('camera-intake status', () => {
  const CASES: Array<[string, IntakeSnapshot | undefined, IntakeSnapshot, { fill: string; shape: string; text: string }]> = [
    ['idle and healthy', base, base, { fill: 'green', shape: 'dot', text: 'listening :50051 · 0/s · waiting 0/64 · rejected 0' }],
    ['calls flowing', base, at({ calls: 130, waiting: 2 }), { fill: 'blue', shape: 'dot', text: '30/s · waiting 2/64 · rejected 0' }],
    ['refusals counted', base, at({ calls: 100, rejected: 1200, unauthenticated: 1200 }), { fill: 'green', shape: 'dot', text: 'listening :50051 · 0/s · waiting 0/64 · rejected 1,200' }],
    ['connections refused since the last tick', at({ refusedConnections: 4 }), at({ connections: 60, refusedConnections: 9 }), { fill: 'yellow', shape: 'ring', text: 'connections 60/64, 9 refused · 0/s · waiting 0/64 · rejected 0' }],
    ['every place taken', base, at({ connections: 64, calls: 110 }), { fill: 'yellow', shape: 'ring', text: 'connections 64/64, 0 refused · 10/s · waiting 0/64 · rejected 0' }],
    ['refused before the first tick', undefined, at({ connections: 1, refusedConnections: 3 }), { fill: 'yellow', shape: 'ring', text: 'connections 1/64, 3 refused · 0/s · waiting 0/64 · rejected 0' }],
    ['old refusals, limit no longer reached: green again', at({ refusedConnections: 9 }), at({ refusedConnections: 9 }), { fill: 'green', shape: 'dot', text: 'listening :50051 · 0/s · waiting 0/64 · rejected 0' }],
  ];
  for (const [what, before, now, expected] of CASES) {
    it(what, () => assert.deepEqual(intakeStatus(before, now), expected));
  }

  it('warns about refused connections and unauthenticated calls since the last warning, and about nothing else', () => {
    assert.equal(refusalWarning(base, at({ rejected: 5, calls: 900 })), undefined);
    assert.equal(refusalWarning(base, at({ unauthenticated: 1500, rejected: 1500 })), '1,500 call(s) refused UNAUTHENTICATED: missing or wrong token');
    assert.equal(
      refusalWarning(at({ refusedConnections: 2, unauthenticated: 10 }), at({ refusedConnections: 5, unauthenticated: 11 })),
      '3 connection(s) refused at the limit of 64 open (Max connections); 1 call(s) refused UNAUTHENTICATED: missing or wrong token',
    );
    assert.equal(refusalWarning(undefined, at({ refusedConnections: 2 })), '2 connection(s) refused at the limit of 64 open (Max connections)', 'counts from start');
  });
});

describe('camera-intake bearer token check', () => {
  const CASES: Array<[string, unknown, boolean]> = [
    ['the token', 'Bearer s3cret', true],
    ['as a one-element list (gRPC metadata)', ['Bearer s3cret'], true],
    ['absent', undefined, false],
    ['empty list', [], false],
    ['wrong token', 'Bearer s3cre', false],
    ['without the scheme', 's3cret', false],
    ['other scheme', 'Basic s3cret', false],
    ['sent twice', ['Bearer s3cret', 'Bearer s3cret'], false],
    ['not a string', [Buffer.from('Bearer s3cret')], false],
  ];
  for (const [what, value, ok] of CASES) {
    it(`${ok ? 'accepts' : 'refuses'} ${what}`, () => assert.equal(bearerMatches('s3cret', value), ok));
  }
});
