// Evaluates inspections against validated defect rules: detection matching, the five window kinds kept
// per (rule, line) with bounded memory, cooldown, and hold/reset. Time comes from an injected clock, so
// tests and the editor's "try it" panel drive it deterministically.
import type { Detection, Inspection, LineAction } from '../../contracts/messages';
import type { DefectRule, DefectRuleWrite } from './defect-rule.schema';
import { compileRoi, type RoiTest } from './geometry';
import { rateThreshold, resetWritesOf } from './rule-validation';
import { systemClock, type Clock } from '../../lib/clock';

export interface EngineOptions {
  timeMode?: 'processing' | 'event';
  /** Event time: how far behind the newest inspection of a line one may arrive and still count. */
  allowedLatenessMs?: number;
  /** (rule, line) state unused this long (processing time) is dropped. */
  stateIdleMs?: number;
  /** Lines with state per rule; the least recently seen is dropped beyond it. */
  maxLinesPerRule?: number;
  clock?: Clock;
  /** Receives the reset action when a hold ends (lamp off). */
  onReset?: (action: LineAction) => void;
}

export interface MatchedRule {
  ruleId: string;
  why: string;
  /** Whether this inspection produced the rule's action (false while the window fills, in cooldown, or late). */
  fired: boolean;
}

export interface Verdict {
  result: 'pass' | 'fail';
  matched: MatchedRule[];
}

/** A hold still running, handed from one engine to the next across a redeploy so no lamp stays on. */
export interface PendingReset {
  key: string;
  /** When the reset is due (processing time). */
  dueAt: number;
  holdMs: number;
  action: LineAction;
}

export interface Evaluation {
  actions: LineAction[];
  verdict: Verdict;
}

/** Sorted timestamps of matching inspections (count and rate windows). */
interface TimesState {
  ts: number[];
}
/** Arrival-ordered ring of (time, defective) for ratio windows. */
interface RatioState {
  ts: Float64Array;
  bad: Uint8Array;
  head: number;
  len: number;
  badCount: number;
}

interface LineState {
  lastSeen: number;
  maxEventTs: number;
  cooldownUntil: number;
  consecutive: number;
  times?: TimesState;
  ratio?: RatioState;
}

interface Hold {
  timer: unknown;
  dueAt: number;
  /** The reset to send when the hold ends. */
  action: LineAction;
  holdMs: number;
}

interface CompiledRule {
  def: DefectRule;
  id: string;
  /** condition + window: state survives a rule replacement only when this is unchanged. */
  stateKey: string;
  classSet: Set<string> | null;
  minConfidence: number;
  needsBox: boolean;
  minArea: number;
  maxArea: number;
  roi: RoiTest | null;
  minDetections: number;
  cameras: Set<string> | null;
  lines: Set<string> | null;
  attributes: Array<[string, string]> | null;
  kind: DefectRule['window']['kind'];
  /** count/rate: inspections needed; consecutive: run length; ratio: ring size. */
  n: number;
  durationMs: number;
  ratio: number;
  minTotal: number;
  /** Event time keeps more than n timestamps so late arrivals can still complete a window. */
  timesCap: number;
  cooldownMs: number;
  holdMs: number;
  resetWrites: DefectRuleWrite[];
  /** `each` without cooldown or hold needs no per-line state at all. */
  stateless: boolean;
  states: Map<string, LineState>;
}

