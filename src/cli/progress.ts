import type { ReplayProgress } from '../replay/replay-options.js'
import type { Output } from './output.js'

const BAR_WIDTH = 30
/** A terminal redraws at most this often; a log gets at most one line per interval. */
const TTY_INTERVAL_MS = 80
const LINE_INTERVAL_MS = 1000

/** Reports progress on stderr: a bar redrawn in place on a terminal, a line a second otherwise. */
export interface ProgressReporter {
  update(progress: ReplayProgress): void
  /** Draws the last state and ends the bar's line. */
  finish(): void
}

export function progressReporter(
  out: Output,
  label: string,
  now: () => number = performance.now.bind(performance),
): ProgressReporter {
  let last: ReplayProgress | undefined
  let drawnAt = Number.NEGATIVE_INFINITY
  let drawn: ReplayProgress | undefined
  const draw = (p: ReplayProgress) => {
    drawn = p
    drawnAt = now()
    if (out.isTTY) out.rawNote(`\r${bar(p, out)}\x1b[K`)
    else out.note(`${label}: ${facts(p).join(', ')}`)
  }
  return {
    update(p) {
      last = p
      if (now() - drawnAt >= (out.isTTY ? TTY_INTERVAL_MS : LINE_INTERVAL_MS)) draw(p)
    },
    finish() {
      if (last && last !== drawn) draw(last)
      if (out.isTTY && drawn) out.rawNote('\n')
    },
  }
}

function bar(p: ReplayProgress, out: Output): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 1
  const filled = Math.round(ratio * BAR_WIDTH)
  const cells = `${out.color.green('█'.repeat(filled))}${out.color.dim('░'.repeat(BAR_WIDTH - filled))}`
  return `${cells} ${facts(p).join('  ')}`
}

/** `4,500/10,000 events (45%)`, `1,234 events/s`, `ETA 4 s`. */
function facts(p: ReplayProgress): string[] {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  const percent = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100
  const out = [`${n(p.done)}/${n(p.total)} events (${percent}%)`, `${n(p.eventsPerSecond)} events/s`]
  if (p.done < p.total && p.eventsPerSecond > 0)
    out.push(`ETA ${duration((p.total - p.done) / p.eventsPerSecond)}`)
  return out
}

/** Seconds as `42 s` or `3 min 5 s`. */
export function duration(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}
