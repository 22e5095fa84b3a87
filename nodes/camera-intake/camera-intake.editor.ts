// The camera-intake edit form; defaults and checks come from CameraIntakeConfig.
import { nameRow, tlsFileRows } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { showGroupsBy } from '../kit/editor/red';

export const editor: NodeEditor = {
  type: 'camera-intake',
  category: 'Linesight',
  color: '#8fc1e3',
  inputs: 0,
  outputs: 1,
  outputLabels: ['Inspection'],
  icon: 'font-awesome/fa-camera',
  paletteLabel: 'camera intake',
  credentials: { token: { type: 'password' }, tlsCert: { type: 'text' }, tlsKey: { type: 'password' }, tlsCa: { type: 'text' } },
  label() {
    return (this.name as string) || `camera intake :${this.port as number}`;
  },
  rows: [
    nameRow,
    { fields: [{ prop: 'host', icon: 'globe', width: '45%' }, { prop: 'port', width: '70px' }] },
    { fields: [{ prop: 'site', icon: 'industry', width: '30%' }, { prop: 'line', width: '30%' }] },
    { prop: 'token', icon: 'key' },
    { prop: 'tls', icon: 'lock', options: ['none', 'tls', 'mtls'] },
    ...tlsFileRows(['certFile', 'keyFile'], 'ls-ci-tls'),
    ...tlsFileRows(['caFile'], 'ls-ci-mtls'),
    { fields: [{ prop: 'tlsCert', control: 'textarea', monospace: true }], group: 'ls-ci-tls' },
    { fields: ['tlsKey'], group: 'ls-ci-tls' },
    { fields: [{ prop: 'tlsCa', control: 'textarea', monospace: true }], group: 'ls-ci-mtls' },
    { prop: 'maxMessageMiB', icon: 'arrows-v', width: '70px' },
    { prop: 'receiveWindowMiB', icon: 'exchange', width: '70px' },
    { fields: [{ prop: 'maxConnections', icon: 'plug', width: '70px' }, { prop: 'maxCallsPerConnection', width: '70px' }] },
    { prop: 'idleTimeoutS', icon: 'clock-o', width: '70px' },
    { fields: [{ prop: 'maxWaiting', icon: 'hourglass-half', width: '70px' }, { prop: 'releaseOn', width: '130px' }] },
    { prop: 'holdTimeoutS', width: '70px' },
  ],
  oneditprepare() {
    showGroupsBy('#node-input-tls', { '.ls-ci-tls': (tls) => tls !== 'none', '.ls-ci-mtls': (tls) => tls === 'mtls' });
  },
};
