// The cloud-broker config form; defaults and checks come from CloudBrokerConfig.
import { credentialRows, nameRow, tlsFileRows } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';

export const editor: NodeEditor = {
  type: 'cloud-broker',
  category: 'config',
  credentials: { user: { type: 'text' }, password: { type: 'password' }, passphrase: { type: 'password' } },
  label() {
    return (this.name as string) || (this.url as string);
  },
  rows: [
    nameRow,
    { prop: 'url', icon: 'globe' },
    { prop: 'protocolVersion', options: [5, 4] },
    'clientId',
    ...credentialRows(),
    { prop: 'keepalive', width: '80px' },
    { fields: [{ prop: 'cleanStart' }, { prop: 'sessionExpiry', width: '80px' }] },
    { prop: 'receiveMaximum', width: '80px' },
    ...tlsFileRows(['caFile', 'certFile', 'keyFile']),
    'passphrase',
    'rejectUnauthorized',
    { prop: 'connectTimeoutMs', width: '80px' },
    { prop: 'maxReconnectMs', width: '80px' },
  ],
};
