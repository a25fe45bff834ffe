/** The path of `entry`'s bundled main file (built now if missing or stale), or undefined: run it through tsx. */
export function compiledEntry(entry: string): Promise<string | undefined>;
