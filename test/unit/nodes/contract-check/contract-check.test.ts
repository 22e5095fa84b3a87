import assert from 'node:assert/strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const contractCheck = require('../../../../nodes/contract-check/contract-check');
import { sampleInspection } from '../../../fixtures/contracts';

helper.init(require.resolve('node-red'));

describe('contract-check node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const flow = (contract: string) => [
    { id: 'c', type: 'contract-check', name: 'check', contract, wires: [['ok'], ['bad']] },
    { id: 'ok', type: 'helper' },
    { id: 'bad', type: 'helper' },
  ];

  it('routes a valid inspection to output 1 with msg.contract', async () => {
    await helper.load(contractCheck, flow('auto'));
    const got = new Promise<any>((r) => helper.getNode('ok').on('input', r));
    helper.getNode('c').receive({ payload: sampleInspection() });
    const msg = await got;
    assert.equal(msg.contract, 'inspection');
  });

  it('routes an invalid one to output 2 naming the field', async () => {
    await helper.load(contractCheck, flow('inspection'));
    const got = new Promise<any>((r) => helper.getNode('bad').on('input', r));
    const insp = sampleInspection();
    (insp.detections[0] as any).confidence = -0.1;
    helper.getNode('c').receive({ payload: insp });
    const msg = await got;
    assert.match(msg.error.message, /payload\.detections\[0\]\.confidence must be >= 0/);
  });

  it('refuses input with the reason when its config is invalid', async () => {
    await helper.load(contractCheck, flow('nonsense'));
    const node = helper.getNode('c');
    const err = new Promise<any>((r) => node.on('call:error', r));
    node.receive({ payload: sampleInspection() });
    const call = await err;
    assert.match(String(call.args[0]), /contract must be one of/);
  });
});
