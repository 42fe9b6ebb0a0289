/**
 * The `rewind` command line: {@link defineConfig} types a `rewind.config.ts`; {@link buildCli} runs commands
 * in-process (tests, an app's own scripts).
 * @module
 */
export { buildCli, type Cli, type CliOptions } from './cli.js'
export { type AnyRewind, defineConfig, type RewindCliConfig, type RewindFactoryContext } from './config.js'
export { EXIT } from './errors.js'
export type { OutputStream } from './output.js'
