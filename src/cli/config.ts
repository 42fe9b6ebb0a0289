import { existsSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Rewind } from '../runtime/rewind.js'
import { UsageError } from './errors.js'

/** What the `rewind` function of a configuration receives. */
export interface RewindFactoryContext {
  /** The `DATABASE_URL` environment variable, when it is set: connect to that database instead of the default. */
  readonly databaseUrl: string | undefined
  /** The environment the CLI runs in. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The directory the CLI runs in: resolve relative paths (a PGlite data directory) against it. */
  readonly cwd: string
}

/** A Rewind instance of any resources. */
export type AnyRewind = Rewind<any>

/** What `rewind.config.ts` exports by default; type it with {@link defineConfig}. */
export interface RewindCliConfig {
  /**
   * The app's Rewind instance, made with the same resources, event log, actors, encryption keys and replay
   * overrides as the app (export a factory from the app and call it here). Best as a function: it is called
   * once per command and receives `DATABASE_URL` as `databaseUrl`. An instance (or a promise of one), for
   * example imported from the module that exports the app's, serves one command.
   */
  readonly rewind:
    | AnyRewind
    | Promise<AnyRewind>
    | ((context: RewindFactoryContext) => AnyRewind | Promise<AnyRewind>)
  /**
   * Called when a command ends. Default: `rewind.close()`, then closes the database client under it
   * (`end()` of a pg Pool, `close()` of a PGlite instance), so the process can exit.
   */
  readonly close?: (rewind: AnyRewind) => void | Promise<void>
}

/**
 * Types a `rewind.config.ts`.
 *
 * ```ts
 * import { drizzle } from 'drizzle-orm/node-postgres'
 * import pg from 'pg'
 * import { defineConfig } from 'rewind-es/cli'
 * import { createAppRewind } from './src/rewind.js'
 *
 * export default defineConfig({
 *   rewind: ({ databaseUrl }) =>
 *     createAppRewind(drizzle({ client: new pg.Pool({ connectionString: databaseUrl }) })),
 * })
 * ```
 */
export function defineConfig(config: RewindCliConfig): RewindCliConfig {
  return config
}

/** The files looked for in the working directory, in this order. */
export const CONFIG_FILES = ['rewind.config.ts', 'rewind.config.mts', 'rewind.config.js', 'rewind.config.mjs']

/** A configuration and where it came from. */
export interface LoadedConfig {
  readonly config: RewindCliConfig
  /** The file it was loaded from (undefined when passed to `buildCli`). */
  readonly file: string | undefined
  readonly context: RewindFactoryContext
}

/** Finds and loads the configuration: `--config <path>`, else the first of {@link CONFIG_FILES} in `cwd`. */
export async function loadConfig(
  path: string | undefined,
  context: RewindFactoryContext,
): Promise<LoadedConfig> {
  const { cwd } = context
  const file =
    path !== undefined
      ? isAbsolute(path)
        ? path
        : resolve(cwd, path)
      : CONFIG_FILES.map((name) => resolve(cwd, name)).find((f) => existsSync(f))
  if (file === undefined) {
    throw new UsageError(
      `no Rewind configuration: create ${CONFIG_FILES[0]} in ${cwd} (\`rewind init\` writes a starter) or pass --config <path>`,
    )
  }
  if (!existsSync(file)) throw new UsageError(`--config ${path}: no such file (${file})`)
  const shown = relative(cwd, file) || file
  let mod: Record<string, unknown>
  try {
    mod = await importConfig(file)
  } catch (error) {
    throw new Error(`could not load ${shown}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    })
  }
  const config = configOf(mod)
  if (!config) {
    throw new UsageError(
      `${shown} must \`export default defineConfig({ rewind: ({ databaseUrl }) => ... })\` (from 'rewind-es/cli')`,
    )
  }
  return { config, file, context }
}

/** The default export, also when a CommonJS-compiled module wraps it as `module.exports.default`. */
function configOf(mod: Record<string, unknown>): RewindCliConfig | undefined {
  const isConfig = (v: unknown): v is RewindCliConfig =>
    typeof v === 'object' && v !== null && 'rewind' in v && (v as RewindCliConfig).rewind !== undefined
  const candidate = mod.default
  if (isConfig(candidate)) return candidate
  const nested = (candidate as { default?: unknown } | undefined)?.default
  return isConfig(nested) ? nested : undefined
}

const NATIVE_TS_FAILURES = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_MODULE_NOT_FOUND',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_INVALID_TYPESCRIPT_SYNTAX',
])

/**
 * Loads the configuration module. A TypeScript file is imported natively when the process can (it runs under
 * tsx, or a Node.js that strips types); otherwise through jiti, a small TypeScript loader with no
 * dependencies, so an app needs neither a build step nor a loader flag.
 */
async function importConfig(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href
  if (!/\.[mc]?ts$/.test(file)) return import(url)
  try {
    return await import(/* @vite-ignore */ url)
  } catch (error) {
    // Node without type stripping, or with it but without `.js` to `.ts` resolution and TypeScript-only
    // syntax: jiti handles both. (These fail before the module runs, so nothing of it ran twice.)
    if (!NATIVE_TS_FAILURES.has(String((error as { code?: unknown } | null)?.code))) throw error
  }
  const { createJiti } = await import('jiti')
  return createJiti(import.meta.url, { interopDefault: false }).import<Record<string, unknown>>(url)
}
