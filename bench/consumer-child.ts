/**
 * The consumer side of the consumers bench on PostgreSQL, in a process of its own (as an app instance that
 * runs consumers): follows the log with a projection and a no-op subscription until SIGTERM, then prints one
 * JSON line: { arrivals: { key: wall-clock ms } }, the time each event reached the subscription's handler.
 *
 * node bench/.build/bench/consumer-child.js <connection string>
 */
import { connectDb } from './lib.js'
import { follow } from './scenarios/consumers.js'

const [where] = process.argv.slice(2)
const b = connectDb('postgres', where, 4)
const follower = await follow(b.db)
process.stdout.write('ready\n')
process.on('SIGTERM', async () => {
  await follower.stop()
  await b.close()
  // Exit once the (large) line is flushed: a pipe is written asynchronously.
  process.stdout.write(`${JSON.stringify({ arrivals: Object.fromEntries(follower.arrivals) })}\n`, () =>
    process.exit(0),
  )
})
