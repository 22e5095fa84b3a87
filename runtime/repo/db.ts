// The repository's database: a pg Pool and versioned plain-SQL migrations. Every table lives in one
// configurable schema (default `linesight_repo`), always named explicitly, because embedded PGlite shares
// one session between all connections so `search_path` cannot be trusted to stay put.
import pg from 'pg';

export interface RepoDb {
  pool: pg.Pool;
  /** The quoted schema name, e.g. `"linesight_repo"`, to prefix table names with. */
  s: string;
  schema: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * For device check-ins only (`last_seen`, written on a poll): its commits do not wait for the disk
   * (synchronous_commit off), so a poll is not an fsync. A crash may lose the last check-ins, nothing else.
   */
  checkInQuery: RepoDb['query'];
  /** Runs `fn` inside one transaction on one connection. */
  tx<T>(fn: (q: RepoDb['query']) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  url: string;
  schema?: string;
  /** Connections in the pool; embedded PGlite serialises everything, so 1 there keeps transactions apart. */
  poolSize?: number;
  /** Connections for check-ins (see RepoDb.checkInQuery); 0 = check in on the main pool (embedded PGlite). */
  checkInPoolSize?: number;
  onError?: (err: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Versioned migrations: append only, never edit one that has shipped. `{s}` is the quoted schema. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'templates, versions, devices, deployments, audit',
    sql: `
create table {s}.admin_tokens (
  id text primary key,
  name text not null,
  token_hash text not null unique,
  created_at timestamptz not null default now()
);
create table {s}.templates (
  slug text primary key,
  title text not null,
  description text,
  tier text not null,
  parameters jsonb not null default '{}'::jsonb,
  required_nodes jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create table {s}.versions (
  template text not null references {s}.templates(slug),
  version text not null,
  flow_json text not null,
  sha256 text not null,
  signature text not null,
  node_types jsonb not null default '[]'::jsonb,
  changelog text,
  author text,
  created_at timestamptz not null default now(),
  primary key (template, version)
);
create function {s}.versions_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'published versions are immutable (% %)', old.template, old.version;
end $$;
create trigger versions_immutable before update or delete on {s}.versions
  for each row execute function {s}.versions_immutable();
create table {s}.devices (
  id text primary key,
  tier text not null,
  labels jsonb not null default '{}'::jsonb,
  parameters jsonb not null default '{}'::jsonb,
  token_hash text not null unique,
  poll_interval_s integer not null default 30,
  last_seen timestamptz,
  reported_state text,
  running text,
  running_sha256 text,
  reasons jsonb not null default '[]'::jsonb,
  desired_template text,
  desired_version text,
  desired_deployment text,
  created_at timestamptz not null default now()
);
create table {s}.deployments (
  id text primary key,
  template text not null,
  version text not null,
  target jsonb not null,
  strategy text not null,
  canary integer not null default 1,
  wave_size integer not null default 0,
  gate jsonb,
  state text not null,
  reason text,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (template, version) references {s}.versions(template, version)
);
create table {s}.deployment_devices (
  deployment_id text not null references {s}.deployments(id),
  device_id text not null references {s}.devices(id),
  wave integer not null,
  state text not null,
  previous_template text,
  previous_version text,
  reasons jsonb not null default '[]'::jsonb,
  updated_at timestamptz not null default now(),
  primary key (deployment_id, device_id)
);
create table {s}.audit (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  subject text not null,
  detail jsonb not null default '{}'::jsonb
);
`,
  },
  {
    version: 2,
    name: 'signed desired state: a generation per device; which deployment rows were released',
    sql: `
alter table {s}.devices add column desired_generation bigint not null default 0;
alter table {s}.deployment_devices add column released_at timestamptz;
update {s}.deployment_devices set released_at = updated_at where state not in ('queued', 'superseded');
`,
  },
  {
    // Migrations are append only: a new one takes the next number.
    version: 3,
    name: 'devices.degraded: a running device whose nodes have problems',
    sql: `alter table {s}.devices add column if not exists degraded boolean not null default false;`,
  },
  {
    version: 4,
    name: 'versions equal by semver precedence are one version',
    // Twins published before this (2.0.0 and 2.0.0+b1) stay readable; the earliest of each holds the key,
    // so every later twin is refused. Updating the key is the one write ever made to a version row.
    sql: `
alter table {s}.versions add column version_key text;
alter table {s}.versions disable trigger versions_immutable;
update {s}.versions v set version_key = k.key
  from (select template, version, regexp_replace(version, '\\+.*$', '') as key,
               row_number() over (partition by template, regexp_replace(version, '\\+.*$', '') order by created_at, version) as n
          from {s}.versions) k
 where k.template = v.template and k.version = v.version and k.n = 1;
alter table {s}.versions enable trigger versions_immutable;
create unique index versions_template_version_key on {s}.versions (template, version_key);
`,
  },
  {
    version: 5,
    name: 'people: users with roles, sessions, failed logins; API tokens carry a role and an owner',
    // Tokens from before were all admin tokens without an owner: each becomes the token of a pipeline named
    // like the token, so the audit log can still name it.
    sql: `
create table {s}.users (
  name text primary key,
  password_hash text not null,
  role text not null check (role in ('viewer', 'deployer', 'admin')),
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_login_at timestamptz
);
create table {s}.sessions (
  id_hash text primary key,
  user_name text not null references {s}.users(name),
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null
);
create index sessions_user on {s}.sessions (user_name);
create table {s}.login_failures (
  scope text not null,
  key text not null,
  at timestamptz not null
);
create index login_failures_key on {s}.login_failures (scope, key, at);
alter table {s}.admin_tokens add column role text not null default 'admin' check (role in ('viewer', 'deployer', 'admin'));
alter table {s}.admin_tokens add column owner_user text references {s}.users(name);
alter table {s}.admin_tokens add column owner_pipeline text;
update {s}.admin_tokens set owner_pipeline = name where owner_user is null;
alter table {s}.admin_tokens add constraint admin_tokens_one_owner check ((owner_user is null) <> (owner_pipeline is null));
`,
  },
  {
    version: 6,
    name: 'remote logs and health samples of every device, a bounded window each',
    // No foreign keys to devices: a batch of 500 lines would check the device 500 times; the device
    // token that posts them already proves the device exists. Pruned by primary key range on insert.
    sql: `
create table {s}.device_telemetry (
  device_id text primary key,
  log_seq bigint not null default 0,
  logs_dropped bigint not null default 0,
  health_seq bigint not null default 0,
  summary jsonb,
  updated_at timestamptz not null default now()
);
create table {s}.device_log_lines (
  device_id text not null,
  seq bigint not null,
  ts bigint not null,
  level smallint not null,
  msg text not null,
  node_id text,
  node_type text,
  node_name text,
  primary key (device_id, seq)
);
create table {s}.device_health_samples (
  device_id text not null,
  seq bigint not null,
  ts bigint not null,
  cpu_percent double precision not null,
  rss_bytes bigint not null,
  sample jsonb not null,
  primary key (device_id, seq)
);
create index device_health_samples_ts on {s}.device_health_samples (device_id, ts);
`,
  },
  {
    version: 7,
    name: 'model registry: models, immutable signed versions, resumable uploads; models in versions, deployments and devices',
    sql: `
create table {s}.model_versions (
  name text not null,
  version text not null,
  version_key text not null,
  format text not null,
  sha256 text not null,
  bytes bigint not null,
  metadata jsonb not null default '{}'::jsonb,
  signature text not null,
  changelog text,
  publisher text not null,
  created_at timestamptz not null default now(),
  primary key (name, version)
);
create unique index model_versions_name_version_key on {s}.model_versions (name, version_key);
create function {s}.model_versions_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'published model versions are immutable (% %)', old.name, old.version;
end $$;
create trigger model_versions_immutable before update or delete on {s}.model_versions
  for each row execute function {s}.model_versions_immutable();
create table {s}.model_uploads (
  id text primary key,
  name text not null,
  version text not null,
  format text not null,
  sha256 text not null,
  bytes bigint not null,
  metadata jsonb not null default '{}'::jsonb,
  changelog text,
  publisher text not null,
  created_at timestamptz not null default now()
);
alter table {s}.versions add column models jsonb;
alter table {s}.deployments add column models jsonb;
alter table {s}.deployment_devices add column previous_models jsonb;
alter table {s}.devices add column desired_models jsonb;
alter table {s}.devices add column running_models jsonb;
`,
  },
  {
    // 5-7 are taken by other work of this sitting; replicas need 8 (issue #20).
    version: 8,
    name: 'replicas: which desired-state generation of a device was published, and who is publishing one now; deployment rows by device',
    // A replica claims a generation (publish_claim_*) before it publishes it and records it as published
    // after the broker's PUBACK: two replicas never publish the same generation, and a claim left by a
    // replica that died is taken over once it is older than the lease. States published before this are
    // published once more (published_generation starts at 0). Releasing a wave of a 1,000-device fleet
    // looks up each device's other deployments: by index, not by scanning every deployment's rows.
    sql: `
alter table {s}.devices add column published_generation bigint not null default 0;
alter table {s}.devices add column publish_claim_generation bigint;
alter table {s}.devices add column publish_claimed_at timestamptz;
create index devices_unpublished on {s}.devices (id) where desired_generation > published_generation;
create index deployment_devices_device on {s}.deployment_devices (device_id);
`,
  },
  {
    version: 9,
    name: 'remote editing per device, support bundles uploaded through the editor tunnel',
    // remote_editing: {enabled, idleMinutes, since, by} while on, null when off; it travels in the desired state.
    sql: `
alter table {s}.devices add column remote_editing jsonb;
create table {s}.support_bundles (
  id text primary key,
  device_id text not null,
  created_at timestamptz not null default now(),
  created_by text not null,
  bundle jsonb not null
);
create index support_bundles_device on {s}.support_bundles (device_id, created_at);
`,
  },
];

export async function openDatabase(opts: OpenDbOptions): Promise<RepoDb> {
  const schema = opts.schema ?? 'linesight_repo';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`schema "${schema}" is not a plain lower-case identifier`);
  const s = `"${schema}"`;
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', (err) => opts.onError?.(err));
  const query: RepoDb['query'] = (sql, params) => pool.query(sql, params as unknown[]);
  const checkInPool = opts.checkInPoolSize ? new pg.Pool({ connectionString: opts.url, max: opts.checkInPoolSize, options: '-c synchronous_commit=off' }) : undefined;
  checkInPool?.on('error', (err) => opts.onError?.(err));
  const db: RepoDb = {
    pool,
    s,
    schema,
    query,
    checkInQuery: checkInPool ? (sql, params) => checkInPool.query(sql, params as unknown[]) : query,
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const out = await fn((sql, params) => client.query(sql, params as unknown[]));
        await client.query('commit');
        return out;
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: async () => {
      await checkInPool?.end();
      await pool.end();
    },
  };
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

/**
 * Holds a PostgreSQL advisory lock named `linesight-repo-<what>:<schema>` until the transaction `q` runs in
 * ends: one holder at a time across every replica using the schema.
 */
export async function advisoryXactLock(q: RepoDb['query'], what: string, schema: string): Promise<void> {
  await q('select pg_advisory_xact_lock(hashtext($1))', [`linesight-repo-${what}:${schema}`]);
}

/** Applies every migration not yet recorded, each in its own transaction, under a lock so replicas agree. */
export async function migrate(db: RepoDb): Promise<number[]> {
  const { s } = db;
  // Two replicas running `create ... if not exists` at the same moment can both try to create (a unique
  // violation in pg_type): the bootstrap runs under a transaction-scoped advisory lock.
  await db.tx(async (q) => {
    await advisoryXactLock(q, 'migrate', db.schema);
    await q(`create schema if not exists ${s}`);
    await q(`create table if not exists ${s}.schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`);
  });
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const done = await db.tx(async (q) => {
      await q(`lock table ${s}.schema_migrations in exclusive mode`);
      const r = await q(`select 1 from ${s}.schema_migrations where version = $1`, [m.version]);
      if (r.rowCount) return false;
      await q(m.sql.replaceAll('{s}', s));
      await q(`insert into ${s}.schema_migrations (version, name) values ($1, $2)`, [m.version, m.name]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
