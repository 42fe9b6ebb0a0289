import type { Json } from '../columns/values.js'
import type { RewindEvent } from '../events/event.js'
import type { ConsistencyFinding } from '../replay/check-consistency.js'
import type { HistoryEntry } from '../replay/time-travel.js'
import type { TableDifferences } from '../replay/verify.js'
import type { AnyResource } from '../resource/define-resource.js'

/**
 * How what Rewind reads is shown to people (the CLI, the studio): sensitive values are masked unless the person
 * asked to see them. One masker for every view, so that none of them shows what another hides.
 */

/** What people see in place of a sensitive value unless they ask to reveal it. */
export const MASK = '•••'

/** The marker of a masked value in JSON output: `{"$masked":true}`. */
export interface Masked {
  readonly $masked: true
}

/**
 * What stands in for a sensitive value: it serialises as `{"$masked":true}` in JSON, so scripts can tell a
 * masked value from a string that happens to read •••, and views show it as {@link MASK}.
 */
export const MASKED: Masked = Object.freeze({ $masked: true })

/** The keys of a resource that are sensitive (masked unless revealed). */
export type SensitiveKeys = (resource: string) => ReadonlySet<string>

/** Sensitive keys per resource name, from the app's definitions (none for a resource it no longer has). */
export function sensitiveKeys(
  rewind: { readonly resources: ReadonlyMap<string, AnyResource> },
  reveal: boolean,
): SensitiveKeys {
  const none = new Set<string>()
  return (name) => (reveal ? none : (rewind.resources.get(name)?.sensitive ?? none))
}

/** A sensitive value as shown: {@link MASKED}, except that null stays null (it reveals nothing). */
export function maskValue(value: unknown): unknown {
  return value === null ? null : MASKED
}

/** A copy of a record or payload with sensitive values replaced by {@link MASKED} (nulls stay null). */
export function masked<T extends Readonly<Record<string, unknown>>>(
  values: T,
  sensitive: ReadonlySet<string>,
): T {
  if (sensitive.size === 0) return values
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(values)) out[k] = sensitive.has(k) ? maskValue(v) : v
  return out as T
}

/** An event with its sensitive payload values masked. */
export function maskEvent<E extends RewindEvent>(event: E, sensitive: SensitiveKeys): E {
  const keys = sensitive(event.resource)
  if (keys.size === 0) return event
  return {
    ...event,
    data: masked(event.data, keys),
    changedAttributes: masked(event.changedAttributes, keys),
  }
}

/** Pairs of values (`{ from, to }`, `{ live, replayed }`, ...) per key, both sides masked for sensitive keys. */
export function maskPairs<P extends object>(
  pairs: Readonly<Record<string, P>>,
  sensitive: ReadonlySet<string>,
): Record<string, P> {
  if (sensitive.size === 0) return pairs as Record<string, P>
  return Object.fromEntries(
    Object.entries(pairs).map(([key, pair]) => [
      key,
      sensitive.has(key)
        ? (Object.fromEntries(Object.entries(pair).map(([side, v]) => [side, maskValue(v)])) as P)
        : pair,
    ]),
  )
}

/** A history entry with its payloads and its field changes masked. */
export function maskHistoryEntry(entry: HistoryEntry, sensitive: SensitiveKeys): HistoryEntry {
  return {
    ...maskEvent(entry, sensitive),
    changes: maskPairs(entry.changes, sensitive(entry.resource)),
  }
}

/** Consistency findings with the live and logged values of sensitive columns masked. */
export function maskFindings(
  findings: readonly ConsistencyFinding[],
  sensitive: SensitiveKeys,
): ConsistencyFinding[] {
  return findings.map((f) =>
    f.columns ? { ...f, columns: maskPairs(f.columns, sensitive(f.resource ?? '')) } : f,
  )
}

/** Verification differences with the live and replayed values of sensitive columns masked. */
export function maskDifferences(
  differences: readonly TableDifferences[],
  sensitive: SensitiveKeys,
): TableDifferences[] {
  return differences.map((t) => {
    const keys = sensitive(t.resource)
    return { ...t, rows: t.rows.map((row) => ({ ...row, columns: maskPairs(row.columns, keys) })) }
  })
}

/** A record's canonical state (every column, null where unset) with its sensitive values masked. */
export function maskState(
  resource: AnyResource,
  state: ReadonlyMap<string, Json>,
  sensitive: SensitiveKeys,
): Record<string, unknown> {
  return masked(
    Object.fromEntries([...resource.codecs.keys()].map((k) => [k, state.get(k) ?? null])),
    sensitive(resource.name),
  )
}
