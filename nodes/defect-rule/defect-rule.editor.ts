// The defect-rule edit form: the node's settings as generated rows (defaults and checks from
// DefectRuleConfig), then the rule table and rule form (rules-form.html), driven by the rule editor
// of defect-rule.browser.ts.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { editorGlobals } from '../kit/editor/red';
import { writeTagProblems, writeTargetsOf, type WriteTarget } from './write-targets';

/** The plc-write nodes the actions output (port 0) is wired to, with their endpoints' tag tables. */
function wiredWriteTargets(nodeId: string): WriteTarget[] {
  const { RED } = editorGlobals();
  // A node not on a workspace (a palette preview, a stand-in editor) has nothing wired.
  if (typeof RED.nodes.filterLinks !== 'function' || !nodeId) return [];
  const wiredTo = RED.nodes.filterLinks({ source: { id: nodeId }, sourcePort: 0 }).map((l) => l.target.id);
  return writeTargetsOf(wiredTo, (id) => RED.nodes.node(id) as never);
}

interface RuleEditorHooks {
  prepare(node: object): void;
  save(node: object): void;
}

const ruleEditor = () => (globalThis as unknown as { LinesightDefectRule: RuleEditorHooks }).LinesightDefectRule;

export const editor: NodeEditor = {
  type: 'defect-rule',
  category: 'Linesight',
  color: '#e2a3a3',
  inputs: 1,
  outputs: 2,
  outputLabels: ['line actions', 'inspection with verdict'],
  icon: 'font-awesome/fa-filter',
  paletteLabel: 'defect rule',
  label() {
    const n = Array.isArray(this.rules) ? this.rules.length : 0;
    return (this.name as string) || `defect rules (${n})`;
  },
  rows: [
    nameRow,
    { fields: [{ prop: 'timeMode', icon: 'clock-o', width: 'auto', options: ['processing', 'event'] }, { prop: 'allowedLatenessMs', width: '80px' }] },
    { prop: 'knownClasses', icon: 'list' },
    { fields: [{ prop: 'stateIdleMs', icon: 'recycle', width: '100px' }, { prop: 'maxLinesPerRule', width: '70px' }] },
    { include: 'rules-form.html' },
  ],
  crossChecks: {
    // A write to a tag the wired plc-write's endpoint does not have (or cannot write) marks the node.
    rules(value) {
      const [first, ...more] = writeTagProblems(value, wiredWriteTargets(this.id as string));
      return first ? `rule ${first.ruleId} ${first.field}: ${first.reason}${more.length ? ` (and ${more.length} more)` : ''}` : true;
    },
  },
  oneditprepare() {
    ruleEditor().prepare(this);
  },
  oneditsave() {
    ruleEditor().save(this);
  },
};
