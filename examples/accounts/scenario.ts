import { randomUUID } from 'node:crypto'
import { type SQL, sql } from 'drizzle-orm'
import { isRewindError } from 'rewind-es'
import type { Actor, App } from './app.js'
import { Article, Membership, Org, User } from './resources.js'

/** Narration of one step: who acted, what ran, and what came of it. */
export type Say = (who: string, action: string, detail: string) => void

/** The records the scenario made, for the tour (and tests) to look at. */
export interface ScenarioResult {
  readonly org: { readonly id: string; readonly name: string }
  readonly ada: { readonly id: string; readonly name: string | null }
  readonly charles: { readonly id: string }
  readonly article: { readonly id: string; readonly title: string }
  readonly legacyUserIds: readonly string[]
}

/**
 * A day in the life of the accounts app. `run` distinguishes repeated runs on a kept database (emails and
 * organisation names are unique).
 */
export async function runScenario(app: App, { run = 1, say = () => {} }: { run?: number; say?: Say } = {}) {
  const db = app.db as { execute(query: SQL): Promise<unknown> }
  const seed: Actor = { type: 'system', name: 'seed' }

  // 1. What an older version of the app left behind: rows, and v1 events of User.create (no password, no
  //    membership then). The current app routes them to User.createV1 at replay (see app.ts).
  const legacyUserIds: string[] = []
  for (const name of ['Grace', 'Linus']) {
    const id = randomUUID()
    const email = `${name.toLowerCase()}.${run}@legacy.example`
    const at = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, -1)}000Z`
    await db.execute(
      sql`INSERT INTO users (id, email, name, created_at, updated_at) VALUES (${id}, ${email}, ${name}, ${at}, ${at})`,
    )
    await db.execute(sql`
      INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes, occurred_at, system_actor)
      VALUES (${id}, 'User', 'create', 'create', 1, ${JSON.stringify({ email, name })}::jsonb,
              ${JSON.stringify({ id, createdAt: at, updatedAt: at })}::jsonb, ${at}, 'legacy-app')`)
    legacyUserIds.push(id)
    say('legacy-app', 'User.create v1', `${name} <${email}> (written by the previous app version)`)
  }

  // 2. Today's actions. Each writes its row and its event in one transaction.
  const org = await app.run(
    Org,
    'create',
    { name: `Analytical Engines ${run}` },
    { actor: seed, metadata: { requestId: 'req-1' } },
  )
  say('seed', 'Org.create', org.name)

  const ada = await app.run(
    User,
    'create',
    {
      email: `ada.${run}@example.com`,
      name: 'Ada',
      orgId: org.id,
      password: 'correct horse battery',
      role: 'admin',
    },
    { actor: seed, metadata: { requestId: 'req-2' } },
  )
  say('seed', 'User.create v2', 'Ada: password hashed; the after-action hook made her an admin member')

  const charles = await app.run(
    User,
    'create',
    { email: `charles.${run}@example.com`, name: 'Charles', orgId: org.id, password: 'difference engine' },
    { actor: seed, metadata: { requestId: 'req-3' } },
  )
  say('seed', 'User.create v2', 'Charles: a member')

  const asAda: Actor = { type: 'user', id: ada.id }
  try {
    await app.run(User, 'create', { email: 'not-an-email', password: 'long enough' }, { actor: asAda })
  } catch (error) {
    if (!isRewindError(error, 'VALIDATION')) throw error
    say('Ada', 'User.create', `refused: ${error.issues[0]?.message} (nothing written)`)
  }

  const [membership] = await app.list(Membership, { where: { userId: charles.id } })
  await app.run(Membership, 'changeRole', { role: 'admin' }, { id: membership!.id, actor: asAda })
  say('Ada', 'Membership.changeRole', 'Charles is an admin now')

  const article = await app.run(
    Article,
    'create',
    { authorId: ada.id, title: 'Notes on the Analytical Engine' },
    { actor: asAda, metadata: { requestId: 'req-4' } },
  )
  say('Ada', 'Article.create', `"${article.title}"`)

  await app.run(Article, 'archive', {}, { id: article.id, actor: asAda })
  say('Ada', 'Article.archive', 'status: archived')
  try {
    await app.run(Article, 'archive', {}, { id: article.id, actor: asAda })
  } catch (error) {
    if (!isRewindError(error, 'VALIDATION')) throw error
    say('Ada', 'Article.archive', `refused: ${error.issues[0]?.message} (nothing written)`)
  }
  await app.run(Article, 'unarchive', {}, { id: article.id, actor: asAda })
  say('Ada', 'Article.unarchive', 'status: draft')

  const renamed = await app.run(
    User,
    'rename',
    { name: 'Ada Lovelace' },
    { id: ada.id, actor: asAda, metadata: { requestId: 'req-5' } },
  )
  say('Ada', 'User.rename', renamed.name ?? '')

  await app.run(Article, 'softDelete', {}, { id: article.id, actor: asAda })
  say('Ada', 'Article.softDelete', 'the row stays, with deletedAt set')

  return {
    org: { id: org.id, name: org.name },
    ada: { id: ada.id, name: renamed.name },
    charles: { id: charles.id },
    article: { id: article.id, title: article.title },
    legacyUserIds,
  } satisfies ScenarioResult
}
