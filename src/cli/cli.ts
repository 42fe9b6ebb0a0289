import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { leadingGlobalOptions, parseCommandArgs } from './args.js'
import { type Command, type CommandContext, commandHelp, usageLine } from './command.js'
import { checkCommand } from './commands/check.js'
import { consumersCommand } from './commands/consumers.js'
import { eventsCommand } from './commands/events.js'
import { historyCommand } from './commands/history.js'
import { initCommand } from './commands/init.js'
import { relayCommand } from './commands/relay.js'
import { replayCommand } from './commands/replay.js'
import { schemaCommand } from './commands/schema.js'
import { stateCommand } from './commands/state.js'
import { studioCommand } from './commands/studio.js'
import { verifyCommand } from './commands/verify.js'
import { CONFIG_FILES, loadConfig, type RewindCliConfig } from './config.js'
import { EXIT, errorDetails, errorLine, isUsageError, UsageError } from './errors.js'
import { Output, type OutputStream } from './output.js'
import { unknownNameMessage } from './suggest.js'

/** The commands, in the order help lists them. */
export const COMMANDS: readonly Command<any>[] = [
  eventsCommand,
  historyCommand,
  stateCommand,
  replayCommand,
  verifyCommand,
  checkCommand,
  consumersCommand,
  relayCommand,
  studioCommand,
  schemaCommand,
  initCommand,
]

/** Where the CLI reads and writes; every field defaults to the process's own. */
export interface CliOptions {
  /** Results. Default `process.stdout`. */
  readonly stdout?: OutputStream
  /** Errors, progress, prompts and cursors. Default `process.stderr`. */
  readonly stderr?: OutputStream
  /** Answers to questions (the replay confirmation). Default `process.stdin`. */
  readonly stdin?: NodeJS.ReadableStream
  /** Default `process.env`: `DATABASE_URL` goes to the configuration, `NO_COLOR` turns colours off. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** A person reads stdout: aligned tables, colours, a progress bar. Default `process.stdout.isTTY`. */
  readonly isTTY?: boolean
  /** A person can answer questions. Default `isTTY` when given, else whether stdin and stdout are terminals. */
  readonly interactive?: boolean
  /** Where `rewind.config.ts` is looked for and `init` writes. Default `process.cwd()`. */
  readonly cwd?: string
  /** Use this configuration instead of loading a file (to embed the CLI in an app's own script). */
  readonly config?: RewindCliConfig
  /** Aborting it stops a long-running command (`rewind studio`). Default: SIGINT or SIGTERM stops it. */
  readonly signal?: AbortSignal
}

/** The `rewind` command line, runnable in-process. */
export interface Cli {
  /** Runs one command line (without the program name) and returns its exit code: 0, 1 or 2. */
  run(argv: readonly string[]): Promise<number>
}

/**
 * Builds the `rewind` CLI. `bin.ts` runs it on the process's arguments; tests and scripts run it in-process.
 *
 * ```ts
 * const code = await buildCli({ stdout, stderr, env: { DATABASE_URL: url }, isTTY: false }).run(['events', '--json'])
 * ```
 */
