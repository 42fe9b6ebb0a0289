/**
 * The relay of the relay bench on PostgreSQL, in a process of its own (as an app instance that runs it):
 * publishes until SIGTERM.
 *
 * node bench/.build/bench/relay-child.js <connection string> <nats url> <stream>
 */
import { connectDb } from './lib.js'
import { openRelay } from './scenarios/relay.js'

const [where, servers, stream] = process.argv.slice(2)
const b = connectDb('postgres', where, 4)
const { rewind } = await openRelay(b.db, servers!, stream!)
await rewind.consumers.start({ pollMs: 1000 })
process.stdout.write('ready\n')
process.on('SIGTERM', async () => {
  await rewind.close()
  await b.close()
  process.exit(0)
})
