import type { AnyResource } from '../resource/define-resource.js'

/** The names of the resources events may carry: the app's, and those its replay overrides name. */
export function resourceNames(rewind: {
  readonly resources: ReadonlyMap<string, AnyResource>
  readonly eventLog?:
    | {
        readonly config: { readonly replayOverrides: readonly { readonly resource: string | AnyResource }[] }
      }
    | undefined
}): string[] {
  const names = new Set(rewind.resources.keys())
  for (const o of rewind.eventLog?.config.replayOverrides ?? []) {
    names.add(typeof o.resource === 'string' ? o.resource : o.resource.name)
  }
  return [...names]
}
