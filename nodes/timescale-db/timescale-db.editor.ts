// The timescale-db config form; defaults and checks come from TimescaleDbConfig.
import { nameRow } from '../kit/editor/components';
import type { NodeEditor } from '../kit/editor/node-editor';
import { showGroupsBy } from '../kit/editor/red';

export const editor: NodeEditor = {
  type: 'timescale-db',
  category: 'config',
  credentials: { password: { type: 'password' } },
  label() {
    if (this.name) return this.name as string;
    if (this.url) return (this.url as string).replace(/\/\/([^:@/]+):[^@/]*@/, '//$1@');
    return `${(this.user as string) || 'postgres'}@${(this.host as string) || '127.0.0.1'}:${(this.port as string) || 5432}/${(this.database as string) || 'postgres'}`;
  },
  rows: [
    nameRow,
    { prop: 'url', icon: 'link' },
    { fields: [{ prop: 'host', icon: 'server', width: '40%' }, { prop: 'port', width: '70px' }] },
    { prop: 'database', icon: 'database' },
    { prop: 'user', icon: 'user' },
    { prop: 'password', icon: 'lock' },
    { prop: 'tls', icon: 'shield' },
    { fields: [{ prop: 'caFile', icon: 'certificate' }], group: 'ls-tsdb-ca' },
    { prop: 'schema', icon: 'folder-o' },
    { fields: [{ prop: 'poolSize', icon: 'sitemap', width: '70px' }, { prop: 'connectTimeoutMs', width: '80px' }] },
  ],
  oneditprepare() {
    showGroupsBy('#node-config-input-tls', { '.ls-tsdb-ca': (tls) => tls === 'verify-full' });
  },
};
