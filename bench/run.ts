/**
 * npm run bench [-- --quick] [-- --backend pglite|postgres] [-- --only write1,concurrent,verify,log,consumers,relay,studio]
 * Prints a table and writes bench/results/latest.json: [{ name, backend, value, unit, target }].
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  options: {
    quick: { type: 'boolean' },
    backend: { type: 'string' },
    only: { type: 'string' },
    // Internal: the run of one backend in a process of its own writes its metrics here (see below).
    'metrics-to': { type: 'string' },
  },
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
/** The scenarios of one backend, in this process. */
async function runBackend(backend: BackendName): Promise<void> {
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

/**
 * Each backend in a process of its own, as an application runs one: the first backend's run would otherwise leave
 * the second's process with its compiled code, its inline caches having seen both database seams, and its heap
 * (PGlite's WebAssembly memory stays mapped: about 950 MB resident after its write scenarios). Rewind's code is
 * shared by both backends and its peers' is not, so the second backend's Rewind figures paid for the first's.
 */
async function runInChild(backend: BackendName): Promise<Metric[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-bench-'))
  const out = join(dir, 'metrics.json')
  const args = [
    ...process.execArgv,
    process.argv[1]!,
    '--backend',
    backend,
    '--metrics-to',
    out,
    ...(quick ? ['--quick'] : []),
    ...(values.only ? ['--only', values.only] : []),
  ]
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] })
      child.on('error', reject)
      child.on('exit', resolve)
    })
    if (code !== 0) throw new Error(`the ${backend} bench exited with ${code}`)
    return JSON.parse(readFileSync(out, 'utf8')) as Metric[]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (backends.length === 1) await runBackend(backends[0]!)
else for (const backend of backends) metrics.push(...(await runInChild(backend)))
if (values['metrics-to']) {
  writeFileSync(values['metrics-to'], JSON.stringify(metrics))
  process.exit(0)
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
