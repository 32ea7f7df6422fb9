// A thin JSON client for the Kubernetes API: client-node's KubeConfig does authentication (token
// files, client certificates, exec plugins, the in-cluster service account) exactly as its Watch
// does, and we speak plain JSON on top. The generated typed APIs are not used: they turn objects into
// model classes (timestamps become Dates, unknown fields of custom resources are dropped), and
// the control plane wants the objects the apiserver sent, as the files source gives them.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { McpmuxError } from '../../shared/errors.ts';

/** An error answer of the apiserver, with its HTTP status and the Status object's reason. */
export class KubeApiError extends Error {
  readonly status: number;
  /** NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Expired, ...; "" when the body said none. */
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super(`${method} ${path}: ${status}${reason ? ` ${reason}` : ''}: ${message}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  patch?: PatchType;
  signal?: AbortSignal;
}

export interface KubeClientOptions {
  /** A path to a kubeconfig file; otherwise KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfig?: string;
  /** A context of that kubeconfig other than its current one. */
  context?: string;
}

/** A KubeConfig from a file, or client-node's default search (KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(options: KubeClientOptions = {}): KubeConfig {
  const config = new KubeConfig();
  try {
    if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new McpmuxError('MCPMUX_USAGE', `cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${(error as Error).message}`);
  }
  if (options.context) {
    if (!config.getContextObject(options.context)) {
      throw new McpmuxError('MCPMUX_USAGE', `kubeconfig has no context "${options.context}" (has: ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster()) throw new McpmuxError('MCPMUX_USAGE', 'kubeconfig names no cluster for its current context');
  return config;
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly server: string;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new McpmuxError('MCPMUX_USAGE', 'kubeconfig names no cluster for its current context');
    this.config = config;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** The parsed JSON answer; a KubeApiError for any status other than 2xx. */
  async request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const context = new RequestContext(url.toString(), HttpMethod[method]);
    await this.config.applySecurityAuthentication(context);
    const headers = context.getHeaders() as Record<string, string>;
    headers.accept = 'application/json';
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = options.patch ? PATCH_CONTENT_TYPES[options.patch] : 'application/json';
      body = JSON.stringify(options.body);
    }
    const dispatcher: Dispatcher | undefined = context.getDispatcher();
    const response = await fetch(url, { method, headers, body, dispatcher, signal: options.signal });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300) {
      const status = parseStatus(text);
      throw new KubeApiError(method, path, response.status, status.reason, status.message || text.slice(0, 300) || response.statusText);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function parseStatus(text: string): { reason: string; message: string } {
  try {
    const value = JSON.parse(text) as { reason?: unknown; message?: unknown };
    return { reason: typeof value.reason === 'string' ? value.reason : '', message: typeof value.message === 'string' ? value.message : '' };
  } catch {
    return { reason: '', message: '' };
  }
}

/** Whether the apiserver said the object (or its resource type: a CRD not installed) does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

/** Whether a write lost a race: the object changed since it was read, or exists already. */
export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}
