import assert from 'node:assert/strict';
import { fillParameters, unfillParameters } from '../../../../contracts/fleet/parameters';

describe('fleet parameters', () => {
  const flow = [
    { id: 't1', type: 'tab', label: 'A', env: [{ name: 'LINE', value: 'default', type: 'str' }, { name: 'KEEP', value: 'k', type: 'str' }] },
    { id: 't2', type: 'tab', label: 'B' },
    { id: 'n1', z: 't1', type: 'inject', wires: [] },
  ];

  it('fills values into every tab as typed env entries, overriding template defaults of the same name', () => {
    const out = fillParameters(flow, { LINE: 'L7', SPEED: 2.5, ENABLED: true }) as Array<{ id: string; env?: unknown[] }>;
    assert.deepEqual(out[0].env, [
      { name: 'KEEP', value: 'k', type: 'str' },
      { name: 'ENABLED', value: 'true', type: 'bool' },
      { name: 'LINE', value: 'L7', type: 'str' },
      { name: 'SPEED', value: '2.5', type: 'num' },
    ]);
    assert.deepEqual(out[1].env, [
      { name: 'ENABLED', value: 'true', type: 'bool' },
      { name: 'LINE', value: 'L7', type: 'str' },
      { name: 'SPEED', value: '2.5', type: 'num' },
    ]);
    assert.deepEqual(out[2], flow[2]);
  });

  it('never changes the signed template it was given', () => {
    const copy = JSON.parse(JSON.stringify(flow));
    fillParameters(flow, { LINE: 'x' });
    assert.deepEqual(flow, copy);
  });

  it('a flow without tabs gets a global-config node', () => {
    const out = fillParameters([{ id: 'n', type: 'inject' }], { A: 1 });
    assert.deepEqual(out[1], { id: 'linesight-parameters', type: 'global-config', env: [{ name: 'A', value: '1', type: 'num' }], modules: {} });
  });

  it('refuses bad names and values, naming the parameter', () => {
    assert.throws(() => fillParameters(flow, { '1abc': 'x' }), /parameter 1abc: name must be/);
    assert.throws(() => fillParameters(flow, { X: Number.NaN }), /parameter X: number must be finite/);
    assert.throws(() => fillParameters(flow, { X: null as unknown as string }), /parameter X: must be a string, number or boolean, got null/);
  });

  it('unfill takes a device\'s values back out (template defaults come back from the base), so a saved edit fills anew on the next device', () => {
    const filled = fillParameters([...flow, { id: 'n2', z: 't2', type: 'debug', wires: [] }], { LINE: 'L7', SPEED: 2.5 });
    const saved = unfillParameters(filled, ['LINE', 'SPEED'], flow);
    assert.deepEqual(saved, [
      { id: 't1', type: 'tab', label: 'A', env: [{ name: 'KEEP', value: 'k', type: 'str' }, { name: 'LINE', value: 'default', type: 'str' }] },
      { id: 't2', type: 'tab', label: 'B' },
      { id: 'n1', z: 't1', type: 'inject', wires: [] },
      { id: 'n2', z: 't2', type: 'debug', wires: [] },
    ]);
    assert.deepEqual(fillParameters(saved, { LINE: 'L9', SPEED: 1 }), fillParameters([...flow, { id: 'n2', z: 't2', type: 'debug', wires: [] }], { LINE: 'L9', SPEED: 1 }).map((n) => n));
  });

  it('unfill drops the global-config node that carried values for a flow without tabs', () => {
    const filled = fillParameters([{ id: 'n1', type: 'inject', wires: [] }], { LINE: 'L7' });
    assert.deepEqual(unfillParameters(filled, ['LINE']), [{ id: 'n1', type: 'inject', wires: [] }]);
  });
});
