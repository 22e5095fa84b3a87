import assert from 'node:assert/strict';
import { ManualClock } from '../../../../lib/clock';
import { RuleEngine, type EngineOptions } from '../../../../nodes/defect-rule/rule-engine';
import type { LineAction } from '../../../../contracts/messages';
import type { DefectRule } from '../../../../nodes/defect-rule/defect-rule.schema';
import { dent, inspection, rule, scratch } from '../../../fixtures/defect-rules';

const T0 = 1_760_000_000_000;

function setup(rules: DefectRule[], opts: EngineOptions = {}) {
  const clock = new ManualClock(T0);
  const resets: LineAction[] = [];
  const engine = new RuleEngine(rules, { clock, onReset: (a) => resets.push(a), ...opts });
  let n = 0;
  /** Feeds one inspection at processing time `at` (ms after T0); returns the ids of the rules that fired. */
  const feed = (at: number, dets = [scratch()], over: Parameters<typeof inspection>[2] = {}) => {
    clock.advanceTo(T0 + at);
    const ev = engine.evaluate(inspection(`i${n++}`, dets, { capturedAt: T0 + at, ...over }));
    return Object.assign(ev.actions.map((a) => a.ruleId), { ev });
  };
  return { clock, engine, resets, feed };
}

describe('defect-rule engine', () => {
  describe('each window and the condition', () => {
    it('fires on a matching inspection and passes the rest', () => {
      const { feed } = setup([rule('r1')]);
      const hit = feed(0, [scratch(0.9)]);
      assert.deepEqual([...hit], ['r1']);
      assert.equal(hit.ev.verdict.result, 'fail');
      assert.match(hit.ev.verdict.matched[0].why, /1 matching detection \(scratch 0\.9\)/);
      const a = hit.ev.actions[0];
      assert.deepEqual({ kind: a.kind, severity: a.severity, writes: a.writes, line: a.line, site: a.site, inspectionId: a.inspectionId }, { kind: 'alarm', severity: 'warning', writes: [{ tag: 'r1_lamp', value: true }], line: 'line1', site: 'plant1', inspectionId: 'i0' });
      const miss = feed(10, [dent(0.99), scratch(0.49)]);
      assert.deepEqual([...miss], []);
      assert.deepEqual(miss.ev.verdict, { result: 'pass', matched: [] });
    });

    const cases: Array<[string, Partial<DefectRule['condition']>, Parameters<typeof scratch>, boolean]> = [
      ['confidence exactly at the minimum matches', { minConfidence: 0.8 }, [0.8], true],
      ['confidence just below does not', { minConfidence: 0.8 }, [0.7999], false],
      ['area at the minimum matches', { minArea: 400 }, [0.9, { x: 0, y: 0, width: 20, height: 20 }], true],
      ['area below the minimum does not', { minArea: 401 }, [0.9, { x: 0, y: 0, width: 20, height: 20 }], false],
      ['area above the maximum does not', { maxArea: 399 }, [0.9, { x: 0, y: 0, width: 20, height: 20 }], false],
      ['an area limit excludes detections without a box', { minArea: 1 }, [0.9], false],
      ['centre inside a rect region matches', { roi: { shape: 'rect', x: 100, y: 100, width: 100, height: 100 } }, [0.9, { x: 90, y: 90, width: 30, height: 30 }], true],
      ['centre outside a rect region does not', { roi: { shape: 'rect', x: 100, y: 100, width: 100, height: 100 } }, [0.9, { x: 70, y: 70, width: 30, height: 30 }], false],
      ['a polygon region applies too', { roi: { shape: 'polygon', points: [[0, 0], [100, 0], [0, 100]] } }, [0.9, { x: 10, y: 10, width: 10, height: 10 }], true],
      ['outside the polygon does not', { roi: { shape: 'polygon', points: [[0, 0], [100, 0], [0, 100]] } }, [0.9, { x: 60, y: 60, width: 10, height: 10 }], false],
    ];
    for (const [name, cond, det, fires] of cases) {
      it(name, () => {
        const { feed } = setup([rule('r', { condition: { classes: ['scratch'], ...cond } })]);
        assert.equal(feed(0, [scratch(...det)]).length, fires ? 1 : 0);
      });
    }

    it('needs minDetections matching detections in one inspection', () => {
      const { feed } = setup([rule('r', { condition: { classes: ['scratch'], minDetections: 2 } })]);
      assert.equal(feed(0, [scratch(), dent()]).length, 0);
      assert.equal(feed(1, [scratch(), dent(), scratch()]).length, 1);
    });

    it('matches every class when classes is empty', () => {
      const { feed } = setup([rule('r', { condition: { classes: [], minConfidence: 0.5 } })]);
      assert.equal(feed(0, [dent()]).length, 1);
    });

    it('looks only at the cameras, lines and attributes in scope', () => {
      const { feed } = setup([rule('r', { condition: { classes: ['scratch'], cameras: ['cam2'], lines: ['line1'], attributes: { product: 'A' } } })]);
      assert.equal(feed(0, [scratch()], { cameraId: 'cam2', attributes: { product: 'A', shift: '1' } }).length, 1);
      assert.equal(feed(1, [scratch()], { cameraId: 'cam1', attributes: { product: 'A' } }).length, 0);
      assert.equal(feed(2, [scratch()], { cameraId: 'cam2', line: 'line2', attributes: { product: 'A' } }).length, 0);
      assert.equal(feed(3, [scratch()], { cameraId: 'cam2', attributes: { product: 'B' } }).length, 0);
      assert.equal(feed(4, [scratch()], { cameraId: 'cam2' }).length, 0);
    });

    it('fires several rules on one inspection and skips disabled ones', () => {
      const { feed } = setup([
        rule('a'),
        rule('b', { condition: { classes: ['scratch', 'dent'] } }),
        rule('off', { enabled: false }),
        rule('c', { condition: { classes: ['dent'] } }),
      ]);
      const r = feed(0, [scratch()]);
      assert.deepEqual([...r], ['a', 'b']);
      assert.deepEqual(r.ev.verdict.matched.map((m) => m.ruleId), ['a', 'b']);
    });
  });

  describe('count window', () => {
    const countRule = rule('c', { window: { kind: 'count', count: 3, durationMs: 1000 } });
    it('fires on exactly N within the duration, not on N-1', () => {
      const { feed } = setup([countRule]);
      assert.equal(feed(0).length, 0);
      const second = feed(100);
      assert.equal(second.length, 0);
      assert.equal(second.ev.verdict.result, 'fail');
      assert.equal(second.ev.verdict.matched[0].fired, false);
      assert.match(second.ev.verdict.matched[0].why, /2 of 3 matching within 1000 ms/);
      assert.equal(feed(999).length, 1);
    });
    it('lets the oldest expire exactly at the boundary (window is (t - duration, t])', () => {
      const { feed } = setup([countRule]);
      feed(0);
      feed(500);
      assert.equal(feed(1000).length, 0, 'span of exactly durationMs must not fire');
      assert.equal(feed(1001).length, 1, '500, 1000, 1001 are within 1000 ms');
    });
    it('starts over after firing', () => {
      const { feed } = setup([countRule]);
      feed(0), feed(1), feed(2);
      assert.equal(feed(3).length, 0);
      assert.equal(feed(4).length, 0);
      assert.equal(feed(5).length, 1);
    });
    it('does not count non-matching inspections', () => {
      const { feed } = setup([countRule]);
      feed(0), feed(1, [dent()]), feed(2, []);
      assert.equal(feed(3).length, 0);
      assert.equal(feed(4).length, 1);
    });
  });

  describe('consecutive window', () => {
    it('fires on N in a row; a clean inspection in between starts over', () => {
      const { feed } = setup([rule('k', { window: { kind: 'consecutive', count: 3 } })]);
      assert.equal(feed(0).length + feed(1).length, 0);
      assert.equal(feed(2, []).length, 0, 'clean inspection resets the run');
      assert.equal(feed(3).length + feed(4).length, 0);
      assert.equal(feed(5).length, 1);
    });
    it('inspections out of scope do not break the run', () => {
      const { feed } = setup([rule('k', { condition: { classes: ['scratch'], cameras: ['cam1'] }, window: { kind: 'consecutive', count: 2 } })]);
      feed(0);
      feed(1, [], { cameraId: 'cam9' });
      assert.equal(feed(2).length, 1);
    });
  });

  describe('rate window', () => {
    it('fires when the per-minute rate over the window is reached', () => {
      // 6 per minute over 30 s = 3 matching inspections within 30 s.
      const { feed } = setup([rule('rt', { window: { kind: 'rate', perMinute: 6, durationMs: 30_000 } })]);
      feed(0);
      feed(10_000);
      assert.equal(feed(30_000).length, 0, 'the first has left the window');
      const r = feed(30_001);
      assert.equal(r.length, 1);
      assert.match(r.ev.actions[0].reason!, /at least 6\/min/);
    });
    it('rounds a fractional threshold up', () => {
      // 2.5/min over 60 s needs 3.
      const { feed } = setup([rule('rt', { window: { kind: 'rate', perMinute: 2.5, durationMs: 60_000 } })]);
      assert.equal(feed(0).length + feed(1).length, 0);
      assert.equal(feed(2).length, 1);
    });
  });

  describe('ratio window', () => {
    const ratioRule = rule('q', { window: { kind: 'ratio', ratio: 0.3, size: 10 } });
    it('judges only once minTotal (default size) inspections are in and fires at the ratio', () => {
      const { feed } = setup([ratioRule]);
      feed(0), feed(1);
      for (let i = 0; i < 6; i++) feed(10 + i, []);
      assert.equal(feed(20).length, 0, '3 of 9: not enough inspections yet');
      const r = feed(21, []);
      assert.equal(r.length, 0, 'a clean inspection never fires');
      // ring now: 3 bad of 10; the next bad pushes the first (bad) out: still 3 of 10
      const r2 = feed(22);
      assert.equal(r2.length, 1);
      assert.match(r2.ev.actions[0].reason!, /3 of the last 10 inspections defective \(0\.300 >= 0\.3\)/);
    });
    it('stays quiet just below the ratio', () => {
      const { feed } = setup([ratioRule]);
      feed(0);
      for (let i = 0; i < 8; i++) feed(1 + i, []);
      assert.equal(feed(20).length, 0, '2 of 10 < 0.3');
    });
    it('drops inspections older than durationMs when given, and honours minTotal', () => {
      const { feed } = setup([rule('q', { window: { kind: 'ratio', ratio: 0.5, size: 100, durationMs: 1000, minTotal: 2 } })]);
      feed(0);
      assert.equal(feed(1000, []).length, 0);
      assert.equal(feed(1500).length, 1, '0 expired at 1000: 2 of 2 in window');
    });
  });

  describe('event time', () => {
    const opts: EngineOptions = { timeMode: 'event', allowedLatenessMs: 5000 };
    const countRule = rule('c', { window: { kind: 'count', count: 3, durationMs: 1000 } });
    it('uses capturedAt, so inspections arriving late but within the allowance complete a window', () => {
      const { feed, clock } = setup([countRule], opts);
      const at = (captured: number) => feed(clock.now() - T0 + 1, [scratch()], { capturedAt: T0 + captured });
      assert.equal(at(3000).length, 0);
      assert.equal(at(900).length, 0, 'out of order, far from 3000');
      assert.equal(at(3500).length, 0);
      assert.equal(at(100).length, 0, '100 and 900 are two of three');
      assert.equal(at(500).length, 1, '100, 500, 900 fit in 1000 ms though they arrived out of order');
    });
    it('ignores inspections later than the allowance and says so', () => {
      const { feed, clock } = setup([countRule], opts);
      const at = (captured: number) => feed(clock.now() - T0 + 1, [scratch()], { capturedAt: T0 + captured });
      at(10_000);
      at(10_100);
      const late = at(4_999);
      assert.equal(late.length, 0);
      assert.match(late.ev.verdict.matched[0].why, /late by 5101 ms, beyond the 5000 ms allowed/);
      const edge = at(5_100);
      assert.equal(edge.length, 0);
      assert.doesNotMatch(edge.ev.verdict.matched[0].why, /late/, 'exactly at the allowance still counts');
      assert.match(edge.ev.verdict.matched[0].why, /2 of 3 matching within 1000 ms/, 'the newest window holds 10000 and 10100; 5100 is counted for its own window');
      assert.equal(at(10_050).length, 1);
    });
    it('an each rule still acts on a late inspection (cooldown applies as usual)', () => {
      const { feed, clock } = setup([rule('e', { action: { kind: 'alarm', writes: [{ tag: 'l', value: true }], cooldownMs: 100 } })], opts);
      const at = (captured: number) => feed(clock.now() - T0 + 200, [scratch()], { capturedAt: T0 + captured });
      assert.equal(at(100_000).length, 1);
      assert.equal(at(1_000).length, 1, '99 s late, still a defect to act on');
    });
    it('keeps at most 4n+16 timestamps per line however many arrive out of order', () => {
      // Distinct times 20 ms apart never put 5 within 10 ms, so the window never fires and clears.
      const { engine, clock } = setup([rule('c', { window: { kind: 'count', count: 5, durationMs: 10 } })], { timeMode: 'event', allowedLatenessMs: 3_600_000 });
      let peak = 0;
      for (let i = 0; i < 2000; i++) {
        clock.advance(1);
        const ev = engine.evaluate(inspection(`e${i}`, [scratch()], { capturedAt: T0 + ((i * 7919) % 100_000) * 20 }));
        assert.equal(ev.actions.length, 0);
        peak = Math.max(peak, engine.stats().bufferedTimes);
      }
      assert.equal(peak, 4 * 5 + 16);
    });
  });

  describe('cooldown and hold', () => {
    it('fires once per cooldown per line', () => {
      const { feed } = setup([rule('r', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }], cooldownMs: 1000 } })]);
      assert.equal(feed(0).length, 1);
      const held = feed(999);
      assert.equal(held.length, 0);
      assert.match(held.ev.verdict.matched[0].why, /in cooldown for 1 ms more/);
      assert.equal(feed(999, [scratch()], { line: 'line2' }).length, 1, 'another line has its own cooldown');
      assert.equal(feed(1000).length, 1);
    });
    it('sends the reset writes when the hold ends, with reset: true', () => {
      const { feed, clock, resets } = setup([rule('r', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }, { tag: 'code', value: 7 }], holdMs: 2000 } })]);
      feed(0);
      clock.advance(1999);
      assert.equal(resets.length, 0);
      clock.advance(1);
      assert.equal(resets.length, 1);
      assert.deepEqual(resets[0].writes, [{ tag: 'lamp', value: false }, { tag: 'code', value: 0 }]);
      assert.equal(resets[0].reset, true);
      assert.equal(resets[0].ruleId, 'r');
      assert.equal(resets[0].actionId, 'r:i0:reset');
      assert.equal(resets[0].ts, T0 + 2000);
    });
    it('uses explicit reset writes and restarts the hold when the rule fires again', () => {
      const { feed, clock, resets } = setup([rule('r', { action: { kind: 'divert', writes: [{ tag: 'gate', value: 2 }], resetWrites: [{ tag: 'gate', value: 1 }], holdMs: 1000 } })]);
      feed(0);
      feed(800);
      clock.advanceTo(T0 + 1700);
      assert.equal(resets.length, 0, 'second firing at 800 extends the hold to 1800');
      clock.advanceTo(T0 + 1800);
      assert.deepEqual(resets.map((r) => r.writes), [[{ tag: 'gate', value: 1 }]]);
    });
    it('keeps a held action on while a cooldown holds back new firings', () => {
      const { feed, clock, resets } = setup([rule('r', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }], holdMs: 500, cooldownMs: 10_000 } })]);
      feed(0);
      feed(400);
      clock.advanceTo(T0 + 899);
      assert.equal(resets.length, 0);
      clock.advanceTo(T0 + 900);
      assert.equal(resets.length, 1);
    });
    it('hands running holds to the next engine, which resets on time', () => {
      const { feed, clock, resets, engine } = setup([rule('r', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }], holdMs: 1000 } })]);
      feed(0);
      feed(0, [scratch()], { line: 'line2' });
      clock.advance(400);
      const pending = engine.drainHolds();
      assert.equal(clock.pending, 0);
      const taken: LineAction[] = [];
      const next = new RuleEngine([], { clock, onReset: (a) => taken.push(a) });
      next.adoptHolds(pending);
      clock.advanceTo(T0 + 999);
      assert.equal(taken.length + resets.length, 0);
      clock.advanceTo(T0 + 1000);
      assert.deepEqual(taken.map((a) => [a.line, a.writes, a.reset]), [['line1', [{ tag: 'lamp', value: false }], true], ['line2', [{ tag: 'lamp', value: false }], true]]);
      const late = new RuleEngine([], { clock, onReset: (a) => taken.push(a) });
      late.adoptHolds([{ ...pending[0], dueAt: T0 }]);
      clock.advance(0);
      assert.equal(taken.length, 3, 'an overdue reset goes out at once');
    });
    it('close cancels pending holds', () => {
      const { feed, clock, resets, engine } = setup([rule('r', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }], holdMs: 500 } })]);
      feed(0);
      engine.close();
      assert.equal(clock.pending, 0);
      clock.advance(1000);
      assert.equal(resets.length, 0);
    });
  });

  describe('state per rule and line', () => {
    it('keeps windows apart per line', () => {
      const { feed } = setup([rule('k', { window: { kind: 'consecutive', count: 2 } })]);
      feed(0, [scratch()], { line: 'A' });
      assert.equal(feed(1, [scratch()], { line: 'B' }).length, 0);
      assert.equal(feed(2, [scratch()], { line: 'A' }).length, 1);
    });
    it('stays bounded: at most maxLinesPerRule lines per rule, n timestamps per line', () => {
      const rules = [
        rule('c', { window: { kind: 'count', count: 50, durationMs: 3_600_000 } }),
        rule('q', { window: { kind: 'ratio', ratio: 0.99, size: 20 } }),
        rule('k', { window: { kind: 'consecutive', count: 1000 } }),
      ];
      const { engine, clock } = setup(rules, { maxLinesPerRule: 100 });
      for (let i = 0; i < 50_000; i++) {
        clock.advance(1);
        engine.evaluate(inspection(`x${i}`, [i % 3 ? scratch() : dent()], { line: `L${i % 5000}` }));
      }
      const s = engine.stats();
      assert.ok(s.lineStates <= 3 * 100, `${s.lineStates} line states`);
      assert.ok(s.bufferedTimes <= 100 * 50 + 100 * 20, `${s.bufferedTimes} buffered`);
    });
    it('drops state of lines idle for stateIdleMs', () => {
      const { engine, clock, feed } = setup([rule('k', { window: { kind: 'consecutive', count: 2 } })], { stateIdleMs: 10_000 });
      feed(0, [scratch()], { line: 'A' });
      feed(0, [scratch()], { line: 'B' });
      assert.equal(engine.stats().lineStates, 2);
      clock.advance(10_001);
      feed(10_001, [scratch()], { line: 'C' });
      assert.equal(engine.stats().lineStates, 1);
      assert.equal(feed(10_002, [scratch()], { line: 'A' }).length, 0, 'A starts from scratch');
    });
  });

  describe('replacing rules', () => {
    it('keeps the window of an unchanged rule and restarts a changed one', () => {
      const k = rule('k', { window: { kind: 'consecutive', count: 2 } });
      const { engine, feed } = setup([k, rule('j', { window: { kind: 'consecutive', count: 2 } })]);
      feed(0);
      engine.replaceRules([{ ...k, action: { kind: 'stop', writes: [{ tag: 'stop', value: true }] } }, rule('j', { window: { kind: 'consecutive', count: 3 } })]);
      const r = feed(1);
      assert.deepEqual([...r], ['k']);
      assert.equal(r.ev.actions[0].kind, 'stop');
    });
  });
});
