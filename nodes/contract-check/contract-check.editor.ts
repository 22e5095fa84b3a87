// The contract-check edit form; defaults and checks come from ContractCheckConfig.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

export const editor: NodeEditor = {
  type: 'contract-check',
  category: 'Linesight',
  color: '#8fc1e3',
  inputs: 1,
  outputs: 2,
  outputLabels: ['valid', 'invalid'],
  icon: 'font-awesome/fa-check-square-o',
  paletteLabel: 'contract check',
  label() {
    return (this.name as string) || `check ${this.contract as string}`;
  },
  rows: [nameRow, { prop: 'contract', icon: 'file-text-o', options: ['auto', 'inspection', 'tags', 'actions'] }],
};
