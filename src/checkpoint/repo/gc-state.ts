/**
 * `gc/state`: what gc remembers between runs (gc.ts), so that a run reads only the manifests
 * written since the last one. Per kept manifest: the packs and large blobs it references and the
 * base it applies to (a manifest object never changes: its id is its hash, so this cannot go
 * stale); and the published packs found unreferenced, with when (they wait a grace period).
 * Missing or unreadable, it is an empty state: gc then reads every manifest, as it always could.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { StorageError } from "../../core/errors";
import type { ObjectStore } from "../../objectstore/types";

export const GC_STATE_KEY = "gc/state";

export interface GcManifestRefs {
  packs: Set<string>;
  blobs: Set<string>;
  base: string | null;
}

export interface GcState {
  manifests: Map<string, GcManifestRefs>;
  condemned: Map<string, number>;
}

interface WireState {
  v: 1;
  /** Every pack id and blob hash once; manifests name them by index. */
  names: string[];
  manifests: [id: string, packs: number[], blobs: number[], base: string | null][];
  condemned: [pack: string, at: number][];
}

export async function readGcState(objects: ObjectStore): Promise<GcState> {
  const empty: GcState = { manifests: new Map(), condemned: new Map() };
  let body: Buffer;
  try {
    body = await objects.getBuffer(GC_STATE_KEY);
  } catch (error) {
    if (error instanceof StorageError && error.code === "NOT_FOUND") return empty;
    throw error;
  }
  try {
    const wire = JSON.parse(gunzipSync(body).toString("utf8")) as WireState;
    if (wire.v !== 1 || !Array.isArray(wire.names) || !Array.isArray(wire.manifests) || !Array.isArray(wire.condemned)) return empty;
    const name = (i: number) => {
      const n = wire.names[i];
      if (typeof n !== "string") throw new Error("bad name index");
      return n;
    };
    const manifests = new Map<string, GcManifestRefs>();
    for (const [id, packs, blobs, base] of wire.manifests) {
      manifests.set(id, { packs: new Set(packs.map(name)), blobs: new Set(blobs.map(name)), base });
    }
    return { manifests, condemned: new Map(wire.condemned.filter(([p, at]) => typeof p === "string" && typeof at === "number")) };
  } catch {
    return empty;
  }
}

export async function writeGcState(objects: ObjectStore, state: GcState): Promise<void> {
  const names: string[] = [];
  const index = new Map<string, number>();
  const ref = (n: string) => {
    let i = index.get(n);
    if (i === undefined) index.set(n, (i = names.push(n) - 1));
    return i;
  };
  const manifests = [...state.manifests].map(([id, r]): WireState["manifests"][number] => [id, [...r.packs].map(ref), [...r.blobs].map(ref), r.base]);
  const wire: WireState = { v: 1, names, manifests, condemned: [...state.condemned] };
  await objects.put(GC_STATE_KEY, gzipSync(JSON.stringify(wire), { level: 1 }));
}
