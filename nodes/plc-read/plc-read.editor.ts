// The plc-read edit form; defaults and checks come from PlcReadConfig (plc-read.schema.ts).
import { configPicker, nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { attachTagPicker, endpointTags, unknownTags } from '../kit/editor/tag-picker';

export const editor: NodeEditor = {
  type: 'plc-read',
  category: 'Linesight',
  color: '#e2a04a',
  inputs: 1,
  outputs: 1,
  icon: 'font-awesome/fa-sign-out',
  paletteLabel: 'plc read',
  label() {
    return (this.name as string) || (this.tags ? `plc read ${this.tags as string}` : 'plc read');
  },
  rows: [
    nameRow,
    configPicker('endpoint', 'plug'),
    { prop: 'tags', icon: 'list' },
    { prop: 'intervalMs', icon: 'clock-o' },
    { fields: ['reportByException'], checkboxFirst: true },
    { prop: 'maxGap', width: '60px' },
  ],
  crossChecks: {
    // Every tag listed must be in the endpoint's table (names are case-sensitive: "LineSpeed").
    tags(value) {
      const missing = unknownTags(value, endpointTags(this.endpoint));
      return missing.length ? `not in the endpoint's tag table: ${missing.join(', ')}` : true;
    },
  },
  oneditprepare() {
    attachTagPicker('#node-input-tags', '#node-input-endpoint');
  },
};
