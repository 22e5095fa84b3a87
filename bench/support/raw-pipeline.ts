// The raw baseline of the scale benchmarks: one mqtt.js subscriber (QoS 1, acknowledged on receipt),
// rows made by hand, and every 200 ms or 5,000 rows COPY into a staging table and INSERT ... ON CONFLICT
// DO NOTHING into the same tables the sink writes (its migration, no rollups). Nothing else.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mqtt from 'mqtt';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Inspection } from '../../contracts/messages';
import { fromWire } from '../../nodes/cloud-bridge/wire-format';
import { migrate, partitionSQL } from '../../nodes/timescale-sink/db-schema';
import { CONTRACT_TABLES } from '../../nodes/timescale-sink/row-mapper';
import { addReceivedAt, withClient } from '../../test/support/scale';

export function copyText(rows: unknown[][]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '\\N' : Buffer.isBuffer(v) ? `\\\\x${v.toString('hex')}` : String(v).replace(/[\\\t\n]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\')));
  return rows.map((r) => r.map(cell).join('\t')).join('\n') + '\n';
}

export const COLS = {
  inspections: CONTRACT_TABLES.inspections.columns.map((c) => c.name),
  detections: CONTRACT_TABLES.detections.columns.map((c) => c.name),
  images: CONTRACT_TABLES.images.columns.map((c) => c.name),
};

export function rowsOf(i: Inspection & { site: string; line: string }) {
  const t = new Date(i.capturedAt).toISOString();
  const data = Buffer.from(i.image!.data as unknown as string, 'base64');
  return {
    inspections: [[t, i.inspectionId, i.site, i.line, i.cameraId, i.productSerial, i.modelVersion, i.detections.length, null]],
    detections: i.detections.map((d, idx) => [t, i.inspectionId, idx, i.site, i.line, i.cameraId, i.productSerial, d.defectClass, d.confidence, d.box?.x, d.box?.y, d.box?.width, d.box?.height, i.modelVersion]),
    images: [[t, i.inspectionId, 'thumbnail', 'jpeg', i.image!.width, i.image!.height, data.length, data, null]],
  };
}

export class RawPipeline {
  private pending: Record<keyof typeof COLS, unknown[][]> = { inspections: [], detections: [], images: [] };
  private writing = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private client?: mqtt.MqttClient;
  constructor(
    private readonly db: Client,
    private readonly schema: string,
    private readonly mqttUrl: string,
  ) {}

  /** @param uplinkPrefix when set, every message is also published there (QoS 1), as the factory's cloud-bridge does. */
  async start(prefix: string, uplinkPrefix?: string): Promise<void> {
    this.client = await mqtt.connectAsync(this.mqttUrl, { protocolVersion: 5, clientId: `ls-raw-${prefix.replace(/\W/g, '')}`, properties: { receiveMaximum: 10000 } });
    this.client.on('message', (topic, payload, packet) => {
      if (uplinkPrefix) this.client!.publish(`${uplinkPrefix}${topic.slice(prefix.length)}`, payload, { qos: 1, properties: packet.properties });
      const d = fromWire(payload, packet.properties as never);
      const rows = rowsOf(d.value as Inspection & { site: string; line: string });
      for (const k of Object.keys(COLS) as Array<keyof typeof COLS>) for (const r of rows[k]) this.pending[k].push(r);
      if (this.pending.detections.length >= 5000) this.flush();
    });
    await this.client.subscribeAsync(`${prefix}/+/+/inspection`, { qos: 1 });
    this.timer = setInterval(() => this.flush(), 200);
  }

  private flush(): void {
    if (this.pending.inspections.length === 0) return;
    const batch = this.pending;
    this.pending = { inspections: [], detections: [], images: [] };
    this.writing = this.writing.then(() => this.write(batch));
  }

  async write(batch: Record<keyof typeof COLS, unknown[][]>): Promise<void> {
    const c = this.db;
    await c.query('begin');
    for (const table of Object.keys(COLS) as Array<keyof typeof COLS>) {
      const cols = COLS[table].map((n) => `"${n}"`).join(', ');
      await c.query(`create temp table stage_${table} (like "${this.schema}"."${table}" including defaults) on commit drop`);
      await pipeline(Readable.from([copyText(batch[table])]), c.query(copyFrom(`copy stage_${table} (${cols}) from stdin`)));
      await c.query(`insert into "${this.schema}"."${table}" (${cols}) select ${cols} from stage_${table} on conflict do nothing`);
    }
    await c.query('commit');
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.writing;
    await this.client?.endAsync();
  }
}

export async function rawTables(pgUrl: string, schema: string): Promise<void> {
  await withClient(pgUrl, async (c) => {
    await migrate(c, { schema, tables: [CONTRACT_TABLES.inspections, CONTRACT_TABLES.detections, CONTRACT_TABLES.images], rollups: false, partitionDaysAhead: 1 });
    for (const t of ['inspections', 'detections', 'images']) await c.query(partitionSQL(schema, t, Date.now())).catch(() => undefined);
  });
  await addReceivedAt(pgUrl, schema);
}
