// The plc-write edit form; defaults and checks come from PlcWriteConfig (plc-write.schema.ts).
import { configPicker, nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { attachWritableHint } from '../kit/editor/tag-picker';

export const editor: NodeEditor = {
  type: 'plc-write',
  category: 'Linesight',
  color: '#e2a04a',
  inputs: 1,
  outputs: 1,
  icon: 'font-awesome/fa-sign-in',
  align: 'right',
  paletteLabel: 'plc write',
  label() {
    return (this.name as string) || 'plc write';
  },
  rows: [
    nameRow,
    configPicker('endpoint', 'plug'),
    { fields: ['verify'], checkboxFirst: true },
    { prop: 'timeoutMs', icon: 'clock-o', width: '80px' },
  ],
  oneditprepare() {
    // plc-write takes its tags from each message: the form says which the endpoint can write.
    attachWritableHint('#node-input-endpoint');
  },
};
