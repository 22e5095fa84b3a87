import assert from 'node:assert/strict';
import type { NodeAPI } from 'node-red';
import { LinesightError } from '../../../../contracts/errors';
import { useConfigNode } from '../../../../nodes/kit/config-node';

function redWith(nodes: Record<string, object>): NodeAPI {
  return { nodes: { getNode: (id: string) => nodes[id] ?? null } } as unknown as NodeAPI;
}

const use = {
  field: 'broker',
  type: 'cloud-broker',
  label: 'cloud-bridge "up"',
  take: (n: object) => (n as { connection?: string }).connection,
  why: (n: object) => (n as { problem?: string }).problem,
};

describe('node kit: useConfigNode', () => {
  it('hands back what the node needs from a running config node', () => {
    const RED = redWith({ b1: { id: 'b1', name: 'plant broker', connection: 'conn' } });
    assert.equal(useConfigNode(RED, 'b1', use).value, 'conn');
  });

  for (const [what, id] of [['unset', undefined], ['unknown', 'gone']] as const) {
    it(`an ${what} id is a config error naming the field`, () => {
      assert.throws(
        () => useConfigNode(redWith({}), id, use),
        (err: LinesightError) => err instanceof LinesightError && err.field === 'broker' && err.statusText === 'no broker' && /cloud-bridge "up": broker is not set or names no cloud-broker config node/.test(err.message),
      );
    });
  }

  it('a config node that is not running names it and why', () => {
    const RED = redWith({ b1: { id: 'b1', name: 'plant broker', problem: 'caFile "/x.pem" cannot be read' } });
    assert.throws(
      () => useConfigNode(RED, 'b1', use),
      (err: LinesightError) => err.field === 'broker' && err.statusText === 'broker invalid' && err.message === 'cloud-bridge "up": broker "plant broker" is not running (invalid config): its cloud-broker config is invalid: caFile "/x.pem" cannot be read',
    );
  });
});
