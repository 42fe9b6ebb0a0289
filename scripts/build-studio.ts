/**
 * Builds the studio's browser part (src/studio/client) into a folder: studio.js (one ES module, minified) and
 * studio.css. `npm run build` writes them to dist/studio/browser; the tests, which run the studio from src,
 * to src/studio/browser (ignored by git).
 *
 *   npx tsx scripts/build-studio.ts dist/studio/browser
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const client = fileURLToPath(new URL('../src/studio/client/', import.meta.url))

export async function buildStudioBrowser(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true })
  const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' } as const
  await build({
    ...common,
    entryPoints: [resolve(client, 'main.ts')],
    outfile: resolve(outDir, 'studio.js'),
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
  })
  await build({
    ...common,
    entryPoints: [resolve(client, 'studio.css')],
    outfile: resolve(outDir, 'studio.css'),
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const out = process.argv[2]
  if (!out) {
    console.error('usage: tsx scripts/build-studio.ts <out-dir>')
    process.exit(2)
  }
  await buildStudioBrowser(resolve(out))
}
