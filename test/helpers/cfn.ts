// Reading CloudFormation templates in tests: who references what, and the real cfn-lint when it is installed.

import { spawnSync } from 'node:child_process';

// biome-ignore lint/suspicious/noExplicitAny: templates are free-form JSON.
type Json = any;

function isObject(v: unknown): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The single key of an intrinsic function object, if `v` is one. */
function intrinsicName(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as string;
  return key === 'Ref' || key.startsWith('Fn::') || key === 'Condition' ? key : undefined;
}

/** The names `${...}` in an Fn::Sub string refers to (`${!x}` is a literal). */
function subReferences(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    const inner = (m[1] as string).trim();
    if (!inner.startsWith('!')) names.push(inner);
  }
  return names;
}

/** Every `Ref`, `Fn::GetAtt` and `Fn::Sub` target in a value (for tests that look for who uses what). */
export function referencedNames(v: unknown): Set<string> {
  const names = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const item of x) walk(item);
      return;
    }
    if (!isObject(x)) return;
    const fn = intrinsicName(x);
    const arg = fn ? x[fn] : undefined;
    if (fn === 'Ref' && typeof arg === 'string') names.add(arg);
    else if (fn === 'Fn::GetAtt') {
      const id = typeof arg === 'string' ? arg.split('.')[0] : Array.isArray(arg) ? arg[0] : undefined;
      if (typeof id === 'string') names.add(id);
    } else if (fn === 'Fn::Sub') {
      const text = Array.isArray(arg) ? arg[0] : arg;
      if (typeof text === 'string') for (const n of subReferences(text)) names.add(n.split('.')[0] as string);
      if (Array.isArray(arg)) walk(arg[1]);
    } else for (const item of Object.values(x)) walk(item);
  };
  walk(v);
  return names;
}

/** cfn-lint's version, or undefined when it is not on PATH (it is a Python tool: pip install cfn-lint). */
export function cfnLintVersion(): string | undefined {
  const r = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Runs cfn-lint on template files; its exit code and one line per finding. */
export function cfnLint(files: string[]): { status: number | null; findings: string[] } {
  const r = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...files], { encoding: 'utf8' });
  return { status: r.status, findings: `${r.stdout}${r.stderr}`.split('\n').filter(Boolean) };
}
