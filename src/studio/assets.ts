import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** One file the browser loads: its bytes, type and validator. */
export interface Asset {
  readonly body: string
  readonly type: string
  readonly etag: string
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3b5bdb"/><path d="M21 9a9 9 0 1 0 2.6 9.5" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round"/><path d="M17 7l5 2-3 4.5" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`

/**
 * The browser part, built by `npm run build` (esbuild, from src/studio/client) next to this module:
 * dist/studio/browser/studio.js and studio.css. Read once, on first use.
 */
const FILES: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  'studio.js': { file: 'browser/studio.js', type: 'text/javascript; charset=utf-8' },
  'studio.css': { file: 'browser/studio.css', type: 'text/css; charset=utf-8' },
}

const cache = new Map<string, Promise<Asset>>()

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` }
}

/** The asset of that name, undefined when there is none; fails when the build's files are missing. */
export function loadAsset(name: string): Promise<Asset> | undefined {
  if (name === 'favicon.svg') return Promise.resolve(asset(FAVICON, 'image/svg+xml'))
  const spec = FILES[name]
  if (!spec) return undefined
  let loaded = cache.get(name)
  if (!loaded) {
    const path = fileURLToPath(new URL(`./${spec.file}`, import.meta.url))
    loaded = readFile(path, 'utf8').then(
      (body) => asset(body, spec.type),
      (error: NodeJS.ErrnoException) => {
        cache.delete(name)
        throw new Error(
          error.code === 'ENOENT'
            ? `the studio's browser files are missing (${path}): build them with \`npm run build\``
            : `cannot read ${path}: ${error.message}`,
          { cause: error },
        )
      },
    )
    cache.set(name, loaded)
  }
  return loaded
}
