import { castMessage } from '../columns/messages.js'
import { type Json, sameJson } from '../columns/values.js'
import type { Issue } from '../errors/rewind-error.js'
import { ExactValue } from '../resource/changeset.js'
import type { AnyResource } from '../resource/define-resource.js'
import { validationError } from './action-errors.js'
import type { ActionRun } from './action-run.js'
import { applyRecorded, discarded } from './replay-mode.js'

/**
 * The canonical column values to write: what input and changes set, app-side defaults (`$defaultFn`) on
 * inserts and update values (`$onUpdateFn`) otherwise, the optimistic lock's next value, the tenant, and in
 * replay the recorded values over all of them. An insert missing a required column fails here, naming it.
 */
export function resolveValues(run: ActionRun): void {
  const { resource, def, cs, parsed, tenant, replay } = run
  const issues: Issue[] = []
  const values = new Map<string, Json>()
  const inserts = run.write === 'insert' || run.write === 'upsert'
  // In replay, a column the event forces, or one the event did not record, is set or dropped below whatever
  // the changes computed: neither cast nor check what would be thrown away.
  const put = (key: string, value: unknown) => {
    if (discarded(replay, key)) return
    const codec = resource.codecs.get(key)
    if (!codec) {
      issues.push({ path: [key], message: `is not a column of ${resource.name}` })
      return
    }
    if (resource.generatedColumns.has(key)) {
      issues.push({ path: [key], message: 'is a generated column; the database computes it' })
      return
    }
    if (value instanceof ExactValue) {
      values.set(key, value.value)
      // Written as given: what the database made of it is the row's to say (see event-with-row.ts).
      if (!value.canonical && !replay) run.givenExact = true
      return
    }
    const cast = codec.fromApp(value)
    if (!cast.ok) issues.push({ path: [key], message: castMessage(cast, resource.sensitive.has(key)) })
    else values.set(key, cast.value)
  }
  if (run.write !== 'delete') {
    for (const [key, value] of cs.attributes) {
      if (parsed.attributes.has(key) && parsed.attributes.get(key) === value)
        values.set(key, parsed.castAttributes.get(key)!)
      else put(key, value)
    }
    if (inserts) {
      for (const [key, fn] of resource.appDefaults)
        if (!values.has(key) && !discarded(replay, key)) put(key, fn())
    } else {
      for (const [key, fn] of resource.appOnUpdate)
        if (!cs.attributes.has(key) && !discarded(replay, key)) put(key, fn())
    }
    if (def.optimisticLock && run.actionType !== 'create') {
      const current = cs.record?.[def.optimisticLock]
      if (!cs.attributes.has(def.optimisticLock))
        put(def.optimisticLock, (typeof current === 'number' ? current : 0) + 1)
    }
  }
  if (issues.length > 0) throw validationError(run, issues)
  if (resource.tenant !== undefined && tenant !== undefined && run.actionType === 'create') {
    if (otherTenantGiven(resource, values, tenant)) {
      throw validationError(run, [
        {
          path: [resource.tenant],
          message: `is the tenant column; it must equal the tenant of the call (${JSON.stringify(tenant)})`,
        },
      ])
    }
    values.set(resource.tenant, tenant)
  }
  if (replay) applyRecorded(replay, resource, values)
  if (inserts) {
    const missing: Issue[] = []
    for (const key of resource.requiredColumns) {
      const v = values.get(key)
      if (v === undefined || v === null) missing.push({ path: [key], message: 'is required' })
    }
    if (missing.length > 0) throw validationError(run, missing)
  }
  run.values = values
}

/** Whether a create's values give its tenant column a tenant other than the call's (which the tenant column must hold). */
export function otherTenantGiven(
  resource: AnyResource,
  values: ReadonlyMap<string, Json>,
  tenant: Json,
): boolean {
  const given = values.get(resource.tenant!)
  return given !== undefined && given !== null && !sameJson(given, tenant)
}
