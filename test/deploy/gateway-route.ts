import type { Routed } from './ingress.js';

/**
 * Evaluates a Gateway API HTTPRoute the way the specification orders
 * matches (an exact path first, then the longest path prefix, then a match
 * that names the method, then the most header matches; rule order only
 * breaks the remaining ties), and
 * applies its URLRewrite and RequestHeaderModifier filters, for the
 * manifest tests. Gives the same shape as the VirtualService evaluator
 * (ingress.ts), so one set of routing checks covers both variants.
 */

interface PathMatch {
  type?: 'Exact' | 'PathPrefix' | 'RegularExpression';
  value?: string;
}

interface HeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

interface RouteMatch {
  method?: string;
  path?: PathMatch;
  headers?: HeaderMatch[];
  queryParams?: unknown[];
}

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

interface Filter {
  type: string;
  urlRewrite?: {
    hostname?: string;
    path?: { type: 'ReplacePrefixMatch' | 'ReplaceFullPath'; replacePrefixMatch?: string; replaceFullPath?: string };
  };
  requestHeaderModifier?: { set?: { name: string; value: string }[]; add?: { name: string; value: string }[] };
}

export interface HTTPRouteRule {
  name?: string;
  matches?: RouteMatch[];
  filters?: Filter[];
  backendRefs?: BackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: unknown;
}

export interface HTTPRouteSpec {
  parentRefs?: { group?: string; kind?: string; name: string; namespace?: string; sectionName?: string }[];
  hostnames?: string[];
  rules: HTTPRouteRule[];
}

/** The request path after the matched prefix, on path-element boundaries ("/abc" matches "/abc" and "/abc/x", not "/abcd"). */
function prefixRest(prefix: string, path: string): string | undefined {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') return path;
  if (path === p) return '';
  if (path.startsWith(`${p}/`)) return path.slice(p.length);
  return undefined;
}

function pathMatches(m: PathMatch | undefined, path: string): boolean {
  const type = m?.type ?? 'PathPrefix';
  const value = m?.value ?? '/';
  if (type === 'Exact') return path === value;
  if (type === 'PathPrefix') return prefixRest(value, path) !== undefined;
  throw new Error(`path match ${type}: not portable across Gateway API implementations, not evaluated here`);
}

/** Header names are case-insensitive, values compared exactly (Core). */
function headersMatch(matches: HeaderMatch[] | undefined, headers: Record<string, string>): boolean {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (matches ?? []).every((h) => {
    if ((h.type ?? 'Exact') !== 'Exact') throw new Error(`header match ${h.type}: not portable, not evaluated here`);
    return lower.get(h.name.toLowerCase()) === h.value;
  });
}

/** Higher sorts first: exact over prefix, longer prefix over shorter, a method match over none, more header matches over fewer. */
function precedence(m: RouteMatch): [number, number, number, number] {
  return [m.path?.type === 'Exact' ? 1 : 0, (m.path?.value ?? '/').length, m.method ? 1 : 0, m.headers?.length ?? 0];
}

function seconds(duration: string | undefined): number | undefined {
  if (!duration) return undefined;
  const m = /^(\d+)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new Error(`duration ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 's'];
}

/** Where `method path` (with the request's `headers`) goes, or undefined when no rule takes it (the gateway answers 404). */
export function routeHttpRoute(
  spec: HTTPRouteSpec,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Routed | undefined {
  const candidates = spec.rules.flatMap((rule, index) =>
    (rule.matches ?? [{}])
      .filter((m) => (!m.method || m.method === method) && pathMatches(m.path, path) && headersMatch(m.headers, headers))
      .map((match) => ({ rule, match, index })),
  );
  if (candidates.length === 0) return undefined;
  candidates.sort((a, b) => {
    const [pa, pb] = [precedence(a.match), precedence(b.match)];
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pb[i]! - pa[i]!;
    return a.index - b.index;
  });
  const { rule, match } = candidates[0]!;
  const rewrite = rule.filters?.find((f) => f.type === 'URLRewrite')?.urlRewrite;
  let rewritten = path;
  if (rewrite?.path?.type === 'ReplaceFullPath') rewritten = rewrite.path.replaceFullPath!;
  else if (rewrite?.path?.type === 'ReplacePrefixMatch') {
    if (match.path?.type !== 'PathPrefix') throw new Error(`${rule.name}: ReplacePrefixMatch needs a PathPrefix match`);
    const rest = prefixRest(match.path.value!, path)!;
    const replacement = rewrite.path.replacePrefixMatch!.replace(/\/+$/, '');
    rewritten = replacement === '' ? rest || '/' : `${replacement}${rest}`;
  }
  const modifier = rule.filters?.find((f) => f.type === 'RequestHeaderModifier')?.requestHeaderModifier;
  const backend = rule.backendRefs?.[0];
  return {
    rule: rule.name ?? '',
    authority: rewrite?.hostname,
    path: rewritten,
    headers: Object.fromEntries([...(modifier?.add ?? []), ...(modifier?.set ?? [])].map((h) => [h.name, h.value])),
    destination: backend ? `${backend.name}.${backend.namespace ?? ''}` : '',
    timeoutSeconds: seconds(rule.timeouts?.request),
    retryOn: rule.retry ? 'retry' : undefined,
  };
}
