import { describe, type Json, kindOf } from './values.js'

/**
 * Why a value does not fit its column. Values can be secrets (passwords, tokens) and errors end up in logs, so
 * the default, `message`, never shows the value (only its type); `messageWithValue` says the same with the
 * value shown, for a caller that knows the field is not sensitive (see {@link castMessage}).
 */
export interface CastFailure {
  readonly ok: false
  /** What was expected and the type of what came: never the value itself. */
  readonly message: string
  /** The same, showing what came (`got the number 42`): only for fields that are not sensitive. */
  readonly messageWithValue: string
}

export type CastResult = { readonly ok: true; readonly value: Json } | CastFailure

/** The text of a cast failure for a field: the value shown only when the field is not sensitive. */
export function castMessage(failure: CastFailure, sensitive: boolean): string {
  return sensitive ? failure.message : failure.messageWithValue
}

export const ok = (value: Json): CastResult => ({ ok: true, value })

/** A failure whose message shows nothing of the value. */
export const bad = (message: string): CastFailure => ({ ok: false, message, messageWithValue: message })

/** A failure whose message can show the value: `safe` without it, `withValue` with it. */
export const badWith = (safe: string, withValue: string): CastFailure => ({
  ok: false,
  message: safe,
  messageWithValue: withValue,
})

/** "expected ..., got X": the type of X by default, X itself for fields that are not sensitive. */
export const mismatch = (expectation: string, value: unknown): CastFailure =>
  badWith(`${expectation}, got ${kindOf(value)}`, `${expectation}, got ${describe(value)}`)
