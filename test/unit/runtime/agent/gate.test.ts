import assert from 'node:assert/strict';
import { evaluateGate, insideWindow, isIdle } from '../../../../runtime/agent/gate';

describe('agent deploy gate', () => {
  const at = (iso: string) => new Date(iso);

  const windows: Array<[string, string, string, boolean]> = [
    ['22:00', '06:00', '2026-01-01T23:30:00Z', true],
    ['22:00', '06:00', '2026-01-01T05:59:00Z', true],
    ['22:00', '06:00', '2026-01-01T06:00:00Z', false],
    ['22:00', '06:00', '2026-01-01T12:00:00Z', false],
    ['08:00', '17:00', '2026-01-01T08:00:00Z', true],
    ['08:00', '17:00', '2026-01-01T17:00:00Z', false],
    ['00:00', '00:00', '2026-01-01T13:00:00Z', true],
  ];
  for (const [from, to, now, inside] of windows) {
    it(`window ${from}-${to} UTC at ${now.slice(11, 16)} is ${inside ? 'open' : 'closed'}`, () => {
      assert.equal(insideWindow(at(now), { from, to, timezone: 'UTC' }), inside);
    });
  }

  it('reads the window in the given time zone', () => {
    // 23:30 UTC is 00:30 in Berlin (winter): inside 00:00-01:00 there, outside in UTC.
    const now = at('2026-01-01T23:30:00Z');
    assert.equal(insideWindow(now, { from: '00:00', to: '01:00', timezone: 'Europe/Berlin' }), true);
    assert.equal(insideWindow(now, { from: '00:00', to: '01:00', timezone: 'UTC' }), false);
  });

  it('refuses a malformed time, naming the field', () => {
    assert.throws(() => insideWindow(new Date(), { from: '25:00', to: '01:00' }), /gate\.window\.from must be "HH:MM"/);
    assert.throws(() => insideWindow(new Date(), { from: '01:00', to: '1:5' }), /gate\.window\.to/);
  });

  it('compares the line state with the idle value', () => {
    assert.ok(isIdle(0, 0));
    assert.ok(isIdle('0', 0));
    assert.ok(!isIdle('', 0));
    assert.ok(!isIdle(1, 0));
    assert.ok(isIdle(false, false));
    assert.ok(isIdle('false', false));
    assert.ok(!isIdle(0, false));
    assert.ok(isIdle('IDLE', 'IDLE'));
    assert.ok(!isIdle(undefined, 0));
  });

  it('holds while the line runs, with the tag and value in the reason; opens when idle', async () => {
    const gate = { lineState: { tag: 'line_state', idleValue: 0 } };
    let value: unknown = 1;
    const inputs = { now: new Date(), readLineState: async (tag: string) => (tag === 'line_state' ? value : undefined), flowRunning: true };
    const held = await evaluateGate(gate, inputs);
    assert.equal(held.open, false);
    assert.match(held.reasons[0], /line is not idle: line_state = 1, idle is 0/);
    value = 0;
    assert.deepEqual(await evaluateGate(gate, inputs), { open: true, reasons: [] });
    value = undefined;
    assert.equal(
      (await evaluateGate(gate, inputs)).reasons[0],
      'line-state gate key "line_state" has never been set (idle is 0); the running flow sets it, e.g. plc-read -> change node (set global.line_state to msg.payload)',
    );
  });

  it('holds when the line state cannot be read', async () => {
    const v = await evaluateGate({ lineState: { tag: 't', idleValue: 0 } }, { now: new Date(), flowRunning: true, readLineState: async () => Promise.reject(new Error('runtime restarting')) });
    assert.deepEqual(v, { open: false, reasons: ['line state t could not be read: runtime restarting'] });
  });

  it('with no flow running the line state cannot hold a deploy, the window still does', async () => {
    const gate = { lineState: { tag: 't', idleValue: 0 }, window: { from: '01:00', to: '02:00', timezone: 'UTC' } };
    const v = await evaluateGate(gate, { now: at('2026-01-01T12:00:00Z'), flowRunning: false, readLineState: async () => 1 });
    assert.equal(v.open, false);
    assert.equal(v.reasons.length, 1);
    assert.match(v.reasons[0], /outside the deploy window 01:00-02:00 \(UTC\)/);
  });
});
