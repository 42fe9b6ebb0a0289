import { createRewind } from 'rewind-es'
import { resources, User } from './resources.js'
import { events } from './schema.js'

/** Who acts: a signed-in user, or a system process (a seed script, a job, the previous app version). */
export type Actor =
  | { readonly type: 'user'; readonly id: string }
  | { readonly type: 'system'; readonly name: string }

/** A demo key: 32 bytes, base64. In production it comes from a secret store and rotates by key id. */
export const DEMO_KEY = Buffer.alloc(32, 42).toString('base64')

export interface AppOptions {
  /** Create the tables when missing (default true: the demo starts from an empty database). */
  readonly createTables?: boolean
}

/**
 * The app's Rewind instance over a Drizzle database (PGlite or a pg Pool). The demo, the tests and
 * `rewind.config.ts` all call this, so the CLI reads and replays the log exactly as the app writes it.
 */
export function createApp(db: unknown, { createTables = true }: AppOptions = {}) {
  return createRewind({
    db,
    resources,
    createTables,
    eventLog: {
      table: events,
      // One resolver per actor column: the value to store for this actor, or undefined when it is another type.
      actors: {
        userId: (actor) =>
          (actor as Actor | undefined)?.type === 'user' ? (actor as { id: string }).id : undefined,
        systemActor: (actor) =>
          (actor as Actor | undefined)?.type === 'system' ? (actor as { name: string }).name : undefined,
      },
      // Sensitive values (the hashed password, the password argument) are stored encrypted, so replay can
      // restore them exactly; without a key they would be redacted.
      encryption: { current: 'demo', keys: { demo: DEMO_KEY } },
      // Events of the first version of User.create are replayed through the legacy action.
      replayOverrides: [{ resource: 'User', action: 'create', versions: [1], routeTo: [[User, 'createV1']] }],
    },
  })
}

export type App = Awaited<ReturnType<typeof createApp>>
