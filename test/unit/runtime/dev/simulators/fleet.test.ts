// The fleet simulator's request spreading (round-robin over replicas, skipping one that is down) and its
// duration parsing, against real local HTTP servers.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { balancedFetch, parseDuration } from '../../../../../runtime/dev/simulators/fleet';

async function server(name: string): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const s = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end(name);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))),
  };
}

describe('fleet simulator: balancedFetch and parseDuration', () => {
  it('sends requests round-robin over every replica, keeping the route', async () => {
    const [a, b] = [await server('a'), await server('b')];
    try {
      const f = balancedFetch([a.url, b.url]);
      const answers: string[] = [];
      for (let i = 0; i < 4; i++) answers.push(await (await f(`${a.url}/api/v1/devices/d${i}/desired`)).text());
      assert.deepEqual(answers, ['a', 'b', 'a', 'b']);
      assert.deepEqual(b.hits, ['GET /api/v1/devices/d1/desired', 'GET /api/v1/devices/d3/desired']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('goes on to the next replica when one refuses the connection, and skips it afterwards', async () => {
    const [a, b] = [await server('a'), await server('b')];
    await a.close(); // a's port now refuses connections
    try {
      const f = balancedFetch([a.url, b.url], 60_000);
      const answers: string[] = [];
      for (let i = 0; i < 3; i++) answers.push(await (await f(`${a.url}/x`, { method: 'POST', body: '{}' })).text());
      assert.deepEqual(answers, ['b', 'b', 'b']);
      assert.equal(b.hits.length, 3);
    } finally {
      await b.close();
    }
  });

  it('fails when every replica is down, with the connection error', async () => {
    const a = await server('a');
    await a.close();
    await assert.rejects(balancedFetch([a.url])(`${a.url}/x`), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
  });

  it('reads durations', () => {
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('750'), 750);
    assert.throws(() => parseDuration('soon'), /"soon" is not a duration/);
  });
});
