/**
 * npm run bench [-- --quick] [-- --backend pglite|postgres] [-- --only write1,concurrent,verify,log,consumers,relay,studio]
 * Prints a table and writes bench/results/latest.json: [{ name, backend, value, unit, target }].
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { type BackendName, BENCH_DIR, COMPILED, type Metric, postgresReachable } from './lib.js'
import { consumers } from './scenarios/consumers.js'
import { logScale } from './scenarios/log-scale.js'
import { relayBench } from './scenarios/relay.js'
import { studioPages } from './scenarios/studio.js'
import { verifyHold } from './scenarios/verify-hold.js'
import { writeConcurrent } from './scenarios/write-concurrent.js'
import { writeOne } from './scenarios/write-one.js'

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, backend: { type: 'string' }, only: { type: 'string' } },
})
const quick = values.quick === true
const only = new Set((values.only ?? 'write1,concurrent,verify,log,consumers,relay,studio').split(','))
let backends: BackendName[] = values.backend ? [values.backend as BackendName] : ['pglite', 'postgres']
if (backends.some((b) => b !== 'pglite' && b !== 'postgres')) {
  console.error(`--backend must be pglite or postgres, got ${values.backend}`)
  process.exit(2)
}
if (backends.includes('postgres') && !(await postgresReachable())) {
  if (values.backend === 'postgres') {
    console.error('PostgreSQL is not reachable (DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)')
    process.exit(2)
  }
  console.error('PostgreSQL is not reachable: benchmarking PGlite only')
  backends = ['pglite']
}

if (!COMPILED)
  console.error('running under tsx: figures include the loader (npm run bench runs compiled JavaScript)')
const started = performance.now()
const metrics: Metric[] = []
const step = async (label: string, fn: () => Promise<Metric[]>) => {
  const t = performance.now()
  process.stderr.write(`… ${label}\n`)
  metrics.push(...(await fn()))
  process.stderr.write(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`)
}
for (const backend of backends) {
  if (only.has('write1')) await step(`write path, one writer (${backend})`, () => writeOne(backend, quick))
  if (only.has('concurrent'))
    await step(`write path, 8 concurrent writers (${backend})`, () => writeConcurrent(backend, quick))
  if (only.has('verify'))
    await step(`a writer during a verification (${backend})`, () => verifyHold(backend, quick))
  if (only.has('log'))
    await step(`time travel, reads and replay (${backend})`, () => logScale(backend, quick))
  if (only.has('consumers'))
    await step(`consumers: throughput, lag and latency with 8 writers (${backend})`, () =>
      consumers(backend, quick),
    )
  if (only.has('relay'))
    await step(`relay: NATS JetStream throughput, and lag with 8 writers (${backend})`, () =>
      relayBench(backend, quick),
    )
  if (only.has('studio')) await step(`the studio's pages (${backend})`, () => studioPages(backend, quick))
}

const met = (m: Metric) =>
  m.target === null ? '' : (m.direction === 'max' ? m.value <= m.target : m.value >= m.target) ? 'yes' : 'NO'
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2))
const rows = metrics.map((m) => [
  m.name,
  m.backend,
  fmt(m.value),
  m.unit,
  m.target === null ? '' : `${m.direction === 'max' ? '≤' : '≥'} ${m.target}`,
  met(m),
])
const header = ['metric', 'backend', 'value', 'unit', 'target', 'met']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
for (const r of [header, ...rows])
  console.log(
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
console.log(`\n${quick ? 'quick' : 'full'} run in ${((performance.now() - started) / 1000).toFixed(0)} s`)

mkdirSync(new URL('./results/', BENCH_DIR), { recursive: true })
writeFileSync(
  new URL('./results/latest.json', BENCH_DIR),
  `${JSON.stringify(
    metrics.map(({ name, backend, value, unit, target }) => ({ name, backend, value, unit, target })),
    null,
    2,
  )}\n`,
)
