// Child process for bench/repo-fleet.bench.ts: the baseline poll server, a bare Express app answering
// GET /api/v1/devices/:id/desired with one indexed token lookup, then 304 or the state the repository
// signed (read from a file). A process of its own, like the repository it is compared with.
// Arguments: <postgres url> <schema> <states.json: {id: {etag, body}}>; prints its URL when listening.
import express from 'express';
import fs from 'node:fs';
import pg from 'pg';
import { hashToken, type DesiredState } from '../contracts/fleet/protocol';

const [dbUrl, schema, statesFile] = process.argv.slice(2) as [string, string, string];
const states = new Map(Object.entries(JSON.parse(fs.readFileSync(statesFile, 'utf8')) as Record<string, { etag: string; body: DesiredState }>));
const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
pool.on('error', () => {});
const app = express();
app.set('etag', false);
app.get('/api/v1/devices/:id/desired', async (req, res) => {
  const r = await pool.query(`select id from "${schema}".devices where token_hash = $1`, [hashToken(String(req.headers.authorization).slice(7))]);
  if (r.rows[0]?.id !== req.params.id) return res.status(403).end();
  const s = states.get(req.params.id)!;
  res.set('ETag', s.etag);
  if (req.headers['if-none-match'] === s.etag) return res.status(304).end();
  res.json(s.body);
});
const server = app.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
