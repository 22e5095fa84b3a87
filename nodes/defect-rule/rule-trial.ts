// The editor's "try it" panel: runs pasted inspections through a draft rule set with a fresh engine on a
// manual clock, so windows, cooldowns and hold resets show exactly what the deployed node would do.
import type { Inspection, LineAction } from '../../contracts/messages';
import { inspectionContract } from '../../contracts/messages';
import { ManualClock } from '../../lib/clock';
import { RuleEngine, type Verdict } from './rule-engine';
import { parseClassList, ruleProblems, type RuleProblem } from './rule-validation';
import type { DefectRule } from './defect-rule.schema';

export interface TrialRequest {
  rules: unknown;
  knownClasses?: string;
  timeMode?: 'processing' | 'event';
  allowedLatenessMs?: number;
  /** One inspection or several, in arrival order; each arrives at its `capturedAt`. */
  inspections: unknown;
}

export interface TrialStep {
  inspectionId: string;
  actions: LineAction[];
  verdict: Verdict;
}

export interface TrialResult {
  problems: RuleProblem[];
  /** Field problems of the pasted inspections, `inspections[i].field reason`. */
  inputProblems: string[];
  steps: TrialStep[];
  /** Reset actions sent when holds ended, after the last inspection. */
  resets: LineAction[];
}

export function runTrial(req: TrialRequest): TrialResult {
  const result: TrialResult = { problems: [], inputProblems: [], steps: [], resets: [] };
  result.problems = ruleProblems(req.rules, { knownClasses: parseClassList(req.knownClasses) });
  const list = Array.isArray(req.inspections) ? req.inspections : [req.inspections];
  list.forEach((insp, i) => {
    for (const p of inspectionContract.problems(insp, list.length > 1 ? `inspections[${i}]` : 'inspection')) result.inputProblems.push(`${p.field} ${p.reason}`);
  });
  if (result.problems.length || result.inputProblems.length || list.length === 0) return result;
  const inspections = list as Inspection[];
  const clock = new ManualClock(inspections[0].capturedAt);
  const resets: LineAction[] = [];
  const engine = new RuleEngine(req.rules as DefectRule[], {
    clock,
    timeMode: req.timeMode,
    allowedLatenessMs: req.allowedLatenessMs,
    onReset: (a) => resets.push(a),
  });
  for (const insp of inspections) {
    clock.advanceTo(insp.capturedAt);
    result.steps.push({ inspectionId: insp.inspectionId, ...engine.evaluate(insp) });
  }
  // Let every pending hold end so the panel shows the resets too.
  clock.advance(366 * 24 * 3600 * 1000);
  engine.close();
  result.resets = resets;
  return result;
}
