// Templates and their versions: a template's parameter schema and required nodes, and versions published
// once, checked (flow, parameters, node-type policy), hashed and signed, never changed afterwards.
import Ajv from 'ajv';
import semver from 'semver';
import type { FieldProblem } from '../../../contracts/schemas';
import { canonicalJson, flowSha256, signFlow, type VersionDocument } from '../../../contracts/fleet/protocol';
import type { RepoTemplateCreate, RepoVersionPublish } from '../api.schema';
import type { Principal } from '../auth';
import { checkNodeTypePolicy, checkRequiredNodes, DEFAULT_NODE_TYPE_POLICY, type RepoNodeTypePolicy } from '../node-policy';
import { checkFlow, checkVersion, nodeTypesOf, versionKey } from '../publish-checks';
import { actorName, ApiError, iso, type Row, type StoreContext } from './context';

export interface TemplateView {
  slug: string;
  title: string;
  description: string | null;
  tier: string;
  parameters: Record<string, unknown>;
  requiredNodes: string[];
  versions: string[];
  latest: string | null;
  createdAt: string;
}

/** A published version as stored: the VersionDocument served to devices, plus the node types it uses. */
export type StoredVersion = VersionDocument & { nodeTypes: string[] };

/** A version in a template's list: everything but the flow. */
export type VersionSummary = Omit<VersionDocument, 'flow'>;

export interface TemplateStoreOptions {
  privateKeyPem: string;
  knownTypes: Set<string>;
  nodeTypePolicy?: RepoNodeTypePolicy;
}

/**
 * A template's parameter schema, compiled on an Ajv of its own: two schemas with the same `$id` (two
 * templates, or one template read twice) would otherwise collide in a shared instance ("schema with key or
 * id already exists"), and a shared instance keeps every schema it ever compiled.
 */
export function compileParameterSchema(schema: Record<string, unknown>) {
  return new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
}

export class TemplateStore {
  constructor(private readonly ctx: StoreContext, private readonly opts: TemplateStoreOptions) {}

  get nodeTypePolicy(): RepoNodeTypePolicy {
    return this.opts.nodeTypePolicy ?? DEFAULT_NODE_TYPE_POLICY;
  }

  /** 422 naming each node the node-type policy refuses, with the policy in the body. */
  policyRefusal(what: string, problems: FieldProblem[]): ApiError {
    return new ApiError(422, `${what} refused by the node-type policy`, problems, { policy: this.nodeTypePolicy });
  }

