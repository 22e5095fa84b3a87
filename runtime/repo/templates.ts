// Publishing flow templates to a repository through its API: reading a template from disk (a template
// folder, a manifest file or a bare flow file), creating the template on first publish, publishing its
// version. `linesight flows publish` and the demo both publish through here.
import fs from 'node:fs';
import path from 'node:path';
import { changelogFor, type ShippedTemplateManifest, type TemplateManifest } from '../../contracts/fleet/templates';
import type { VersionDocument } from '../../contracts/fleet/protocol';
import type { RepoTemplateCreate } from './api.schema';
import { RepoApiError, type RepoClient } from './client';

/** A template folder could not be read (a missing file, bad JSON): the caller's input, not the repository. */
export class TemplateSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSourceError';
  }
}

/** A template as read from disk: its manifest (none for a bare flow file, partial for a hand-written one) and its flow. */
export interface TemplateSource {
  manifest?: Partial<TemplateManifest>;
  flow: unknown[];
}

/** A shipped template: a full manifest and its flow (flows/<slug>/). */
export interface FlowTemplate {
  manifest: ShippedTemplateManifest;
  flow: Array<Record<string, unknown>>;
}

function readJson(file: string): unknown {
  if (!fs.existsSync(file)) throw new TemplateSourceError(`${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TemplateSourceError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads a template folder (manifest.json + flow.json), a manifest file (its flow in `flow`, in the file
 * `flowFile` names, or in flow.json beside it), or a flow JSON array on its own.
 */
export function readTemplateSource(fileOrFolder: string): TemplateSource {
  const file = fs.existsSync(fileOrFolder) && fs.statSync(fileOrFolder).isDirectory() ? path.join(fileOrFolder, 'manifest.json') : fileOrFolder;
  const content = readJson(file);
  if (Array.isArray(content)) return { flow: content };
  if (!content || typeof content !== 'object') throw new TemplateSourceError(`${file} holds neither a flow array nor a manifest object`);
  const manifest = content as Partial<TemplateManifest>;
  if (Array.isArray(manifest.flow)) return { manifest, flow: manifest.flow };
  const flowFile = path.resolve(path.dirname(file), manifest.flowFile ?? 'flow.json');
  if (!fs.existsSync(flowFile)) throw new TemplateSourceError(`${file}: a manifest needs "flow" (array), "flowFile", or a flow.json beside it`);
  return { manifest, flow: readJson(flowFile) as unknown[] };
}

/** The shipped template in `<folder>/<slug>/`. */
export function readTemplateFolder(folder: string): FlowTemplate {
  const { manifest, flow } = readTemplateSource(folder);
  if (!manifest) throw new TemplateSourceError(`${folder}: manifest.json holds a flow, not a manifest`);
  return { manifest: manifest as ShippedTemplateManifest, flow: flow as FlowTemplate['flow'] };
}

/** The template a manifest describes, as the repository creates it; undefined when it names no title and tier. */
export function templateCreateBody(manifest: Partial<TemplateManifest>, slug = manifest.slug): RepoTemplateCreate | undefined {
  if (!slug || !manifest.title || !manifest.tier) return undefined;
  return { slug, title: manifest.title, tier: manifest.tier, description: manifest.description, parameters: manifest.parameters, requiredNodes: manifest.requiredNodes };
}

export interface PublishOptions {
  /** The template to publish to (default: the manifest's slug). */
  slug: string;
  /** The version number (default: the manifest's version). */
  version: string;
  /** What changed (default: the manifest's changelog for this version). */
  changelog?: string;
  author?: string;
  /** When the version is already published: skip it (the demo starting again) or let the repository refuse it (409). */
  ifPublished?: 'skip' | 'refuse';
  /** Told as soon as the template is created, before its version is published. */
  onCreated?: (slug: string) => void;
}

export interface PublishResult {
  /** The template was created by this publish (its manifest brought title and tier). */
  created: boolean;
  /** The version document; undefined when the version was already published and skipped. */
  published?: VersionDocument;
}

/**
 * Creates the template on its first publish when the manifest describes it, then publishes the version.
 * The repository checks the flow (node types, parameters referenced = declared, the node-type policy).
 */
export async function publishTemplate(client: RepoClient, source: TemplateSource, opts: PublishOptions): Promise<PublishResult> {
  const { slug, version } = opts;
  const existing = await client.getTemplate(slug).catch((err) => (err instanceof RepoApiError && err.status === 404 ? undefined : Promise.reject(err)));
  let created = false;
  const body = source.manifest && templateCreateBody(source.manifest, slug);
  if (!existing && body) {
    await client.createTemplate(body);
    created = true;
    opts.onCreated?.(slug);
  }
  if (opts.ifPublished === 'skip' && existing?.versions.includes(version)) return { created };
  const changelog = opts.changelog ?? (source.manifest ? changelogFor(source.manifest, version) : undefined);
  const models = source.manifest?.models;
  const published = await client.publishVersion(slug, { version, flow: source.flow, changelog, author: opts.author, ...(models?.length ? { models } : {}) });
  return { created, published };
}
