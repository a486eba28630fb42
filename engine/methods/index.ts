import { clrp } from './clrp.js';
import { gradCam } from './grad-cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { lrp } from './lrp.js';
import type { MethodSpec, RelevanceMethod, SeedFormulas } from './method.js';
import { random } from './random.js';
import { sglrp } from './sglrp.js';

export type {
  CamMethod,
  CombinedMethod,
  GradientMethod,
  HostContext,
  HostMethod,
  MethodFamily,
  MethodMap,
  MethodSpec,
  RelevanceMethod,
  SeedFormulas,
} from './method.js';

/**
 * The attribution methods the project ships, in their canonical order (tables, figures, grids
 * and config lists follow it). Adding a method: one module in this folder and one entry here;
 * the config enum, the CLI's choices, report labels and colours, the worker's batch sizing and
 * the bench read this list.
 */
export const BUILTIN_METHODS = [lrp, clrp, sglrp, guidedBackprop, gradCam, guidedGradCam, random] as const;

export type MethodName = (typeof BUILTIN_METHODS)[number]['name'];

/** Names of the built-in methods, in canonical order. */
export const METHOD_NAMES = BUILTIN_METHODS.map((m) => m.name) as unknown as readonly [MethodName, ...MethodName[]];

const registry = new Map<string, MethodSpec>(BUILTIN_METHODS.map((m) => [m.name, m as MethodSpec]));

/**
 * Adds a method at run time (a library user's own, or a test's toy method): `explain` accepts its
 * name from then on. Built-in names cannot be replaced.
 */
export function registerMethod(spec: MethodSpec): void {
  const known = registry.get(spec.name);
  if (known && known !== spec) throw new Error(`a method named '${spec.name}' is already registered; choose another name`);
  registry.set(spec.name, spec);
}

/** The method registered under `name`; unknown names are refused, listing the known ones. */
export function methodSpec(name: string): MethodSpec {
  const spec = registry.get(name);
  if (!spec) throw new Error(`unknown method '${name}'; choose from ${[...registry.keys()].join(', ')}`);
  return spec;
}

/** Every registered method (built-in ones first, in canonical order). */
export function registeredMethods(): MethodSpec[] {
  return [...registry.values()];
}

/** `methods` plus every method a combined one uses (each once, in registry order). */
export function withDependencies(methods: readonly string[]): MethodSpec[] {
  const need = new Set<string>();
  const add = (name: string): void => {
    if (need.has(name)) return;
    need.add(name);
    const spec = methodSpec(name);
    if (spec.family === 'combined') spec.uses.forEach(add);
  };
  methods.forEach(add);
  return registeredMethods().filter((m) => need.has(m.name));
}

/**
 * Backward-pass rows per image and target for computing `methods` (their dependencies included):
 * what one relevance/gradient pass must hold per target. The explainer's micro-batches and the
 * worker's batch size both come from it.
 */
export function rowsPerTarget(methods: readonly string[], seeds: SeedFormulas): number {
  return withDependencies(methods).reduce((s, m) => s + m.rowsPerTarget(seeds), 0);
}

/** The LRP-family method named `name` (seed formulas live with each method). */
export function relevanceMethod(name: string): RelevanceMethod {
  const spec = methodSpec(name);
  if (spec.family !== 'relevance') throw new Error(`'${name}' is not an LRP-family method (it is ${spec.family})`);
  return spec;
}

/** Methods whose explanations carry the signed H×W×C input signal. */
export const RAW_METHOD_NAMES: readonly MethodName[] = BUILTIN_METHODS.filter((m) => m.producesRaw).map((m) => m.name);

/** The label every figure, table and grid uses for a method (the name itself for unknown ones). */
export function methodLabel(name: string): string {
  return registry.get(name)?.label ?? name;
}