function compile(def: DefectRule, eventTime: boolean): CompiledRule {
  const c = def.condition;
  const w = def.window;
  const a = def.action;
  const classes = c.classes && c.classes.length ? new Set(c.classes) : null;
  const needsBox = c.minArea !== undefined || c.maxArea !== undefined || c.roi !== undefined;
  let n = 1;
  if (w.kind === 'count' || w.kind === 'consecutive') n = w.count ?? 1;
  else if (w.kind === 'rate') n = rateThreshold(w.perMinute ?? 1, w.durationMs ?? 60_000);
  else if (w.kind === 'ratio') n = w.size ?? 1;
  return {
    def,
    id: def.id,
    stateKey: JSON.stringify([c, w]),
    classSet: classes,
    minConfidence: c.minConfidence ?? 0,
    needsBox,
    minArea: c.minArea ?? 0,
    maxArea: c.maxArea ?? Infinity,
    roi: c.roi ? compileRoi(c.roi) : null,
    minDetections: c.minDetections ?? 1,
    cameras: c.cameras && c.cameras.length ? new Set(c.cameras) : null,
    lines: c.lines && c.lines.length ? new Set(c.lines) : null,
    attributes: c.attributes && Object.keys(c.attributes).length ? Object.entries(c.attributes) : null,
    kind: w.kind,
    n,
    durationMs: w.durationMs ?? Infinity,
    ratio: w.ratio ?? 1,
    minTotal: w.minTotal ?? n,
    timesCap: eventTime ? Math.min(4 * n + 16, 4 * 10_000) : n,
    cooldownMs: a.cooldownMs ?? 0,
    holdMs: a.holdMs ?? 0,
    resetWrites: resetWritesOf(def),
    stateless: w.kind === 'each' && !a.cooldownMs && !a.holdMs,
    states: new Map(),
  };
}

function detectionMatches(r: CompiledRule, d: Detection): boolean {
  if (r.classSet !== null && !r.classSet.has(d.defectClass)) return false;
  if (d.confidence < r.minConfidence) return false;
  if (r.needsBox) {
    const b = d.box;
    if (!b) return false;
    const area = b.width * b.height;
    if (area < r.minArea || area > r.maxArea) return false;
    if (r.roi !== null && !r.roi(b)) return false;
  }
  return true;
}

function inScope(r: CompiledRule, insp: Inspection): boolean {
  if (r.lines !== null && !r.lines.has(insp.line)) return false;
  if (r.cameras !== null && !r.cameras.has(insp.cameraId)) return false;
  if (r.attributes !== null) {
    const attrs = insp.attributes;
    if (!attrs) return false;
    for (const [k, v] of r.attributes) if (attrs[k] !== v) return false;
  }
  return true;
}

const conf = (c: number) => String(Math.round(c * 100) / 100);

/** "2 matching detections (scratch 0.93, dent 0.8)", naming at most the first two. */
function matchWhy(dets: Detection[], hits: number, first: number, second: number): string {
  if (hits === 0) return '0 matching detections';
  const a = dets[first];
  let text = `${hits} matching detection${hits === 1 ? '' : 's'} (${a.defectClass} ${conf(a.confidence)}`;
  if (second >= 0) text += `, ${dets[second].defectClass} ${conf(dets[second].confidence)}`;
  if (hits > 2) text += ` and ${hits - 2} more`;
  return text + ')';
}

