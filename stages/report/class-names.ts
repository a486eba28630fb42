/**
 * Class names for the report's labels, from the run config's `model.classes` ('imagenet', a
 * class-name file, or 'digits'/absent: the index is the name). A missing or unreadable file
 * gives indices only; a label is never worth failing a report for.
 */
import { readFileSync } from 'node:fs';
import { loadImageNetClasses } from '../../data/imagenet-classes.js';

export type ClassNamer = (cls: number) => string;

export function classNamer(spec: unknown): ClassNamer {
  let names: string[] = [];
  try {
    if (spec === 'imagenet') names = loadImageNetClasses().names;
    else if (typeof spec === 'string' && spec !== 'digits')
      names = readFileSync(spec, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim());
  } catch {
    names = [];
  }
  return (cls) => {
    if (!(cls >= 0)) return 'unknown';
    const name = names[cls];
    return name ? `${cls} ${name}` : String(cls);
  };
}
