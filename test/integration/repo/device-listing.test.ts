// GET /api/v1/devices filtered and paged on the server (the fleet console asks for one window of the
// fleet) against a real database; without query parameters the answer stays the plain array the CLI and
// the sidebar read; a bad parameter is a 422 naming it.
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './harness';

describe('repo: device listing with filters and pages', function () {
  this.timeout(60_000);
  let h: Harness;

  before(async () => {
    h = await startHarness();
    for (let i = 0; i < 25; i++) {
      const id = `line-${String(i).padStart(2, '0')}`;
      const { token } = await h.admin.registerDevice({ id, tier: i < 20 ? 'line' : 'factory', labels: { site: i % 2 ? 'east' : 'hq' }, parameters: {} });
      if (i < 4) await h.device(token).reportStatus(id, { deviceId: id, state: i === 3 ? 'failed' : 'running', running: null, reasons: i === 2 ? ['camera-intake "cam 2" status red'] : [], degraded: i === 2, ts: Date.now() });
    }
  });
  after(async () => {
    await h?.close();
  });

  const get = async (query: string) => {
    const res = await fetch(`${h.repo.url}/api/v1/devices${query}`, { headers: { authorization: `Bearer ${h.repo.adminToken}` } });
    return { status: res.status, body: (await res.json()) as { devices: { id: string }[]; total: number; offset: number; limit: number; problems?: { field: string }[] } };
  };

  it('answers the plain array without query parameters', async () => {
    const plain = (await get('')).body as unknown as { id: string }[];
    assert.ok(Array.isArray(plain));
    assert.equal(plain.length, 25);
  });

  it('pages the filtered fleet, by id, with the total of all matching devices', async () => {
    const first = await get('?tier=line&label=site%3Dhq&limit=4');
    assert.equal(first.status, 200);
    assert.deepEqual([first.body.devices.map((d) => d.id), first.body.total, first.body.offset, first.body.limit], [['line-00', 'line-02', 'line-04', 'line-06'], 10, 0, 4]);
    const third = await get('?tier=line&label=site%3Dhq&limit=4&offset=8');
    assert.deepEqual(third.body.devices.map((d) => d.id), ['line-16', 'line-18']);
    assert.deepEqual((await get('?state=degraded')).body.devices.map((d) => d.id), ['line-02']);
    assert.deepEqual((await get('?state=failed')).body.devices.map((d) => d.id), ['line-03']);
    assert.deepEqual((await get('?q=CAM%202')).body.devices.map((d) => d.id), ['line-02']);
    assert.equal((await get('?tier=factory&label=site%3Deast')).body.total, 2);
  });

  it('refuses bad parameters with 422 naming each', async () => {
    const bad = await get('?state=asleep&limit=0&label=site');
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.problems!.map((p) => p.field).sort(), ['label', 'limit', 'state']);
  });
});