/** Index of the first element greater than `t` (stable insert point for sorted arrays). */
function upperBound(a: number[], t: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class RuleEngine {
  private rules: CompiledRule[] = [];
  private readonly holds = new Map<string, Hold>();
  private readonly clock: Clock;
  private readonly eventTime: boolean;
  private readonly lateness: number;
  private readonly idleMs: number;
  private readonly maxLines: number;
  private readonly onReset: (action: LineAction) => void;
  private nextSweep = 0;
  private closed = false;

  constructor(rules: DefectRule[], opts: EngineOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.eventTime = opts.timeMode === 'event';
    this.lateness = opts.allowedLatenessMs ?? 2000;
    this.idleMs = opts.stateIdleMs ?? 3_600_000;
    this.maxLines = opts.maxLinesPerRule ?? 1000;
    this.onReset = opts.onReset ?? (() => {});
    this.replaceRules(rules);
  }

  /** Swaps the rule set. Rules keeping their id, condition and window keep their window state. */
  replaceRules(rules: DefectRule[]): void {
    const old = new Map(this.rules.map((r) => [r.id, r]));
    this.rules = rules.filter((r) => r.enabled !== false).map((def) => {
      const r = compile(def, this.eventTime);
      const prev = old.get(r.id);
      if (prev && prev.stateKey === r.stateKey) r.states = prev.states;
      return r;
    });
  }

  get ruleCount(): number {
    return this.rules.length;
  }

  /** State held right now, to check the memory bound. */
  stats(): { lineStates: number; bufferedTimes: number; holds: number } {
    let lineStates = 0, bufferedTimes = 0;
    for (const r of this.rules) {
      lineStates += r.states.size;
      for (const s of r.states.values()) bufferedTimes += (s.times?.ts.length ?? 0) + (s.ratio?.len ?? 0);
    }
    return { lineStates, bufferedTimes, holds: this.holds.size };
  }

  evaluate(insp: Inspection): Evaluation {
    const now = this.clock.now();
    if (now >= this.nextSweep) this.sweep(now);
    const t = this.eventTime ? insp.capturedAt : now;
    const lineKey = insp.site + '\u0000' + insp.line;
    const actions: LineAction[] = [];
    const matched: MatchedRule[] = [];
    const dets = insp.detections;
    for (let ri = 0; ri < this.rules.length; ri++) {
      const r = this.rules[ri];
      if (!inScope(r, insp)) continue;
      let hits = 0;
      // The first matching detections are remembered for the verdict's "why" without a second pass.
      let first = -1, second = -1;
      for (let di = 0; di < dets.length; di++) {
        if (!detectionMatches(r, dets[di])) continue;
        if (hits === 0) first = di;
        else if (hits === 1) second = di;
        hits++;
      }
      const match = hits >= r.minDetections;
      if (r.stateless) {
        if (match) {
          const why = `${matchWhy(dets, hits, first, second)}; fires on each matching inspection`;
          actions.push(this.action(r, insp, now, why));
          matched.push({ ruleId: r.id, why, fired: true });
        }
        continue;
      }
      const st = this.stateFor(r, lineKey, now);
      // Lateness only matters to windows: an `each` rule acts on a late defect like on any other.
      if (this.eventTime && r.kind !== 'each' && t < st.maxEventTs - this.lateness) {
        if (match) matched.push({ ruleId: r.id, why: `${matchWhy(dets, hits, first, second)}; late by ${st.maxEventTs - t} ms, beyond the ${this.lateness} ms allowed, not counted`, fired: false });
        continue;
      }
      if (t > st.maxEventTs) st.maxEventTs = t;
      const windowWhy = this.advanceWindow(r, st, t, match);
      if (!match) continue;
      const why = matchWhy(dets, hits, first, second);
      if (windowWhy === null) {
        matched.push({ ruleId: r.id, why: `${why}; ${this.progress(r, st)}`, fired: false });
        continue;
      }
      if (now < st.cooldownUntil) {
        this.extendHold(r, lineKey);
        matched.push({ ruleId: r.id, why: `${why}; ${windowWhy}; in cooldown for ${st.cooldownUntil - now} ms more`, fired: false });
        continue;
      }
      if (r.cooldownMs > 0) st.cooldownUntil = now + r.cooldownMs;
      const act = this.action(r, insp, now, `${why}; ${windowWhy}`);
      actions.push(act);
      if (r.holdMs > 0) this.startHold(r, lineKey, act);
      matched.push({ ruleId: r.id, why: `${why}; ${windowWhy}`, fired: true });
    }
    return { actions, verdict: { result: matched.length ? 'fail' : 'pass', matched } };
  }

  /** Stops every hold timer and returns the resets still due, for the engine that takes over. */
  drainHolds(): PendingReset[] {
    const out: PendingReset[] = [];
    for (const [key, h] of this.holds) {
      this.clock.clearTimeout(h.timer);
      out.push({ key, dueAt: h.dueAt, holdMs: h.holdMs, action: h.action });
    }
    this.holds.clear();
    return out;
  }

  /** Takes over holds from a previous engine: each reset is sent when it was due (at once if overdue). */
  adoptHolds(pending: PendingReset[]): void {
    const now = this.clock.now();
    for (const p of pending) {
      const hold: Hold = { action: p.action, timer: undefined, holdMs: p.holdMs, dueAt: p.dueAt };
      hold.timer = this.clock.setTimeout(() => this.endHold(p.key, hold), Math.max(0, p.dueAt - now));
      this.holds.set(p.key, hold);
    }
  }

  /** Cancels pending hold timers (their resets are not sent). */
  close(): void {
    this.closed = true;
    for (const h of this.holds.values()) this.clock.clearTimeout(h.timer);
    this.holds.clear();
  }

  private stateFor(r: CompiledRule, lineKey: string, now: number): LineState {
    let st = r.states.get(lineKey);
    if (!st) {
      if (r.states.size >= this.maxLines) this.evictLeastRecent(r);
      st = { lastSeen: now, maxEventTs: -Infinity, cooldownUntil: -Infinity, consecutive: 0 };
      r.states.set(lineKey, st);
    }
    st.lastSeen = now;
    return st;
  }

  /** Only runs when more lines than allowed appear; a scan is cheaper than keeping LRU order on every inspection. */
  private evictLeastRecent(r: CompiledRule): void {
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, st] of r.states) {
      if (st.lastSeen < oldest) {
        oldest = st.lastSeen;
        oldestKey = k;
      }
    }
    if (oldestKey !== undefined) r.states.delete(oldestKey);
  }

  private sweep(now: number): void {
    const limit = now - this.idleMs;
    for (const r of this.rules) {
      for (const [k, st] of r.states) if (st.lastSeen <= limit) r.states.delete(k);
    }
    this.nextSweep = now + Math.max(250, Math.min(60_000, this.idleMs / 4));
  }

  /** Feeds one in-scope inspection to the rule's window. Returns why it fires, or null while it does not. */
  private advanceWindow(r: CompiledRule, st: LineState, t: number, match: boolean): string | null {
    switch (r.kind) {
      case 'each':
        return match ? 'fires on each matching inspection' : null;
      case 'consecutive':
        if (!match) {
          st.consecutive = 0;
          return null;
        }
        if (++st.consecutive < r.n) return null;
        st.consecutive = 0;
        return `${r.n} matching inspections in a row`;
      case 'count':
      case 'rate': {
        if (!match) return null;
        const times = (st.times ??= { ts: [] });
        const a = times.ts;
        const k = upperBound(a, t);
        a.splice(k, 0, t);
        // Nothing older than this can ever share a window with an inspection still allowed to arrive.
        const horizon = st.maxEventTs - (this.eventTime ? this.lateness : 0) - r.durationMs;
        let drop = 0;
        while (drop < a.length && a[drop] <= horizon) drop++;
        if (a.length - drop > r.timesCap) drop = a.length - r.timesCap;
        if (drop > 0) a.splice(0, drop);
        const at = Math.min(a.length - 1, Math.max(0, k - drop));
        // Any n consecutive timestamps that include the new one and span less than durationMs fire.
        for (let i = Math.max(0, at - r.n + 1); i <= at && i + r.n - 1 < a.length; i++) {
          if (a[i + r.n - 1] - a[i] < r.durationMs) {
            a.length = 0;
            return r.kind === 'count'
              ? `${r.n} matching inspections within ${r.durationMs} ms`
              : `${r.n} matching inspections within ${r.durationMs} ms, at least ${r.def.window.perMinute}/min`;
          }
        }
        return null;
      }
      case 'ratio': {
        const rs = (st.ratio ??= { ts: new Float64Array(r.n), bad: new Uint8Array(r.n), head: 0, len: 0, badCount: 0 });
        if (rs.len === r.n) {
          rs.badCount -= rs.bad[rs.head];
          rs.len--;
          rs.head = (rs.head + 1) % r.n;
        }
        const tail = (rs.head + rs.len) % r.n;
        rs.ts[tail] = t;
        rs.bad[tail] = match ? 1 : 0;
        rs.badCount += rs.bad[tail];
        rs.len++;
        if (r.durationMs !== Infinity) {
          while (rs.len > 0 && rs.ts[rs.head] <= t - r.durationMs) {
            rs.badCount -= rs.bad[rs.head];
            rs.head = (rs.head + 1) % r.n;
            rs.len--;
          }
        }
        if (!match || rs.len < r.minTotal || rs.badCount < r.ratio * rs.len) return null;
        const why = `${rs.badCount} of the last ${rs.len} inspections defective (${(rs.badCount / rs.len).toFixed(3)} >= ${r.ratio})`;
        rs.len = 0;
        rs.badCount = 0;
        return why;
      }
    }
  }

  private progress(r: CompiledRule, st: LineState): string {
    switch (r.kind) {
      case 'consecutive':
        return `${st.consecutive} of ${r.n} in a row`;
      case 'count':
      case 'rate': {
        // Event time may buffer stragglers outside the newest window: count only those inside it.
        let k = 0;
        for (const x of st.times?.ts ?? []) if (x > st.maxEventTs - r.durationMs && x <= st.maxEventTs) k++;
        return `${k} of ${r.n} matching within ${r.durationMs} ms`;
      }
      case 'ratio': {
        const rs = st.ratio!;
        return `${rs.badCount} of ${rs.len} defective, needs ${r.ratio} over at least ${r.minTotal}`;
      }
      default:
        return 'window not reached';
    }
  }



  private action(r: CompiledRule, insp: Inspection, now: number, reason: string): LineAction {
    return {
      actionId: `${r.id}:${insp.inspectionId}`,
      ruleId: r.id,
      kind: r.def.action.kind,
      severity: r.def.action.severity ?? 'warning',
      inspectionId: insp.inspectionId,
      site: insp.site,
      line: insp.line,
      ts: now,
      writes: r.def.action.writes.map((w) => ({ tag: w.tag, value: w.value })),
      reason: `${r.def.name ?? r.id}: ${reason}`,
    };
  }

  private startHold(r: CompiledRule, lineKey: string, act: LineAction): void {
    const key = r.id + '\u0000' + lineKey;
    const prev = this.holds.get(key);
    if (prev) this.clock.clearTimeout(prev.timer);
    const reset: LineAction = {
      ...act,
      actionId: `${act.actionId}:reset`,
      writes: r.resetWrites.map((w) => ({ tag: w.tag, value: w.value })),
      reset: true,
      reason: `${r.def.name ?? r.id}: hold of ${r.holdMs} ms ended`,
    };
    const hold: Hold = { action: reset, timer: undefined, holdMs: r.holdMs, dueAt: this.clock.now() + r.holdMs };
    hold.timer = this.clock.setTimeout(() => this.endHold(key, hold), r.holdMs);
    this.holds.set(key, hold);
  }

  /** A firing held back by the cooldown means the defect persists: keep the lamp on longer. */
  private extendHold(r: CompiledRule, lineKey: string): void {
    const key = r.id + '\u0000' + lineKey;
    const hold = this.holds.get(key);
    if (!hold) return;
    this.clock.clearTimeout(hold.timer);
    hold.dueAt = this.clock.now() + hold.holdMs;
    hold.timer = this.clock.setTimeout(() => this.endHold(key, hold), hold.holdMs);
  }

  private endHold(key: string, hold: Hold): void {
    if (this.closed || this.holds.get(key) !== hold) return;
    this.holds.delete(key);
    this.onReset({ ...hold.action, ts: this.clock.now() });
  }
}
