/**
 * Writes a test-vector file the way every generator of the repository does (scripts/gen-*-vectors.ts,
 * test/net/gen-noise-vector.ts): JSON, then formatted by the repository's biome, so that a regenerated
 * file differs from the committed one only where the vectors do.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIOME = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));

/** Writes `file` as JSON to `out`, formats it and says so; `count` is the number of vectors. */
export function writeVectorFile(out: URL, file: unknown, count: number): void {
  const path = fileURLToPath(out);
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  execFileSync(BIOME, ['format', '--write', path], { stdio: 'inherit' });
  console.log(`wrote ${count} vectors to ${path}`);
}
