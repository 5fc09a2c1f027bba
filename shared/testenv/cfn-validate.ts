// A structural check of a CloudFormation template (JSON form) against the
// list in cfn-schema.ts, without AWS: top-level sections, parameters,
// conditions, resource types and their properties (names, required ones,
// nested shapes, scalar kinds), DeletionPolicy values, outputs, and every
// reference: Ref, Fn::GetAtt (and its attribute), the ${...} of Fn::Sub,
// Fn::If's condition and DependsOn must name something declared; resources
// must not depend on each other in a cycle; a plain string must not carry a
// ${...} that only Fn::Sub would resolve. Returns one message per problem,
// each starting with the path in the template; an empty list means valid.

import {
  CFN_RESOURCE_SCHEMAS,
  PARAMETER_KEYS,
  type Prop,
  PSEUDO_PARAMETERS,
  RESOURCE_ENTRY_KEYS,
  type Shape,
  TEMPLATE_BODY_LIMIT,
  TEMPLATE_KEYS,
} from './cfn-schema.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const LOGICAL_ID = /^[A-Za-z0-9]{1,255}$/;
const PARAMETER_TYPES =
  /^(String|Number|List<Number>|CommaDelimitedList|AWS::EC2::[A-Za-z:]+|AWS::SSM::Parameter::Value<.+>)$/;
const VALUE_FUNCTIONS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::Join',
  'Fn::Select',
  'Fn::GetAZs',
  'Fn::If',
  'Fn::Split',
  'Fn::Base64',
]);
const CONDITION_FUNCTIONS = new Set(['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not', 'Condition']);

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

