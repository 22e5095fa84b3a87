// The vision-detect edit form; defaults and checks come from VisionDetectConfig.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { showGroupsBy } from '../kit/editor/red';

export const editor: NodeEditor = {
  type: 'vision-detect',
  category: 'Linesight',
  color: '#8fc1e3',
  inputs: 1,
  outputs: 1,
  outputLabels: ['Inspection with detections'],
  icon: 'font-awesome/fa-eye',
  paletteLabel: 'vision detect',
  label() {
    return (this.name as string) || `detect ${this.model as string}`;
  },
  rows: [
    nameRow,
    { fields: [{ prop: 'source', icon: 'cube', width: '110px', options: ['name', 'file'] }, { prop: 'model', width: '50%' }] },
    { fields: [{ prop: 'modelsDir', icon: 'folder-open', width: '190px' }], group: 'ls-vd-name' },
    { fields: [{ prop: 'confidence', icon: 'sliders', width: '60px' }, { prop: 'iou', width: '60px' }] },
    { prop: 'maxDetections', icon: 'th', width: '70px' },
    { fields: [{ prop: 'threads', icon: 'microchip', width: '50px' }, { prop: 'concurrency', width: '50px' }, { prop: 'maxQueued', width: '60px' }] },
    { prop: 'maxPixels', icon: 'shield', width: '120px' },
    { fields: [{ prop: 'pollSeconds', icon: 'refresh', width: '60px' }], group: 'ls-vd-name' },
  ],
  oneditprepare() {
    showGroupsBy('#node-input-source', { '.ls-vd-name': (source) => source === 'name' });
  },
};
