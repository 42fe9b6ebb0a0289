import type { Rewind } from '../../src/index.js'
import type { resources } from '../domain.js'

/** The id of item / note / legacy item number g, deterministic so the log can be written by SQL. */
export const HOT_ITEM = "md5('hot')::uuid"

const ts = (k: string) =>
  `to_char((TIMESTAMPTZ '2026-01-01T00:00:00Z' + ((g * 10 + ${k}) * INTERVAL '1 millisecond')) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/**
 * Appends groups [from, to) of ten events each, written directly by SQL in the shapes Rewind records:
 * a create (v2), updates, an upsert that hits the row, a nested note created and destroyed, a legacy v1 create
 * routed by an override, a soft destroy and a hard destroy. Every 10th group is by the actor "ops".
 */
export async function appendGroups(
  rewind: Rewind<typeof resources>,
  from: number,
  to: number,
): Promise<void> {
  const step = 10_000
  for (let start = from; start < to; start += step) {
    const end = Math.min(to, start + step) - 1
    await rewind.database.query(
      `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes, occurred_at, system_actor)
       SELECT
         CASE WHEN k IN (5, 6) THEN md5('n' || g)::uuid::text WHEN k IN (8, 10) THEN md5('l' || g)::uuid::text ELSE md5('i' || g)::uuid::text END,
         CASE WHEN k IN (5, 6) THEN 'Note' ELSE 'Item' END,
         (ARRAY['create','bump','rename','upsert','create','destroy','bump','create','archive','destroy'])[k],
         (ARRAY['create','update','update','create','create','destroy','update','create','destroy','destroy'])[k],
         CASE WHEN k = 1 THEN 2 ELSE 1 END, -- the create at k = 8 is a version-1 event: the override routes it
         CASE k
           WHEN 1 THEN jsonb_build_object('name', 'g' || g)
           WHEN 3 THEN jsonb_build_object('name', 'g' || g || 'x')
           WHEN 4 THEN jsonb_build_object('name', 'g' || g || 'x')
           WHEN 5 THEN jsonb_build_object('itemId', md5('i' || g)::uuid::text, 'body', 'note ' || g)
           WHEN 8 THEN jsonb_build_object('name', 'l' || g)
           ELSE '{}'::jsonb END,
         CASE k
           WHEN 1 THEN jsonb_build_object('id', md5('i' || g)::uuid::text, 'createdAt', ${ts('1')}, 'updatedAt', ${ts('1')}, 'seq', 0, 'status', 'active')
           WHEN 2 THEN jsonb_build_object('seq', 1, 'updatedAt', ${ts('2')})
           WHEN 3 THEN jsonb_build_object('updatedAt', ${ts('3')})
           WHEN 4 THEN jsonb_build_object('updatedAt', ${ts('4')})
           WHEN 5 THEN jsonb_build_object('id', md5('n' || g)::uuid::text, 'itemId', md5('i' || g)::uuid::text)
           WHEN 7 THEN jsonb_build_object('seq', 2, 'updatedAt', ${ts('7')})
           WHEN 8 THEN jsonb_build_object('id', md5('l' || g)::uuid::text, 'createdAt', ${ts('8')}, 'updatedAt', ${ts('8')}, 'seq', 0, 'status', 'active')
           WHEN 9 THEN jsonb_build_object('status', 'archived', 'deletedAt', ${ts('9')})
           ELSE '{}'::jsonb END,
         (${ts('k')})::timestamptz,
         CASE WHEN g % 10 = 0 THEN 'ops' ELSE 'gen' END
       FROM generate_series($1::int, $2::int) AS g CROSS JOIN generate_series(1, 10) AS k
       ORDER BY g, k`,
      [String(start), String(end)],
    )
  }
}

/** A record with `count` events: a create and count - 1 updates, all before the rest of the log. */
export async function appendHotRecord(rewind: Rewind<typeof resources>, count: number): Promise<void> {
  await rewind.database.query(
    `INSERT INTO events (record_id, resource, action, action_type, version, data, changed_attributes, occurred_at, system_actor)
     SELECT ${HOT_ITEM}::text, 'Item',
       CASE WHEN s = 0 THEN 'create' ELSE 'bump' END,
       CASE WHEN s = 0 THEN 'create' ELSE 'update' END,
       CASE WHEN s = 0 THEN 2 ELSE 1 END,
       CASE WHEN s = 0 THEN '{"name":"hot"}'::jsonb ELSE '{}'::jsonb END,
       CASE WHEN s = 0
         THEN jsonb_build_object('id', ${HOT_ITEM}::text, 'createdAt', '2025-12-31T00:00:00.000000Z', 'updatedAt', '2025-12-31T00:00:00.000000Z', 'seq', 0, 'status', 'active')
         ELSE jsonb_build_object('seq', s, 'updatedAt', to_char((TIMESTAMPTZ '2025-12-31T00:00:00Z' + s * INTERVAL '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
       END,
       TIMESTAMPTZ '2025-12-31T00:00:00Z' + s * INTERVAL '1 millisecond',
       'gen'
     FROM generate_series(0, $1::int - 1) AS s ORDER BY s`,
    [String(count)],
  )
}
