// timescale-sink: writes Linesight contracts (or any message, through a column mapping) into TimescaleDB
// or plain PostgreSQL — batched, idempotent, and kept in memory or on disk while the database is away.
// The work is in write-pipeline.ts and its modules; this file maps it onto Node-RED.
import path from 'node:path';
import type { NodeAPI, NodeStatus } from 'node-red';
import { Backoff } from '../../lib/backoff';
import { defineNode, fmt, status } from '../kit/node-kit';
import { StatusThrottle } from '../kit/status-throttle';
import { useConfigNode } from '../kit/config-node';
import type { Database } from '../timescale-db';
import type { WriterState } from './batch-writer';
import { DiskSpool } from './spool';
import type { TimescaleSinkConfig } from './timescale-sink.schema';
import { WritePipeline } from './write-pipeline';

export = function register(RED: NodeAPI) {
  defineNode<TimescaleSinkConfig>(RED, { type: 'timescale-sink', configSchema: 'TimescaleSinkConfig' }, ({ node, config, label }) => {
    const { value: db } = useConfigNode<Database>(RED, config.db, { field: 'db', type: 'timescale-db', label, take: (n) => (n as { database?: Database }).database });

    let spool: DiskSpool | undefined;
    if (config.spool) {
      const userDir = (RED.settings as unknown as { userDir?: string }).userDir ?? process.cwd();
      const file = config.spoolFile || path.join(userDir, 'linesight', 'spool', `timescale-sink-${node.id.replace(/[^\w.-]/g, '_')}.db`);
      spool = new DiskSpool({ file, maxBytes: config.spoolMaxMB * 1024 * 1024 });
    }

    // The last status shown by the throttle; cleared when a connection status replaces it.
    let shown = '';
    let latest: (WriterState & { method?: string }) | undefined;
    const throttle = new StatusThrottle((s) => node.status(s));
    const direct = (s: NodeStatus) => {
      shown = '';
      node.status(s);
    };
    const compute = (): NodeStatus | undefined => {
      const s = latest!;
      const backlog = s.memoryRows + s.spooledRows;
      const failed = s.failed ? `, ${fmt(s.failed)} refused` : '';
      const st =
        s.phase === 'retrying'
          ? status.disconnected(`database unreachable: ${fmt(s.memoryRows)} rows in memory, ${fmt(s.spooledRows)} on disk; retrying`)
          : backlog > 0
            ? status.busy(`backlog ${fmt(backlog)}${s.spooledRows ? ` (${fmt(s.spooledRows)} on disk)` : ''}${failed}`)
            : s.failed
              ? status.failed(`${fmt(s.written)} rows written${failed}`)
              : status.ok(`${fmt(s.written)} rows written${s.method ? ` (${s.method})` : ''}`);
      const key = JSON.stringify(st);
      if (key === shown) return undefined;
      shown = key;
      return st;
    };

    let pipeline: WritePipeline;
    try {
      pipeline = new WritePipeline(
        db,
        config,
        {
          // Status at most four times a second while there is a backlog, whatever the message rate; the
          // moment everything is written it shows within 50 ms.
          state: (s) => {
            latest = s;
            const settled = s.memoryRows + s.spooledRows === 0 && s.phase !== 'retrying';
            throttle.update(compute, settled ? 50 : 250);
          },
          orphanError: (err) => node.error(err, { payload: null, spooled: true } as never),
          log: (text) => node.log(`${label}: ${text}`),
        },
        { spool },
      );
    } catch (err) {
      spool?.close();
      throw err;
    }
    db.acquire();
    direct(status.connecting(`connecting to ${db.target}`));
    // Prepare the tables now, and keep trying (backoff with jitter) while the database is away, so the
    // status turns green when it returns even if no message arrives meanwhile.
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    let closed = false;
    let readyTimer: NodeJS.Timeout | undefined;
    const prepare = () => {
      readyTimer = undefined;
      pipeline
        .ready()
        .then(() => {
          if (closed) return;
          pipeline.writer.kick();
          latest = pipeline.writer.state();
          throttle.update(compute, 0);
        })
        .catch((err: Error) => {
          if (closed) return;
          direct(status.disconnected(`database: ${err.message}`));
          if (backoff.attempts === 0) node.warn(`${label}: ${err.message}; rows wait and the sink retries`);
          readyTimer = setTimeout(prepare, backoff.next());
        });
    };
    prepare();
    if (spool && spool.rows > 0) node.log(`${label}: ${spool.rows} rows in the spool from an earlier run will be written`);

    return {
      input(msg, _send, done) {
        return pipeline.accept(msg as unknown as Record<string, unknown>, done);
      },
      async close() {
        closed = true;
        if (readyTimer) clearTimeout(readyTimer);
        try {
          await pipeline.close(config.closeGraceMs);
        } finally {
          throttle.stop();
          db.release();
          node.status(status.clear());
        }
      },
    };
  });
};
