import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './kustomize.js';
import { MODEL_TYPES } from './schemas.js';

/**
 * The OpenAPI schemas accept unknown fields (Kubernetes prunes them on the
 * server, silently), so a typo such as `readinesProbe` passes validation.
 * The same packages publish TypeScript interfaces of every kind: each object
 * becomes an object literal typed with its interface, and TypeScript's
 * excess-property check names every field the API does not know, at any
 * depth (the kubeconform -strict check, offline).
 * Returns one message per problem, prefixed with the object's label.
 */
export function unknownFieldErrors(objects: { label: string; object: { apiVersion: string; kind: string } }[]): string[] {
  const dir = path.join(REPO_ROOT, '.data', `manifest-types-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'manifests.ts');
  const lines: string[] = [];
  const owners: { line: number; label: string }[] = [];
  const imports = new Map<string, string>();
  let body = '';
  objects.forEach(({ label, object }, i) => {
    const model = MODEL_TYPES[`${object.apiVersion}/${object.kind}`];
    if (!model) throw new Error(`${label}: no type registered for ${object.apiVersion}/${object.kind}`);
    const alias = imports.get(`${model.module}#${model.type}`) ?? `T${imports.size}`;
    imports.set(`${model.module}#${model.type}`, alias);
    owners.push({ line: body.split('\n').length, label });
    body += `export const m${i}: ${alias} = ${JSON.stringify(object, null, 1)};\n`;
  });
  for (const [key, alias] of imports) {
    const [module, type] = key.split('#');
    lines.push(`import type { ${type} as ${alias} } from '${module}';`);
  }
  const header = lines.join('\n') + '\n';
  writeFileSync(file, header + body);
  try {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    });
    const offset = lines.length;
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      if (!d.file || d.start === undefined) return text;
      const line = d.file.getLineAndCharacterOfPosition(d.start).line - offset + 1;
      const owner = [...owners].reverse().find((o) => o.line <= line);
      const snippet = d.file.text.split('\n')[d.file.getLineAndCharacterOfPosition(d.start).line]?.trim();
      return `${owner?.label ?? '?'}: ${text} (at ${snippet})`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
