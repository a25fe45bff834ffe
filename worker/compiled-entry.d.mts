/** The project's cache folder (bundles; facts about this Node binary): rebuildable, never needed for correctness. */
export const CACHE: string;
/** Writes a file in the cache folder whole, then renames it into place: a concurrent reader sees old or new. */
export function writeCacheFile(path: string, text: string): void;
/** The path of `entry`'s bundled main file (built now if missing or stale), or undefined: run it through tsx. */
export function compiledEntry(entry: string): Promise<string | undefined>;
