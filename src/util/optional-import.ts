import { RewindError } from '../errors/rewind-error.js'

/**
 * Imports a driver module only when it is used: the embedded PGlite default, and Drizzle's adapters for the
 * database a hook asks for. The specifier is passed through a variable, so bundlers leave the import to run
 * time: a server bundle that runs on PostgreSQL does not carry PGlite, and one on PGlite does not need `pg`.
 */
export async function optionalImport<T>(specifier: string, purpose: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      // The missing package may be one the module imports (drizzle-orm/node-postgres needs pg).
      const named = /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/']+)/.exec(
        String((error as Error).message),
      )
      const pkg =
        named?.[1] ??
        specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/')
      throw new RewindError(
        'INVALID_DEFINITION',
        `${purpose} needs the package "${pkg}", which is not installed: npm install ${pkg}`,
        { cause: error },
      )
    }
    throw error
  }
}
