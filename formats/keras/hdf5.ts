/**
 * The few HDF5 reads Keras files need, through h5wasm (the HDF5 C library compiled to wasm; its
 * Node build reads files from disk): string-list attributes (`layer_names`, `weight_names`, split
 * by Keras into `name0`, `name1`, … when they exceed the object header limit), string attributes
 * (`model_config`) and float datasets, shapes read before values so a large file is checked
 * before any weight is loaded.
 */
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import type * as H5wasmModule from 'h5wasm/node';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ModelLoadError } from '../../engine/model-loader.js';

export type { Group };

type H5wasm = (typeof H5wasmModule)['default'];

/** Loaded on first use, so that TF.js-only runs (every worker thread) do not instantiate the HDF5 wasm module. */
let h5wasm: H5wasm | undefined;

function library(): H5wasm {
  if (!h5wasm) throw new Error('internal: h5wasm used before openHdf5 loaded it');
  return h5wasm;
}

/** Opens an HDF5 file for reading; the caller closes it. */
export async function openHdf5(path: string): Promise<H5File> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ModelLoadError(`model file not found: ${abs}`);
  h5wasm ??= (await import('h5wasm/node')).default;
  await h5wasm.ready;
  try {
    return new h5wasm.File(abs, 'r');
  } catch (e) {
    throw new ModelLoadError(`${abs} is not a readable HDF5 file (${(e as Error).message}); Keras .h5 files are HDF5`);
  }
}

/** A child group, or null when there is none (or it is a dataset). */
export function childGroup(group: Group, name: string): Group | null {
  const entity = group.get(name);
  return entity instanceof library().Group ? entity : null;
}

/** A child dataset, or null. */
export function childDataset(group: Group, name: string): Dataset | null {
  const entity = group.get(name);
  return entity instanceof library().Dataset ? entity : null;
}

/** A string attribute (h5py writes Keras' JSON as bytes, read back as a string), or undefined. */
export function stringAttr(group: Group, name: string): string | undefined {
  const attr = group.attrs[name];
  if (!attr) return undefined;
  const v = attr.value;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return undefined;
}

/**
 * A list-of-strings attribute as Keras writes it: one attribute `name`, or, when it would not fit
 * an HDF5 object header, chunks `name0`, `name1`, … (legacy_h5_format.save_attributes_to_hdf5_group).
 * An empty list (weight-less layers) is stored as an empty float array.
 */
export function stringListAttr(group: Group, name: string): string[] {
  if (group.attrs[name]) return asStrings(group.attrs[name]!.value);
  const out: string[] = [];
  for (let i = 0; group.attrs[`${name}${i}`]; i++) out.push(...asStrings(group.attrs[`${name}${i}`]!.value));
  return out;
}

function asStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map(String);
  return []; // the empty float array of a weight-less layer
}

/** A float dataset's values as float32 (Keras files hold float32; float64 is narrowed). */
export function readFloat32(ds: Dataset, where: string): Float32Array {
  const v = ds.value;
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array) return Float32Array.from(v);
  throw new ModelLoadError(`${where}: weights of HDF5 type ${JSON.stringify(ds.dtype)} are not supported (float32 or float64 expected)`);
}