  async createTemplate(body: RepoTemplateCreate, actor: Principal): Promise<TemplateView> {
    const problems: FieldProblem[] = [];
    const params = body.parameters ?? { type: 'object', properties: {} };
    if (params.type !== undefined && params.type !== 'object') problems.push({ field: 'parameters.type', reason: 'must be "object"' });
    try {
      compileParameterSchema(params);
    } catch (err) {
      problems.push({ field: 'parameters', reason: `is not a valid JSON Schema (${(err as Error).message})` });
    }
    (body.requiredNodes ?? []).forEach((t, i) => {
      if (!this.opts.knownTypes.has(t)) problems.push({ field: `requiredNodes[${i}]`, reason: `unknown node type "${t}" (not in Node-RED core, the Linesight palette or Dashboard 2.0)` });
    });
    if (problems.length) throw new ApiError(422, 'template refused', problems);
    const refused = checkRequiredNodes(body.requiredNodes ?? [], body.tier, this.nodeTypePolicy);
    if (refused.length) throw this.policyRefusal(`template ${body.slug}`, refused);
    await this.ctx.db.tx(async (q) => {
      const exists = await q(`select 1 from ${this.ctx.s}.templates where slug = $1`, [body.slug]);
      if (exists.rowCount) throw new ApiError(409, `template ${body.slug} already exists`, [{ field: 'slug', reason: `"${body.slug}" is taken` }]);
      await q(
        `insert into ${this.ctx.s}.templates (slug, title, description, tier, parameters, required_nodes, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [body.slug, body.title, body.description ?? null, body.tier, JSON.stringify(params), JSON.stringify(body.requiredNodes ?? []), this.ctx.nowDate()],
      );
      await this.ctx.audit(q, actor, 'template.create', body.slug, { title: body.title, tier: body.tier });
    });
    return (await this.getTemplate(body.slug))!;
  }

  private templateView(r: Row, versions: string[]): TemplateView {
    return {
      slug: r.slug,
      title: r.title,
      description: r.description,
      tier: r.tier,
      parameters: r.parameters,
      requiredNodes: r.required_nodes,
      versions,
      latest: versions.length ? versions[versions.length - 1]! : null,
      createdAt: iso(r.created_at)!,
    };
  }

  async listTemplates(): Promise<TemplateView[]> {
    const t = await this.ctx.db.query(`select * from ${this.ctx.s}.templates order by slug`);
    const v = await this.ctx.db.query(`select template, version from ${this.ctx.s}.versions order by created_at, version`);
    return t.rows.map((r) => this.templateView(r, v.rows.filter((x) => x.template === r.slug).map((x) => x.version)));
  }

  async getTemplate(slug: string): Promise<TemplateView | undefined> {
    const t = await this.ctx.db.query(`select * from ${this.ctx.s}.templates where slug = $1`, [slug]);
    if (!t.rows[0]) return undefined;
    const v = await this.ctx.db.query(`select version from ${this.ctx.s}.versions where template = $1 order by created_at, version`, [slug]);
    return this.templateView(t.rows[0], v.rows.map((x) => x.version));
  }

  async publishVersion(slug: string, body: RepoVersionPublish, actor: Principal): Promise<StoredVersion> {
    const template = await this.getTemplate(slug);
    if (!template) throw new ApiError(404, `no template ${slug}`);
    const versionProblems = checkVersion(body.version, template.versions);
    // A valid version refused is a duplicate (equal by semver precedence): a conflict, whatever the flow.
    if (versionProblems.length && semver.valid(body.version)) throw new ApiError(409, `version ${slug}@${body.version} refused`, versionProblems);
    const problems = [...versionProblems, ...checkFlow(body.flow, { knownTypes: this.opts.knownTypes, parameterSchema: template.parameters })];
    if (problems.length) throw new ApiError(422, `version ${slug}@${body.version} refused`, problems);
    const refused = checkNodeTypePolicy(body.flow, template.tier, this.nodeTypePolicy);
    if (refused.length) throw this.policyRefusal(`version ${slug}@${body.version}`, refused);
    const sha256 = flowSha256(body.flow);
    const signature = signFlow(body.flow, this.opts.privateKeyPem);
    const author = body.author ?? actorName(actor);
    await this.ctx.db.tx(async (q) => {
      // The unique (template, version_key) index settles a race between publishers of versions equal by
      // semver precedence (2.0.0 and 2.0.0+b1), on every replica.
      const r = await q(
        `insert into ${this.ctx.s}.versions (template, version, version_key, flow_json, sha256, signature, node_types, changelog, author, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
        [slug, body.version, versionKey(body.version), canonicalJson(body.flow), sha256, signature, JSON.stringify(nodeTypesOf(body.flow)), body.changelog ?? null, author, this.ctx.nowDate()],
      );
      if (!r.rowCount) throw new ApiError(409, `version ${slug}@${body.version} refused`, [{ field: 'version', reason: `${body.version} is already published; published versions never change` }]);
      await q(`update ${this.ctx.s}.templates set updated_at = $2 where slug = $1`, [slug, this.ctx.nowDate()]);
      await this.ctx.audit(q, actor, 'version.publish', `${slug}@${body.version}`, { sha256, changelog: body.changelog ?? null });
    });
    return (await this.getVersion(slug, body.version))!;
  }

  async getVersion(slug: string, version: string): Promise<StoredVersion | undefined> {
    const r = await this.ctx.db.query(`select * from ${this.ctx.s}.versions where template = $1 and version = $2`, [slug, version]);
    const v = r.rows[0];
    if (!v) return undefined;
    return {
      template: v.template as string,
      version: v.version as string,
      flow: JSON.parse(v.flow_json) as unknown[],
      sha256: v.sha256 as string,
      signature: v.signature as string,
      nodeTypes: v.node_types as string[],
      changelog: (v.changelog ?? undefined) as string | undefined,
      author: (v.author ?? undefined) as string | undefined,
      createdAt: iso(v.created_at)!,
    };
  }

  async listVersions(slug: string): Promise<VersionSummary[]> {
    const r = await this.ctx.db.query(`select template, version, sha256, signature, changelog, author, created_at from ${this.ctx.s}.versions where template = $1 order by created_at, version`, [slug]);
    return r.rows.map((v) => ({ template: v.template, version: v.version, sha256: v.sha256, signature: v.signature, changelog: v.changelog ?? undefined, author: v.author ?? undefined, createdAt: iso(v.created_at)! }));
  }
}
