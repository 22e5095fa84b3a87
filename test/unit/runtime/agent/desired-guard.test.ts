// The agent's check of a desired state before it acts: signed whole by the pinned key, for this device,
// well formed, and never older than the newest generation accepted (kept on disk across restarts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DesiredGuard } from '../../../../runtime/agent/desired-guard';
import { AgentStore } from '../../../../runtime/agent/last-good';
import { generateSigningKeys, signDesiredState, verifyDesiredState, type DesiredState } from '../../../../contracts/fleet/protocol';

const repoKeys = generateSigningKeys();
const otherKeys = generateSigningKeys();

const state = (o: Partial<DesiredState> = {}): DesiredState => ({
  deviceId: 'line-1',
  deploymentId: 'dep-1',
  version: { template: 't', version: '1.0.0', sha256: 'a'.repeat(64), signature: 'flow-sig', href: '/templates/t/versions/1.0.0' },
  parameters: { LINE_ID: 'L1' },
  generation: 10,
  ...o,
});
const signed = (o: Partial<DesiredState> = {}, key = repoKeys.privateKeyPem) => signDesiredState(state(o), key);

describe('agent desired-state guard', () => {
  let dir: string;
  let guard: DesiredGuard;
  const make = () => new DesiredGuard({ deviceId: 'line-1', store: new AgentStore(dir), publicKey: async () => repoKeys.publicKeyPem });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linesight-guard-'));
    guard = make();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs every field: a changed parameter, gate, deployment or generation no longer verifies', () => {
    const s = signed({ gate: { window: { from: '22:00', to: '06:00' } } });
    assert.ok(verifyDesiredState(s, repoKeys.publicKeyPem));
    for (const forged of [
      { ...s, parameters: { LINE_ID: 'L9' } },
      { ...s, gate: undefined },
      { ...s, deploymentId: 'dep-2' },
      { ...s, generation: 11 },
      { ...s, version: { ...s.version!, sha256: 'b'.repeat(64) } },
      { ...s, models: [] },
    ]) {
      assert.equal(verifyDesiredState(forged, repoKeys.publicKeyPem), false, JSON.stringify(forged));
    }
    assert.equal(verifyDesiredState(s, otherKeys.publicKeyPem), false);
  });

  const refusals: Array<[string, () => unknown, RegExp]> = [
    ['unsigned', () => state(), /^it is not signed$/],
    ['signed by another key', () => signed({}, otherKeys.privateKeyPem), /^signature does not verify with the pinned repository key$/],
    ['forged parameters on a genuine state', () => ({ ...signed(), parameters: { LINE_ID: 'evil' } }), /^signature does not verify/],
    ['another device\'s genuine state', () => signed({ deviceId: 'line-2' }), /deviceId is "line-2", this device is line-1/],
    ['malformed', () => ({ ...signed(), generation: 'ten' }), /generation must be a whole number/],
    ['not an object', () => 'hello', /not an object/],
  ];
  for (const [name, candidate, reason] of refusals) {
    it(`refuses ${name}`, async () => {
      const v = await guard.check(candidate());
      assert.equal(v.ok, false);
      if (!v.ok) assert.match(v.reason, reason);
    });
  }

  it('refuses a lower generation, also after a restart; the same generation again is accepted (idempotent)', async () => {
    assert.equal((await guard.check(signed({ generation: 10 }))).ok, true);
    assert.equal((await guard.check(signed({ generation: 10 }))).ok, true);
    const old = await guard.check(signed({ generation: 9, parameters: { LINE_ID: 'old' } }));
    assert.deepEqual(old, { ok: false, reason: 'generation 9 is older than generation 10, already accepted (a replay of an old state)' });
    const again = make(); // a restarted agent: the number is on disk
    assert.equal((await again.check(signed({ generation: 9 }))).ok, false);
    assert.equal((await again.check(signed({ generation: 10 }))).ok, true);
    assert.equal((await again.check(signed({ generation: 12 }))).ok, true);
    assert.equal(new AgentStore(dir).acceptedGeneration(JSON.parse(fs.readFileSync(path.join(dir, 'desired-generation.json'), 'utf8')).key), 12);
  });

  it('an unreachable repository with no pinned key is "not yet", not a refusal', async () => {
    const g = new DesiredGuard({ deviceId: 'line-1', store: new AgentStore(dir), publicKey: async () => Promise.reject(new Error('ECONNREFUSED')) });
    const v = await g.check(signed());
    assert.equal(v.ok, false);
    if (!v.ok) assert.equal(v.transient, true);
  });
});
