// The cloud-bridge-in edit form; defaults and checks come from CloudBridgeInConfig.
import { configPicker, nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

export const editor: NodeEditor = {
  type: 'cloud-bridge-in',
  category: 'Linesight',
  color: '#a6bbcf',
  inputs: 0,
  outputs: 1,
  icon: 'bridge.svg',
  paletteLabel: 'cloud bridge in',
  label() {
    return (this.name as string) || 'cloud bridge in';
  },
  rows: [
    nameRow,
    configPicker('broker', 'globe'),
    { prop: 'topics', control: 'textarea' },
    'topicTemplate',
    'shareGroup',
    { prop: 'qos', width: '80px' },
    'ackAfter',
    { prop: 'dedupeWindow', width: '100px' },
    { prop: 'joinImagesMs', width: '80px' },
  ],
};
