// The rule engine alone: 20 rules (every window kind, areas, rect and polygon regions, cooldowns) over
// inspections with 5 detections each, on one core. Figure: detection checks per second (rules x
// detections per inspection). Baseline: a plain hand-written loop making the same detection comparisons
// on the same data with no windows, state, verdicts or actions. Two data sets: a defect-heavy one where
// about half the rule evaluations match (so verdict text and actions are built often), and a realistic
// one where 1 inspection in 20 carries a defect.
import type { Inspection } from '../contracts/messages';
import { ManualClock } from '../lib/clock';
import { RuleEngine } from '../nodes/defect-rule/rule-engine';
import { assertRules } from '../nodes/defect-rule/rule-validation';
import { pointInPolygon, type Point } from '../nodes/defect-rule/geometry';
import { benchInspection, benchRules } from '../test/fixtures/defect-rules';
import { bestOf, report } from './support/report';

const N = 200_000;
const DISTINCT = 5000;
const rules = assertRules(benchRules());
const CHECKS = rules.length * 5;

// The same comparisons, written out by hand over plain arrays.
const plain = rules.map((r) => ({
  classes: r.condition.classes ?? [],
  minConf: r.condition.minConfidence ?? 0,
  minArea: r.condition.minArea ?? 0,
  maxArea: r.condition.maxArea ?? Infinity,
  needsBox: r.condition.minArea !== undefined || r.condition.roi !== undefined,
  rect: r.condition.roi?.shape === 'rect' ? r.condition.roi : undefined,
  poly: r.condition.roi?.shape === 'polygon' ? (r.condition.roi.points as Point[]) : undefined,
}));

async function measure(label: string, inspections: Inspection[]) {
  const clock = new ManualClock(1_760_000_000_000);
  const engine = new RuleEngine(rules, { clock });
  let fired = 0, failed = 0, hits = 0;
  const runEngine = () => {
    for (let i = 0; i < N; i++) {
      clock.advance(1);
      const ev = engine.evaluate(inspections[i % DISTINCT]);
      fired += ev.actions.length;
      if (ev.verdict.result === 'fail') failed++;
    }
  };
  const runPlain = () => {
    for (let i = 0; i < N; i++) {
      const dets = inspections[i % DISTINCT].detections;
      for (let r = 0; r < plain.length; r++) {
        const p = plain[r];
        let n = 0;
        for (let k = 0; k < dets.length; k++) {
          const d = dets[k];
          if (!p.classes.includes(d.defectClass) || d.confidence < p.minConf) continue;
          if (p.needsBox) {
            const b = d.box!;
            const a = b.width * b.height;
            if (a < p.minArea || a > p.maxArea) continue;
            if (p.rect) {
              const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
              if (cx < p.rect.x! || cx >= p.rect.x! + p.rect.width! || cy < p.rect.y! || cy >= p.rect.y! + p.rect.height!) continue;
            } else if (p.poly && !pointInPolygon(b.x + b.width / 2, b.y + b.height / 2, p.poly)) continue;
          }
          n++;
        }
        if (n > 0) hits++;
      }
    }
  };
  runEngine();
  runPlain();
  fired = failed = hits = 0;
  const tEngine = await bestOf(3, runEngine);
  const tPlain = await bestOf(3, runPlain);
  report({
    bench: 'defect-rule-engine',
    metric: `detection checks per second, 20 rules x 5 detections, ${label}`,
    value: (N * CHECKS) / (tEngine / 1000),
    unit: 'checks/s',
    baseline: (N * CHECKS) / (tPlain / 1000),
    note: `goal >= 1,000,000/s on one core; ${Math.round(N / (tEngine / 1000)).toLocaleString('en-US')} inspections/s; baseline: hand-written loop, same comparisons, no windows/state/verdicts/actions; per run: ${Math.round(failed / 3)} of ${N} inspections fail, ${Math.round(fired / 3)} actions (cooldowns hold most back), ${Math.round(hits / 3)} rule matches`,
  });
  return engine.stats();
}

async function main() {
  const heavy = Array.from({ length: DISTINCT }, (_, i) => benchInspection(i));
  // Realistic: the same detections, but only every 20th inspection has any confident enough to match.
  const usual = heavy.map((insp, i) => (i % 20 === 0 ? insp : { ...insp, detections: insp.detections.map((d) => ({ ...d, confidence: d.confidence * 0.45 })) }));
  const s1 = await measure('defect-heavy data (every inspection fails some rule)', heavy);
  await measure('1 inspection in 20 defective', usual);
  report({ bench: 'defect-rule-engine', metric: 'engine state after 800,000 evaluations (line states + buffered timestamps)', value: s1.lineStates + s1.bufferedTimes, unit: 'entries', baseline: null, note: JSON.stringify(s1) });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