export function validateTemplate(template: unknown, options: { bodyBytes?: number } = {}): string[] {
  const errors: string[] = [];
  const err = (path: string, message: string): void => {
    errors.push(`${path}: ${message}`);
  };
  if (!isObject(template)) return ['template: expected a JSON object'];

  for (const key of Object.keys(template)) {
    if (!(TEMPLATE_KEYS as readonly string[]).includes(key)) err(key, 'unknown top-level section');
  }
  if (template.AWSTemplateFormatVersion !== '2010-09-09') err('AWSTemplateFormatVersion', 'expected "2010-09-09"');
  if (options.bodyBytes !== undefined && options.bodyBytes > TEMPLATE_BODY_LIMIT) {
    err('template', `${options.bodyBytes} bytes exceeds the ${TEMPLATE_BODY_LIMIT}-byte inline limit`);
  }

  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  if (template.Parameters !== undefined && !isObject(template.Parameters)) err('Parameters', 'expected an object');
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  if (template.Conditions !== undefined && !isObject(template.Conditions)) err('Conditions', 'expected an object');
  const resources = isObject(template.Resources) ? template.Resources : undefined;
  if (!resources || Object.keys(resources).length === 0) {
    err('Resources', 'expected at least one resource');
    return errors;
  }
  if (Object.keys(resources).length > 500) err('Resources', 'more than 500 resources');

  const resourceType = (id: string): string | undefined => {
    const r = resources[id];
    return isObject(r) && typeof r.Type === 'string' ? r.Type : undefined;
  };
  const declared = (name: string) =>
    Object.hasOwn(resources, name) ||
    Object.hasOwn(parameters, name) ||
    (PSEUDO_PARAMETERS as readonly string[]).includes(name);
  for (const id of [...Object.keys(parameters), ...Object.keys(resources), ...Object.keys(conditions)]) {
    if (!LOGICAL_ID.test(id)) err(id, 'logical ids are 1-255 letters and digits');
  }
  for (const id of Object.keys(parameters)) {
    if (Object.hasOwn(resources, id)) err(`Resources.${id}`, 'has the name of a parameter');
  }

  /** Dependencies between resources (for the cycle check), filled while walking. */
  const edges = new Map<string, Set<string>>();
  let current: string | undefined;
  const dependOn = (target: string) => {
    if (current && Object.hasOwn(resources, target)) {
      const set = edges.get(current) ?? new Set<string>();
      edges.set(current, set);
      set.add(target);
    }
  };

  const checkGetAtt = (path: string, id: string, attribute: string) => {
    const type = resourceType(id);
    if (!type) {
      err(path, `Fn::GetAtt names ${id}, which is not a resource`);
      return;
    }
    dependOn(id);
    const schema = CFN_RESOURCE_SCHEMAS[type];
    if (schema && !schema.attributes.includes(attribute)) {
      err(path, `Fn::GetAtt ${id}.${attribute}: ${type} has no attribute ${attribute}`);
    }
  };

  /** Walk any value: check intrinsic functions and references; report `${...}` in plain strings. */
  const walk = (v: unknown, path: string, inCondition = false): void => {
    if (typeof v === 'string') {
      if (/\$\{[^}]*\}/.test(v)) err(path, `"${v}" has a \${...} outside Fn::Sub`);
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, `${path}[${i}]`, inCondition);
      });
      return;
    }
    if (!isObject(v)) return;
    const fn = intrinsicName(v);
    if (fn === undefined) {
      for (const [k, item] of Object.entries(v)) walk(item, `${path}.${k}`, inCondition);
      return;
    }
    const arg = v[fn];
    const at = `${path}.${fn}`;
    switch (fn) {
      case 'Ref':
        if (typeof arg !== 'string') {
          err(at, 'expected a name');
          return;
        }
        if (!declared(arg)) {
          err(at, `${arg} is not a parameter, resource or pseudo parameter`);
          return;
        }
        if (inCondition && Object.hasOwn(resources, arg)) err(at, 'a condition cannot refer to a resource');
        dependOn(arg);
        return;
      case 'Fn::GetAtt': {
        const parts =
          typeof arg === 'string'
            ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)]
            : Array.isArray(arg)
              ? arg
              : [];
        if (parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string' || !parts[0]) {
          err(at, 'expected [LogicalId, Attribute]');
          return;
        }
        checkGetAtt(at, parts[0], parts[1]);
        return;
      }
      case 'Fn::Sub': {
        let text: unknown = arg;
        let variables: Record<string, Json> = {};
        if (Array.isArray(arg)) {
          if (arg.length !== 2 || typeof arg[0] !== 'string' || !isObject(arg[1])) {
            err(at, 'expected a string or [string, {variables}]');
            return;
          }
          text = arg[0];
          variables = arg[1];
          for (const [k, item] of Object.entries(variables)) walk(item, `${at}[1].${k}`, inCondition);
        }
        if (typeof text !== 'string') {
          err(at, 'expected a string');
          return;
        }
        for (const name of subReferences(text)) {
          if (Object.hasOwn(variables, name)) continue;
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) checkGetAtt(at, name.slice(0, dot), name.slice(dot + 1));
          else if (!declared(name)) err(at, `\${${name}} is not a parameter, resource or pseudo parameter`);
          else dependOn(name);
        }
        return;
      }
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') {
          err(at, 'expected [Condition, ValueIfTrue, ValueIfFalse]');
          return;
        }
        if (!Object.hasOwn(conditions, arg[0])) err(at, `condition ${arg[0]} is not declared`);
        walk(arg[1], `${at}[1]`, inCondition);
        walk(arg[2], `${at}[2]`, inCondition);
        return;
      }
      case 'Condition':
        if (typeof arg !== 'string' || !Object.hasOwn(conditions, arg))
          err(at, `condition ${String(arg)} is not declared`);
        return;
      case 'Fn::Join':
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') {
          err(at, 'expected [delimiter, [values]]');
          return;
        }
        walk(arg[1], `${at}[1]`, inCondition);
        return;
      case 'Fn::Select':
        if (!Array.isArray(arg) || arg.length !== 2) {
          err(at, 'expected [index, list]');
          return;
        }
        walk(arg[1], `${at}[1]`, inCondition);
        return;
      case 'Fn::Split':
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') {
          err(at, 'expected [delimiter, string]');
          return;
        }
        walk(arg[1], `${at}[1]`, inCondition);
        return;
      case 'Fn::GetAZs':
      case 'Fn::Base64':
        walk(arg, at, inCondition);
        return;
      default:
        if (CONDITION_FUNCTIONS.has(fn)) {
          if (!inCondition) {
            err(at, `${fn} is only valid in Conditions`);
            return;
          }
          walk(arg, at, inCondition);
          return;
        }
        err(at, `unsupported intrinsic function ${fn}`);
        return;
    }
  };

  /** Check a value against a property shape, then walk it for references. */
  const check = (v: unknown, prop: Prop, path: string): void => {
    const shape: Shape = typeof prop === 'object' && 'required' in prop ? prop.required : prop;
    const fn = intrinsicName(v);
    if (fn !== undefined) {
      if (!VALUE_FUNCTIONS.has(fn)) err(path, `${fn} is not valid in a property value`);
      walk(v, path);
      return;
    }
    if (shape === 'json') {
      walk(v, path);
      return;
    }
    if (shape === 'string') {
      if (typeof v !== 'string') {
        err(path, `expected a string, got ${JSON.stringify(v)}`);
        return;
      }
      walk(v, path);
      return;
    }
    if (shape === 'number') {
      const ok = typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)));
      if (!ok) err(path, `expected a number, got ${JSON.stringify(v)}`);
      return;
    }
    if (shape === 'boolean') {
      if (typeof v !== 'boolean' && v !== 'true' && v !== 'false')
        err(path, `expected a boolean, got ${JSON.stringify(v)}`);
      return;
    }
    if ('list' in shape) {
      if (!Array.isArray(v)) {
        err(path, 'expected a list');
        return;
      }
      v.forEach((item, i) => {
        check(item, shape.list, `${path}[${i}]`);
      });
      return;
    }
    if ('map' in shape) {
      if (!isObject(v)) {
        err(path, 'expected an object of names to values');
        return;
      }
      for (const [k, item] of Object.entries(v)) check(item, shape.map, `${path}.${k}`);
      return;
    }
    if (!isObject(v)) {
      err(path, 'expected an object');
      return;
    }
    for (const [k, item] of Object.entries(v)) {
      const inner = shape.object[k];
      if (inner === undefined) err(`${path}.${k}`, 'unknown property');
      else check(item, inner, `${path}.${k}`);
    }
    for (const [k, inner] of Object.entries(shape.object)) {
      if (typeof inner === 'object' && 'required' in inner && !(k in v)) err(`${path}.${k}`, 'required');
    }
  };

  // Parameters.
  for (const [name, p] of Object.entries(parameters)) {
    const path = `Parameters.${name}`;
    if (!isObject(p)) {
      err(path, 'expected an object');
      continue;
    }
    for (const key of Object.keys(p)) {
      if (!(PARAMETER_KEYS as readonly string[]).includes(key)) err(`${path}.${key}`, 'unknown parameter attribute');
    }
    if (typeof p.Type !== 'string' || !PARAMETER_TYPES.test(p.Type)) err(`${path}.Type`, 'unknown parameter type');
    if (p.Default !== undefined) {
      const value = String(p.Default);
      if (Array.isArray(p.AllowedValues) && !p.AllowedValues.map(String).includes(value)) {
        err(`${path}.Default`, 'not one of AllowedValues');
      }
      if (typeof p.AllowedPattern === 'string' && !new RegExp(`^(?:${p.AllowedPattern})$`).test(value)) {
        err(`${path}.Default`, 'does not match AllowedPattern');
      }
    }
  }

  // Conditions.
  for (const [name, c] of Object.entries(conditions)) {
    const fn = intrinsicName(c);
    if (fn === undefined || !CONDITION_FUNCTIONS.has(fn)) err(`Conditions.${name}`, 'expected a condition function');
    walk(c, `Conditions.${name}`, true);
  }

  // Resources.
  for (const [id, r] of Object.entries(resources)) {
    const path = `Resources.${id}`;
    current = id;
    if (!isObject(r)) {
      err(path, 'expected an object');
      continue;
    }
    for (const key of Object.keys(r)) {
      if (!(RESOURCE_ENTRY_KEYS as readonly string[]).includes(key))
        err(`${path}.${key}`, 'unknown resource attribute');
    }
    const type = typeof r.Type === 'string' ? r.Type : '';
    const schema = CFN_RESOURCE_SCHEMAS[type];
    if (!schema) {
      err(`${path}.Type`, `${type || '(none)'} is not in the list of known resource types`);
      continue;
    }
    const properties = r.Properties ?? {};
    check(properties, { object: schema.properties }, `${path}.Properties`);
    for (const policy of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      const value = r[policy];
      if (value === undefined) continue;
      const allowed = ['Delete', 'Retain', 'RetainExceptOnCreate', ...(schema.snapshot ? ['Snapshot'] : [])];
      if (typeof value !== 'string' || !allowed.includes(value))
        err(`${path}.${policy}`, `expected ${allowed.join(', ')}`);
    }
    if (r.Condition !== undefined && (typeof r.Condition !== 'string' || !Object.hasOwn(conditions, r.Condition))) {
      err(`${path}.Condition`, 'condition is not declared');
    }
    if (r.DependsOn !== undefined) {
      const targets = Array.isArray(r.DependsOn) ? r.DependsOn : [r.DependsOn];
      for (const target of targets) {
        if (typeof target !== 'string' || !Object.hasOwn(resources, target)) {
          err(`${path}.DependsOn`, `${String(target)} is not a resource`);
        } else dependOn(target);
      }
    }
  }
  current = undefined;

  // Outputs.
  if (template.Outputs !== undefined) {
    if (!isObject(template.Outputs)) err('Outputs', 'expected an object');
    else {
      if (Object.keys(template.Outputs).length > 200) err('Outputs', 'more than 200 outputs');
      for (const [name, o] of Object.entries(template.Outputs)) {
        const path = `Outputs.${name}`;
        if (!LOGICAL_ID.test(name)) err(path, 'output names are letters and digits');
        if (!isObject(o) || o.Value === undefined) {
          err(path, 'expected an object with a Value');
          continue;
        }
        for (const key of Object.keys(o)) {
          if (!['Value', 'Description', 'Export', 'Condition'].includes(key))
            err(`${path}.${key}`, 'unknown output attribute');
        }
        check(o.Value, 'string', `${path}.Value`);
      }
    }
  }

  // Cycles among resources.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, trail: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      err('Resources', `circular dependency: ${[...trail.slice(trail.indexOf(id)), id].join(' -> ')}`);
      return;
    }
    state.set(id, 'visiting');
    for (const next of edges.get(id) ?? []) visit(next, [...trail, id]);
    state.set(id, 'done');
  };
  for (const id of Object.keys(resources)) visit(id, []);

  return errors;
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
