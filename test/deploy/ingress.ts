/**
 * Evaluates an Istio VirtualService's http rules the way the gateway does
 * (first rule whose match list has a matching entry wins; within one entry
 * every condition must hold; regexes match the whole path, without the query)
 * for the manifest tests.
 */

interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

interface HttpRoute {
  name?: string;
  match?: { method?: StringMatch; uri?: StringMatch; headers?: Record<string, StringMatch> }[];
  rewrite?: { uri?: string; uriRegexRewrite?: { match: string; rewrite: string }; authority?: string };
  headers?: { request?: { set?: Record<string, string>; add?: Record<string, string> } };
  timeout?: string;
  retries?: { attempts?: number; retryOn?: string };
  route?: { destination: { host: string; port?: { number: number } } }[];
}

export interface VirtualServiceSpec {
  hosts: string[];
  gateways?: string[];
  http: HttpRoute[];
}

export interface Routed {
  rule: string;
  /** Host header the request leaves with (the Knative Service's cluster-local name). */
  authority: string | undefined;
  /** Path after the rewrite. */
  path: string;
  headers: Record<string, string>;
  destination: string;
  timeoutSeconds: number | undefined;
  retryOn: string | undefined;
}

function matches(m: StringMatch | undefined, value: string): boolean {
  if (!m) return true;
  if (m.exact !== undefined) return value === m.exact;
  if (m.prefix !== undefined) return value.startsWith(m.prefix);
  // Envoy's safe_regex (RE2) must match the whole value.
  if (m.regex !== undefined) return new RegExp(`^(?:${m.regex})$`).test(value);
  return true;
}

/** Where `method path` (with the request's `headers`) goes, or undefined when no rule takes it (the gateway answers 404). */
export function routeRequest(
  vs: VirtualServiceSpec,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Routed | undefined {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  for (const rule of vs.http) {
    const hit = (rule.match ?? [{}]).some(
      (m) =>
        matches(m.method, method) &&
        matches(m.uri, path) &&
        Object.entries(m.headers ?? {}).every(
          ([name, match]) => lower.has(name.toLowerCase()) && matches(match, lower.get(name.toLowerCase())!),
        ),
    );
    if (!hit) continue;
    let rewritten = path;
    const rr = rule.rewrite?.uriRegexRewrite;
    // RE2 rewrite substitutions (\1) are not used here; a literal replacement is.
    if (rr) rewritten = path.replace(new RegExp(rr.match), rr.rewrite);
    else if (rule.rewrite?.uri !== undefined) {
      const prefix = rule.match?.find((m) => m.uri?.prefix !== undefined)?.uri?.prefix;
      rewritten = prefix !== undefined ? rule.rewrite.uri + path.slice(prefix.length) : rule.rewrite.uri;
    }
    return {
      rule: rule.name ?? '',
      authority: rule.rewrite?.authority,
      path: rewritten,
      headers: { ...rule.headers?.request?.add, ...rule.headers?.request?.set },
      destination: rule.route?.[0]?.destination.host ?? '',
      timeoutSeconds: rule.timeout ? Number(rule.timeout.replace(/s$/, '')) : undefined,
      retryOn: rule.retries?.retryOn,
    };
  }
  return undefined;
}

/** A concrete path for a route template: each {param} gets a sample value. */
export function samplePath(template: string, samples: Record<string, string> = {}): string {
  const defaults: Record<string, string> = {
    endpointId: 'e-1',
    commandType: 'reboot',
    commandId: '7',
    applicationName: 'smart-meter',
    taskId: 'task-1',
  };
  return template.replace(/\{(\w+)\}/g, (_, name: string) => samples[name] ?? defaults[name] ?? `x-${name}`);
}