export function buildCli(options: CliOptions = {}): Cli {
  if (!options.stdout) exitQuietlyOnClosedPipe()
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  const env = options.env ?? process.env
  const isTTY = options.isTTY ?? process.stdout.isTTY === true
  const interactive =
    options.interactive ?? options.isTTY ?? (process.stdin.isTTY === true && process.stdout.isTTY === true)
  const cwd = options.cwd ?? process.cwd()
  // https://no-color.org: present and not empty.
  const out = new Output(stdout, stderr, isTTY, isTTY && !env.NO_COLOR)

  const fail = (error: unknown, verbose: boolean, command?: Command<any>): number => {
    const usage = isUsageError(error)
    out.note(`${out.color.red('error:')} ${usage ? error.message : errorLine(error)}`)
    if (usage && command && /^(missing|unexpected)/.test(error.message))
      out.note(`usage: ${usageLine(command)}`)
    if (verbose) out.note(errorDetails(error))
    return usage ? EXIT.USAGE : EXIT.FAILURE
  }

  return {
    async run(argv) {
      const beforeEnd = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
      const verbose = beforeEnd.includes('--verbose')
      let leading: { options: string[]; next: number }
      try {
        leading = leadingGlobalOptions(argv)
      } catch (error) {
        return fail(error, verbose)
      }
      const [name, ...after] = argv.slice(leading.next)
      if (name === undefined) {
        out.note(mainHelp())
        return EXIT.USAGE
      }
      if (name === '--help' || name === '-h' || name === 'help') {
        const topic = name === 'help' ? COMMANDS.find((c) => c.name === after[0]) : undefined
        out.line(topic ? commandHelp(topic) : mainHelp())
        return EXIT.OK
      }
      if (name === '--version' || name === '-v') {
        out.line(version())
        return EXIT.OK
      }
      const command = COMMANDS.find((c) => c.name === name)
      if (!command) {
        const names = COMMANDS.map((c) => c.name)
        const see = 'see `rewind --help`'
        return fail(
          new UsageError(
            name.startsWith('-')
              ? `unknown option ${name}: expected one of ${names.join(', ')} (${see})`
              : unknownNameMessage('command', name, names, see),
          ),
          verbose,
        )
      }
      // Global options given before the command count as if given after it.
      const rest = [...leading.options, ...after]
      const ownEnd = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest
      if (ownEnd.includes('--help') || ownEnd.includes('-h')) {
        out.line(commandHelp(command))
        return EXIT.OK
      }
      try {
        const { values, positionals } = parseCommandArgs(rest, command.options, command.name)
        const required = command.args.filter((a) => !a.optional)
        if (positionals.length < required.length) {
          const missing = required.slice(positionals.length).map((a) => `<${a.name}>`)
          throw new UsageError(`missing ${missing.join(' ')}`)
        }
        if (positionals.length > command.args.length) {
          throw new UsageError(`unexpected argument "${positionals[command.args.length]}"`)
        }
        const configPath = values.config as string | undefined
        const context = { databaseUrl: env.DATABASE_URL || undefined, env, cwd }
        const ctx: CommandContext = {
          out,
          cwd,
          interactive,
          ask: async (question) => {
            out.rawNote(question)
            return readLine(options.stdin ?? process.stdin)
          },
          stopped: () => stopSignal(options.signal),
          loadConfig: async () =>
            options.config && configPath === undefined
              ? { config: options.config, file: undefined, context }
              : loadConfig(configPath, context),
        }
        return await command.run({ values, args: positionals }, ctx)
      } catch (error) {
        return fail(error, verbose, command)
      }
    },
  }
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'rewind: read, replay and verify the event log of a Rewind app.',
    '',
    'Usage: rewind <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Configuration: ./${CONFIG_FILES[0]} (or --config PATH) default-exports`,
    '  defineConfig({ rewind: ({ databaseUrl }) => ... }) from rewind-es/cli; `rewind init` writes a starter.',
    '  DATABASE_URL, when set, is passed to it as databaseUrl.',
    'Output: aligned tables and colours on a terminal (NO_COLOR turns colours off), tab-separated rows',
    '  otherwise, --json for scripts. Errors take one line; --verbose adds the stack.',
    'Global options (--config, --verbose) go before or after the command.',
    'Exit codes: 0 success, 1 failure (differences found, a record or event that does not exist, a declined',
    '  confirmation), 2 usage error (unknown command, option or resource, a malformed value).',
    '',
    'Run `rewind <command> --help` for its options.',
  ].join('\n')
}

function version(): string {
  // ../../package.json from src/cli and from dist/cli alike.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string
  }
  return `rewind ${pkg.version ?? 'unknown'}`
}

let pipeWatched = false

/** `rewind events | head` closes stdout early: that ends the command, it is not an error to report. */
function exitQuietlyOnClosedPipe(): void {
  if (pipeWatched) return
  pipeWatched = true
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.OK)
    throw error
  })
}

/** Resolves when the signal aborts, or without one on SIGINT or SIGTERM (then the handlers are removed). */
function stopSignal(signal: AbortSignal | undefined): Promise<void> {
  if (signal) {
    return new Promise((resolve) => {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => resolve(), { once: true })
    })
  }
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** One line of input, or undefined when the input ends first. */
function readLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false })
    let answered = false
    rl.once('line', (line) => {
      answered = true
      rl.close()
      resolve(line)
    })
    rl.once('close', () => {
      if (!answered) resolve(undefined)
    })
  })
}
