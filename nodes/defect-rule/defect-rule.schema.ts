// The defect-rule model: the node's config and the declarative rules it evaluates. JSON Schemas are
// generated from these types (dist/schemas/DefectRule*.json); rule-validation.ts adds the checks a
// schema cannot express (sizes each window kind needs, conflicting writes, known classes) and refuses
// fields the schema does not name (an `@additionalProperties false` here would be copied beside each
// `$ref` by the generator, where it rejects every field).

/** Editor config of a `defect-rule` node. */
export interface DefectRuleConfig {
  name?: string;
  /**
   * The rules, in evaluation order. Each item is a `DefectRule`; they are checked by rule-validation
   * (schema and meaning) so every error names the rule id, the field and the reason.
   * @default []
   */
  rules: unknown[];
  /**
   * `processing`: windows use the time the inspection reaches the node. `event`: they use the
   * camera's `capturedAt`, accepting inspections up to `allowedLatenessMs` out of order.
   * @default "processing"
   */
  timeMode: 'processing' | 'event';
  /**
   * Event time only: how far behind the newest inspection of a line an inspection may arrive and
   * still count in windows. Later ones get a verdict but do not count.
   * @TJS-type integer
   * @minimum 0
   * @maximum 3600000
   * @default 2000
   */
  allowedLatenessMs: number;
  /**
   * Defect classes the camera models report, comma separated. When set, a rule naming any other
   * class is refused (catches typos such as "scrach"). Empty accepts any class.
   * @default ""
   */
  knownClasses: string;
  /**
   * Window, cooldown and hold state of a (rule, line) pair is dropped after this long without an
   * inspection from that line.
   * @TJS-type integer
   * @minimum 1000
   * @default 3600000
   */
  stateIdleMs: number;
  /**
   * At most this many lines keep state per rule; the least recently seen line is dropped first.
   * @TJS-type integer
   * @minimum 1
   * @maximum 100000
   * @default 1000
   */
  maxLinesPerRule: number;
}

/** A value written to a PLC tag (the same shape plc-write takes). */
export interface DefectRuleWrite {
  /** @minLength 1 */
  tag: string;
  value: number | boolean | string;
}

/**
 * Region of interest in image pixels: a rectangle (`x`, `y`, `width`, `height`) or a polygon (`points`).
 */
export interface DefectRuleRoi {
  shape: 'rect' | 'polygon';
  /** @minimum 0 */
  x?: number;
  /** @minimum 0 */
  y?: number;
  /** @exclusiveMinimum 0 */
  width?: number;
  /** @exclusiveMinimum 0 */
  height?: number;
  /**
   * Polygon vertices `[x, y]` in order (either winding); at least 3.
   * @minItems 3
   * @maxItems 256
   */
  points?: Array<[number, number]>;
  /**
   * How a detection's box must relate to the region: its centre inside (`center`), the whole box
   * inside (`inside`) or any overlap (`overlap`).
   * @default "center"
   */
  mode?: 'center' | 'inside' | 'overlap';
}

/**
 * Which inspections a rule looks at (scope) and which detections in them count (match).
 */
export interface DefectRuleCondition {
  /** Defect classes that match; absent or empty matches every class. */
  classes?: string[];
  /**
   * Lowest confidence that matches.
   * @minimum 0
   * @maximum 1
   */
  minConfidence?: number;
  /**
   * Smallest box area in square pixels (detections without a box do not match when set).
   * @minimum 0
   */
  minArea?: number;
  /**
   * Largest box area in square pixels.
   * @minimum 0
   */
  maxArea?: number;
  roi?: DefectRuleRoi;
  /**
   * How many detections of one inspection must match for the inspection to match.
   * @TJS-type integer
   * @minimum 1
   * @default 1
   */
  minDetections?: number;
  /** Only inspections from these cameras are in scope; absent or empty means all. */
  cameras?: string[];
  /** Only inspections from these lines are in scope; absent or empty means all. */
  lines?: string[];
  /** Only inspections whose `attributes` carry exactly these values are in scope (e.g. product type). */
  attributes?: { [key: string]: string };
}

/**
 * When matching inspections fire the action. `each`: every matching inspection. `count`: `count`
 * matching inspections within `durationMs`. `consecutive`: `count` matching inspections in a row.
 * `rate`: at least `perMinute` matching inspections per minute over the last `durationMs`.
 * `ratio`: defective/total of the last `size` inspections (within `durationMs` when set) reaches
 * `ratio`, once at least `minTotal` inspections are in the window. After firing, a window starts over.
 */
export interface DefectRuleWindow {
  kind: 'each' | 'count' | 'consecutive' | 'rate' | 'ratio';
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 10000
   */
  count?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   */
  durationMs?: number;
  /**
   * @exclusiveMinimum 0
   */
  perMinute?: number;
  /**
   * @exclusiveMinimum 0
   * @maximum 1
   */
  ratio?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 10000
   */
  size?: number;
  /**
   * @TJS-type integer
   * @minimum 1
   */
  minTotal?: number;
}

export interface DefectRuleAction {
  kind: 'alarm' | 'divert' | 'stop' | 'notify';
  /** @default "warning" */
  severity?: 'info' | 'warning' | 'critical';
  /** What plc-write writes when the rule fires; at least one unless the kind is `notify`. */
  writes: DefectRuleWrite[];
  /**
   * After this long without firing again, the reset writes are sent (lamp off). 0 = no reset.
   * @TJS-type integer
   * @minimum 0
   * @default 0
   */
  holdMs?: number;
  /**
   * Writes made when the hold ends. Absent: each written tag gets `false` (booleans) or `0` (numbers).
   */
  resetWrites?: DefectRuleWrite[];
  /**
   * After firing for a line, the rule does not fire again for that line for this long.
   * @TJS-type integer
   * @minimum 0
   * @default 0
   */
  cooldownMs?: number;
}

export interface DefectRule {
  /**
   * Unique within the node; appears in every LineAction and verdict.
   * @minLength 1
   * @maxLength 64
   * @pattern ^[A-Za-z0-9_.:-]+$
   */
  id: string;
  name?: string;
  /** @default true */
  enabled?: boolean;
  condition: DefectRuleCondition;
  window: DefectRuleWindow;
  action: DefectRuleAction;
}
