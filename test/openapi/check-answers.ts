import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Recorded } from './typed-api.js';

const TYPES = fileURLToPath(new URL('./cex-api.js', import.meta.url));

/**
 * TypeScript source that assigns each recorded answer (body, and the
 * documented headers it carried) to the type cex-api.d.ts gives that
 * operation and status. Object literals get tsc's excess-property check, so
 * a field the document lacks fails as surely as a missing or mistyped one.
 */
export function answersSource(answers: readonly { recorded: Recorded; documentedHeaders: string[] }[]): string {
  const lines = [
    `import type { operations } from ${JSON.stringify(TYPES)};`,
    `type R<O extends keyof operations, S extends keyof operations[O]['responses']> = operations[O]['responses'][S];`,
  ];
  answers.forEach(({ recorded: a, documentedHeaders }, i) => {
    const r = `R<${JSON.stringify(a.operation)}, ${a.status}>`;
    if (a.body !== undefined) {
      const many = a.contentType === 'text/event-stream';
      lines.push(
        `export const body${i}: ${r}['content'][${JSON.stringify(a.contentType)}]${many ? '[]' : ''} = ${JSON.stringify(a.body)};`,
      );
    }
    const headers: Record<string, string> = {};
    for (const name of documentedHeaders) {
      const value = a.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    lines.push(`export const headers${i}: ${r}['headers'] = ${JSON.stringify(headers)};`);
  });
  return lines.join('\n') + '\n';
}

/** tsc's diagnostics for `source` (strict), as text; empty when it type-checks. */
export function typeCheck(source: string): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'cex-openapi-'));
  try {
    const file = path.join(dir, 'answers.ts');
    writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: [],
      skipLibCheck: true,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
