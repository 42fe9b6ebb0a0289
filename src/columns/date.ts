import { parseTimestamp } from '../data/pg-text.js'
import { BaseElement } from './codec.js'
import { bad, type CastResult, mismatch, ok } from './messages.js'

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/** date: canonical values are `YYYY-MM-DD`; a Date gives its UTC day. */
export class DateElement extends BaseElement {
  fromApp(value: unknown): CastResult {
    let text: string
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) return bad('expected a valid date, got an invalid Date')
      text = value.toISOString().slice(0, 10)
    } else if (typeof value === 'string') {
      text = value
    } else {
      return mismatch('expected a Date or a YYYY-MM-DD string', value)
    }
    const m = DATE_RE.exec(text)
    const p = m ? parseTimestamp(`${text}T00:00:00Z`) : undefined
    if (!p) return mismatch('expected a date as YYYY-MM-DD', value)
    return ok(text)
  }
}
