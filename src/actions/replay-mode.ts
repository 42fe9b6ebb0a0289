import type { Json } from '../columns/values.js'
import type { AnyResource } from '../resource/define-resource.js'

/**
 * How replay drives an action through the ordinary pipeline: the values its event recorded, and which
 * hooks still run. Every place the pipeline takes a recorded value over what it would compute asks this.
 */
export interface ReplayMode {
  /** Columns written last, over whatever input and changes produced (the record id; with forceChange, the changed attributes). */
  readonly forced: ReadonlyMap<string, Json>
  /** Everything the event recorded (its record id and changed attributes): generators take these (`cs.setGenerated`). */
  readonly recorded: ReadonlyMap<string, Json>
  /** Keep only these columns among those input and changes set (an event replayed through its own action); undefined keeps all. */
  readonly keepOnly: ReadonlySet<string> | undefined
  /** Names of the changes whose hooks still run (`events.allowHooksInReplay`). */
  readonly allowedChanges: ReadonlySet<string>
}

/** The record id the event recorded. */
export function recordedId(mode: ReplayMode, resource: AnyResource): Json {
  return mode.forced.get(resource.primaryKey) ?? null
}

/** Whether a value input or changes set for this column is thrown away (neither cast nor checked). */
export function discarded(mode: ReplayMode | undefined, key: string): boolean {
  return mode !== undefined && (mode.forced.has(key) || mode.keepOnly?.has(key) === false)
}

/** The values to write, with the recorded ones having the last word. */
export function applyRecorded(mode: ReplayMode, resource: AnyResource, values: Map<string, Json>): void {
  if (mode.keepOnly) for (const key of [...values.keys()]) if (!mode.keepOnly.has(key)) values.delete(key)
  for (const [key, value] of mode.forced) {
    if (resource.codecs.has(key) && !resource.generatedColumns.has(key)) values.set(key, value)
  }
}
