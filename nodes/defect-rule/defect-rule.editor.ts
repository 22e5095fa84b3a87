// The defect-rule edit form: the node's settings as generated rows (defaults and checks from
// DefectRuleConfig), then the rule table and rule form (rules-form.html), driven by the rule editor
// of defect-rule.browser.ts.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

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
  oneditprepare() {
    ruleEditor().prepare(this);
  },
  oneditsave() {
    ruleEditor().save(this);
  },
};
