/**
 * Fixed order and colours of the methods, so every figure, table and example grid of every run
 * reads the same way (SGLRP always red, Random always grey).
 */
import { BUILTIN_METHODS, METHOD_NAMES, methodLabel as registryLabel } from '../../engine/methods/index.js';

/** Each built-in method's colour, from the method registry (engine/methods/). */
export const METHOD_COLORS: Readonly<Record<string, string>> = Object.fromEntries(BUILTIN_METHODS.map((m) => [m.name, m.color]));

/** Colour for methods outside METHOD_NAMES (a renamed or new method still gets a stable colour). */
const EXTRA_COLORS = ['#17becf', '#bcbd22', '#e377c2', '#393b79', '#637939'];

/** Each built-in method's label, from the method registry: one label per method everywhere. */
export const METHOD_LABELS: Readonly<Record<string, string>> = Object.fromEntries(BUILTIN_METHODS.map((m) => [m.name, m.label]));

export const TARGET_KIND_ORDER = ['gt', 'top2', 'top1', 'index'] as const;

function rank(order: readonly string[], name: string): number {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}

/** Known methods in METHOD_NAMES order, unknown ones after them alphabetically. */
export function compareMethods(a: string, b: string): number {
  return rank(METHOD_NAMES, a) - rank(METHOD_NAMES, b) || a.localeCompare(b);
}

export function sortMethods(methods: Iterable<string>): string[] {
  return [...new Set(methods)].sort(compareMethods);
}

/** The method's label (a method registered at run time included; unknown names as they are). */
export function methodLabel(method: string): string {
  return registryLabel(method);
}

/** Colours for `methods` (already sorted), in the same order. */
export function methodColors(methods: readonly string[]): string[] {
  let extra = 0;
  return methods.map((m) => METHOD_COLORS[m] ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length]!);
}

export function compareTargetKinds(a: string, b: string): number {
  return rank(TARGET_KIND_ORDER, a) - rank(TARGET_KIND_ORDER, b) || a.localeCompare(b);
}
