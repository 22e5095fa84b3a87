import assert from 'node:assert/strict';
import { ago, bytes, deploymentLook, deviceLook, targetLook } from '../../../../../runtime/repo/console/status';

describe('console status: one colour language', () => {
  it('colours device states the Node-RED way; degraded is never plain green; offline is grey', () => {
    const table: [Parameters<typeof deviceLook>[0], string, string][] = [
      [{ state: 'running' }, 'good', 'running'],
      [{ state: 'running', degraded: true }, 'warn', 'running · degraded'],
      [{ state: 'running', health: 'degraded' }, 'warn', 'running · degraded'],
      [{ state: 'waiting' }, 'warn', 'waiting'],
      [{ state: 'failed' }, 'bad', 'failed'],
      [{ state: 'offline', degraded: true }, 'off', 'offline'],
      [{ state: 'downloading' }, 'busy', 'downloading'],
    ];
    for (const [d, tone, label] of table) assert.deepEqual(deviceLook(d), { tone, label }, JSON.stringify(d));
    assert.equal(deploymentLook('completed').tone, 'good');
    assert.equal(deploymentLook('paused').tone, 'warn');
    assert.equal(deploymentLook('halted').tone, 'bad');
    assert.equal(targetLook('queued').tone, 'off');
  });

  it('says how long ago and how big in words', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.deepEqual(['2026-01-01T11:59:50Z', '2026-01-01T11:55:00Z', '2026-01-01T09:00:00Z', '2025-12-29T12:00:00Z', null].map((t) => ago(t, now)), ['10 s ago', '5 min ago', '3 h ago', '3 d ago', 'never']);
    assert.deepEqual([512, 1536, 250 * 1048576, undefined].map(bytes), ['512 B', '1.5 KiB', '250 MiB', '–']);
  });
});
