import type { AnyResource } from '../resource/define-resource.js'

/**
 * A record id as a person types it (a URL, a command line): the primary key's app value, or why it is not
 * one. Integer keys take a number (mode 'number') or a bigint (mode 'bigint'): each is tried.
 */
export function parseRecordId(
  resource: AnyResource,
  text: string,
): { readonly ok: true; readonly id: unknown } | { readonly ok: false; readonly message: string } {
  const codec = resource.codecs.get(resource.primaryKey)!
  const candidates: unknown[] = /^-?\d+$/.test(text) ? [Number(text), BigInt(text), text] : [text]
  let first: string | undefined
  for (const candidate of candidates) {
    const cast = codec.fromApp(candidate)
    if (cast.ok) return { ok: true, id: codec.toApp(cast.value) }
    first ??= cast.message
  }
  return { ok: false, message: first ?? 'not a valid id' }
}
