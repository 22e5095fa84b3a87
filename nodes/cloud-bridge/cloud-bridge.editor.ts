// The cloud-bridge edit form; defaults and checks come from CloudBridgeConfig.
import { configPicker, nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

export const editor: NodeEditor = {
  type: 'cloud-bridge',
  category: 'Linesight',
  color: '#a6bbcf',
  inputs: 1,
  outputs: 0,
  icon: 'bridge.svg',
  align: 'right',
  paletteLabel: 'cloud bridge',
  label() {
    return (this.name as string) || 'cloud bridge';
  },
  rows: [
    nameRow,
    configPicker('broker', 'globe'),
    'topicTemplate',
    { fields: [{ prop: 'site', width: '35%' }, { prop: 'line', width: '35%' }] },
    { prop: 'qos', width: '80px' },
    { prop: 'imageMode', options: ['separate', 'inline', 'drop'] },
    'outboxFile',
    { fields: [{ prop: 'maxMessages', width: '110px' }, { prop: 'maxMegabytes', width: '70px' }] },
    { prop: 'overflow', options: ['drop-oldest', 'refuse-newest'] },
    { prop: 'syncEveryMs', width: '70px' },
    { prop: 'window', width: '70px' },
  ],
};
