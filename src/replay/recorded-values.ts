import type { ExecOptions } from '../actions/action-run.js'
import type { ReplayMode } from '../actions/replay-mode.js'
import type { Json } from '../columns/values.js'
import { RewindError } from '../errors/rewind-error.js'
import type { ReplayedEvent } from '../events/event.js'
import { decodeArgument, UNAVAILABLE_ENCODERS } from '../events/payload.js'
import { ExactValue } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import type { Row } from '../rows/records.js'
import type { ActionShape } from './routes.js'

/**
 * What an event recorded, as the columns it sets through a target action: its accepted input (`data`) and
 * its changed attributes, leaving out values no key can give back (redacted, or encrypted with a key that is
 * gone). Replay and time travel both read an event through here.
 */
function recordedColumns(
  target: AnyResource,
  accepted: ReadonlySet<string>,
  event: ReplayedEvent,
  visit: (key: string, value: Json, from: 'data' | 'changed') => void,
): void {
  const dataEnc = event.encoders.data
  for (const key of Object.keys(event.data)) {
    if (!accepted.has(key)) continue
    if (dataEnc !== undefined && UNAVAILABLE_ENCODERS.has(dataEnc[key] ?? '')) continue
    visit(key, event.data[key]!, 'data')
  }
  const changedEnc = event.encoders.changed
  for (const key of Object.keys(event.changedAttributes)) {
    if (!target.codecs.has(key)) continue
    if (changedEnc !== undefined && UNAVAILABLE_ENCODERS.has(changedEnc[key] ?? '')) continue
    visit(key, event.changedAttributes[key]!, 'changed')
  }
}

/**
 * The input and options that re-run `event` through `target.action` in replay.
 *
 * forceChange writes the values the event recorded over whatever the action computes. An event replayed
 * through its own action keeps only the columns the event recorded (what the action computed then was
 * recorded, so anything else would be new); an event routed to another action keeps what that action's
 * changes compute, since the event was recorded by a different action and the target handles it (the seeds'
 * decision for rerouted replay). asArguments merges recorded columns into the input instead. Either way,
 * generators (`cs.setGenerated`: generateId, timestamps) take the recorded id and times.
 */
export function replayCall(
  target: AnyResource,
  action: string,
  shape: ActionShape,
  event: ReplayedEvent,
  routed: boolean,
): { input: Record<string, unknown>; options: ExecOptions } {
  const { def, strategy, accepted, argNames } = shape
  const dataEnc = event.encoders.data
  const id = target.codecs.get(target.primaryKey)!.fromText(event.recordId)
  const forceChange = strategy === 'forceChange'
  const keepOnly = forceChange && !routed ? new Set<string>([target.primaryKey]) : undefined
  const forced = new Map<string, Json>([[target.primaryKey, id]])
  const recorded = new Map<string, Json>([[target.primaryKey, id]])
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(event.data)) {
    if (accepted.has(key)) continue
    if (dataEnc !== undefined && UNAVAILABLE_ENCODERS.has(dataEnc[key] ?? '')) continue
    if (argNames.has(key)) input[key] = decodeArgument(event.data[key]!, dataEnc?.[key])
    else if (!def.ignoreUnknownInputs) {
      // Runtime errors from mismatches are preferable to silent data loss.
      const expected = [...accepted, ...argNames]
      throw new RewindError(
        'VALIDATION',
        `the event's input has "${key}", which ${target.name}.${action} does not accept (it accepts ${expected.length ? expected.map((k) => `"${k}"`).join(', ') : 'no input'}); accept it, declare it as an argument, or set ignoreUnknownInputs: true on the action to drop it`,
        { resource: target.name, action, issues: [{ path: [key], message: 'is not accepted' }] },
      )
    }
  }
  recordedColumns(target, accepted, event, (key, value, from) => {
    if (from === 'data') {
      input[key] = new ExactValue(value)
      keepOnly?.add(key)
      return
    }
    recorded.set(key, value)
    if (forceChange) {
      forced.set(key, value)
      keepOnly?.add(key)
    } else if (accepted.has(key) && !(key in input)) input[key] = new ExactValue(value)
  })
  const replay: ReplayMode = { forced, recorded, keepOnly, allowedChanges: shape.allowedChanges }
  const tenantCodec = target.tenant !== undefined ? target.codecs.get(target.tenant)! : undefined
  return {
    input,
    options: {
      replay,
      authorize: false,
      context: { replaying: true, event: { id: event.id, position: event.position } },
      tenant:
        tenantCodec && event.tenant !== null
          ? tenantCodec.toApp(tenantCodec.fromText(event.tenant))
          : undefined,
    },
  }
}

/**
 * The record's state after `event` applied through `target.action`, from its recorded values alone: what a
 * forceChange replay writes (time travel folds a record's events with this).
 */
export function stateAfter(
  target: AnyResource,
  shape: ActionShape,
  event: ReplayedEvent,
  state: Row | undefined,
): Row | undefined {
  const { def } = shape
  if (def.kind === 'destroy' && !def.soft) return undefined
  const creates = def.kind === 'create' && !(def.upsert && state)
  if (!creates && !state) return state
  const next = new Map<string, Json>()
  if (creates) {
    for (const key of target.codecs.keys()) next.set(key, null)
    next.set(target.primaryKey, target.codecs.get(target.primaryKey)!.fromText(event.recordId))
  } else for (const [k, v] of state!) next.set(k, v)
  recordedColumns(target, shape.accepted, event, (key, value) => next.set(key, value))
  return next
}
