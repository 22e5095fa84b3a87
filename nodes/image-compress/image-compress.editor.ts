// The image-compress edit form; defaults and checks come from ImageCompressConfig.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

export const editor: NodeEditor = {
  type: 'image-compress',
  category: 'Linesight',
  color: '#8fc1e3',
  inputs: 1,
  outputs: 1,
  icon: 'font-awesome/fa-compress',
  paletteLabel: 'image compress',
  label() {
    return (this.name as string) || `compress ${this.format as string}${this.maxWidth ? ` ≤${this.maxWidth as number}px` : ''}`;
  },
  rows: [
    nameRow,
    { fields: [{ prop: 'format', icon: 'file-image-o', width: '100px', options: ['webp', 'jpeg', 'avif', 'png'] }, { prop: 'quality', width: '50px' }] },
    { fields: [{ prop: 'maxWidth', icon: 'arrows-alt', width: '60px' }, { prop: 'maxHeight', width: '60px' }, { prop: 'fit', width: '100px', options: ['inside', 'cover', 'contain', 'fill', 'outside'] }] },
    { prop: 'metadata', icon: 'info', width: '100px', options: ['strip', 'keep'] },
    { fields: [{ prop: 'thumbnail', icon: 'picture-o' }, { prop: 'thumbnailSize', width: '60px' }] },
    { fields: [{ prop: 'crops', icon: 'crop' }, { prop: 'cropMargin', width: '50px' }] },
    { prop: 'annotate', icon: 'square-o' },
    { prop: 'maxPixels', icon: 'shield', width: '120px' },
    { fields: [{ prop: 'concurrency', icon: 'tasks', width: '50px' }, { prop: 'maxQueued', width: '60px' }] },
  ],
};
