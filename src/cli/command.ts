import { GLOBAL_OPTIONS, type OptionSpecs, type OptionValues } from './args.js'
import type { LoadedConfig } from './config.js'
import type { Output } from './output.js'

/** What a command gets besides its arguments. */
export interface CommandContext {
  readonly out: Output
  /** The working directory (where `rewind.config.ts` is looked for and `init` writes). */
  readonly cwd: string
  /** True when a person can answer a question (a terminal). */
  readonly interactive: boolean
  /** Asks a question on the terminal and reads one line; undefined when the input ends first. */
  ask(question: string): Promise<string | undefined>
  /** The configuration: `--config`, `rewind.config.ts`, or the one passed to `buildCli`. */
  loadConfig(): Promise<LoadedConfig>
  /** Resolves when a long-running command (`rewind studio`) should stop: SIGINT or SIGTERM, or `CliOptions.signal`. */
  stopped(): Promise<void>
}

/** A positional argument of a command. */
export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly optional?: boolean
}

/** The parsed arguments a command runs with. */
export interface CommandInput<O extends OptionSpecs> {
  readonly values: OptionValues<O & typeof GLOBAL_OPTIONS>
  /** The positional arguments, checked against `args` (count). */
  readonly args: readonly string[]
}

/** One command of the CLI. `run` returns the exit code (see EXIT). */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string
  readonly summary: string
  readonly args: readonly ArgSpec[]
  readonly options: O
  /** Example invocations shown in help. */
  readonly examples?: readonly string[]
  run(input: CommandInput<O>, ctx: CommandContext): Promise<number>
}

/** Types a command from its options: `values` in `run` is inferred from them. */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command<O> {
  return command
}

/** `rewind history <resource> <id> [options]`. */
export function usageLine(command: Command<any>): string {
  const args = command.args.map((a) => (a.optional ? `[${a.name}]` : `<${a.name}>`))
  return ['rewind', command.name, ...args, '[options]'].join(' ')
}

/** The help of one command: usage, arguments, options (its own, then the global ones), examples. */
export function commandHelp(command: Command<any>): string {
  const lines = [`${command.summary}`, '', `Usage: ${usageLine(command)}`]
  const entries = (specs: OptionSpecs) =>
    Object.entries(specs).map(([name, spec]) => {
      const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`
      return [flag, spec.description] as const
    })
  const own = entries(command.options)
  const global = entries(GLOBAL_OPTIONS)
  const width = Math.max(
    ...[...own, ...global].map(([f]) => f.length),
    ...command.args.map((a) => a.name.length),
  )
  if (command.args.length) {
    lines.push('', 'Arguments:')
    for (const a of command.args) lines.push(`  ${a.name.padEnd(width)}  ${a.description}`)
  }
  if (own.length) {
    lines.push('', 'Options:')
    for (const [flag, text] of own) lines.push(`  ${flag.padEnd(width)}  ${text}`)
  }
  lines.push('', 'Global options:')
  for (const [flag, text] of global) lines.push(`  ${flag.padEnd(width)}  ${text}`)
  if (command.examples?.length) {
    lines.push('', 'Examples:')
    for (const e of command.examples) lines.push(`  ${e}`)
  }
  return lines.join('\n')
}
