import { pgEnum, pgSchema, pgTable, uuid } from 'drizzle-orm/pg-core'
import { afterAll, describe, expect, it } from 'vitest'
import { createRewind, defineResource, eventLogTable, generateId, type Rewind } from '../../src/index.js'
import { backends, type TestDatabase } from '../support/backends.js'

// Every text parameter is cast to its column's type in SQL ($1::text::"Mood"): an enum's name must be quoted (a
// mixed-case name folds to lower case unquoted) and qualified by its schema, in arrays and actor columns too.
const mood = pgEnum('Mood', ['happy', 'sad'])
const tone = pgSchema('sounds').enum('tone', ['low', 'high'])

const feelings = pgTable('feelings', {
  id: uuid('id').primaryKey(),
  mood: mood('mood'),
  tone: tone('tone'),
  moods: mood('moods').array(),
  tones: tone('tones').array(),
})
const Feeling = defineResource(feelings, {
  name: 'Feeling',
  actions: (a) => ({
    create: a.create({ accept: ['mood', 'tone', 'moods', 'tones'], changes: [generateId()] }),
    update: a.update({ accept: ['mood', 'tone', 'moods', 'tones'] }),
  }),
})
const feelingEvents = eventLogTable('feeling_events', { actors: { mood: mood('actor_mood') } })

describe.each(backends)('enum columns on $name', (backend) => {
  let tdb: TestDatabase
  let rewind: Rewind<[typeof Feeling]>
  afterAll(async () => {
    await rewind?.close()
    await tdb?.close()
  })

  it('writes, reads, logs and replays mixed-case and schema-qualified enums, in arrays and as actors', async () => {
    tdb = await backend.create()
    rewind = await createRewind({
      db: tdb.db,
      resources: [Feeling],
      eventLog: {
        table: feelingEvents,
        actors: { mood: (a: unknown) => (a as { mood?: string } | undefined)?.mood },
      },
      createTables: true,
    })
    const created = await rewind.run(
      Feeling,
      'create',
      { mood: 'happy', tone: 'low', moods: ['happy', 'sad'], tones: ['high', 'low'] },
      { actor: { mood: 'sad' } },
    )
    expect(created).toMatchObject({
      mood: 'happy',
      tone: 'low',
      moods: ['happy', 'sad'],
      tones: ['high', 'low'],
    })
    await rewind.run(Feeling, 'update', { tone: 'high', moods: ['sad'], tones: [] }, { id: created.id })
    const expected = { id: created.id, mood: 'happy', tone: 'high', moods: ['sad'], tones: [] }
    expect(await rewind.get(Feeling, created.id)).toEqual(expected)

    const { events } = await rewind.events({ actor: { mood: 'sad' } })
    expect(events.map((e) => [e.action, e.actor])).toEqual([['create', { mood: 'sad' }]])
    await expect(
      rewind.run(Feeling, 'update', { moods: ['happy', 'angry'] } as never, { id: created.id }),
    ).rejects.toMatchObject({ code: 'VALIDATION' })

    for (const mode of ['batched', 'naive'] as const) {
      await rewind.replay({ mode })
      expect(await rewind.get(Feeling, created.id)).toEqual(expected)
    }
    const verified = await rewind.verifyReplay()
    expect(verified.differences).toEqual([])
    expect(verified.ok).toBe(true)
  })
})
