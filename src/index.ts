/**
 * Rewind: AshEvents-style event sourcing for TypeScript over Drizzle tables, on PGlite and PostgreSQL.
 * @module
 */

export type { Json } from './columns/values.js'
export type { ConsumerStatus, Consumers, StartOptions } from './consumers/consumers.js'
export type { DeadLetter } from './consumers/dead-letters.js'
export {
  type BatchContext,
  type Consumer,
  type ConsumerEvent,
  defineProjection,
  defineSubscription,
  type EventHandler,
  type On,
  type Projection,
  type ProjectionConfig,
  type ProjectionContext,
  type RetryPolicy,
  type StartFrom,
  type Subscription,
  type SubscriptionConfig,
  type SubscriptionContext,
} from './consumers/definitions.js'
export type { RebuildResult } from './consumers/rebuild.js'
export { rewindConsumers, rewindDeadLetters } from './consumers/tables.js'
export {
  HTTP_STATUS,
  type Issue,
  isRewindError,
  RewindError,
  type RewindErrorCode,
} from './errors/rewind-error.js'
export { appendOnlyStatements } from './events/append-only.js'
export { type KeyProvider, type KeyRing, keyRing } from './events/encryption.js'
export type { ActionEvent, EventEncoders, EventFilter, EventPage, RewindEvent } from './events/event.js'
export type { EventLogConfig, Ordering, ReplayOverride } from './events/event-log-config.js'
export {
  type EventIdMode,
  type EventLogTable,
  type EventLogTableOptions,
  eventLogTable,
} from './events/event-log-table.js'
export type { ConsistencyFinding, ConsistencyReport } from './replay/check-consistency.js'
export type { ReplayOptions, ReplayProgress, ReplayResult, SkippedEvent } from './replay/replay-options.js'
export type { FieldChange, HistoryEntry, PointInTime } from './replay/time-travel.js'
export type { RowDifference, TableDifferences, VerifyOptions, VerifyResult } from './replay/verify.js'
export type {
  ActionBuilders,
  ActionDefinition,
  Change,
  ChangeObject,
  CreateConfig,
  DestroyConfig,
  GenericActionContext,
  GenericConfig,
  Policy,
  PolicyContext,
  UpdateConfig,
  Validation,
  ValidationObject,
} from './resource/action.js'
export { change, generateId, manageRelated, relate, setAttribute, timestamps } from './resource/changes.js'
export { Changeset, exact, type HookContext } from './resource/changeset.js'
export type {
  ActionInput,
  ActionName,
  ActionResult,
  AnyResource,
  InferRecord,
  Resource,
  ResourceConfig,
  ResourceEventsConfig,
} from './resource/define-resource.js'
export { defineResource } from './resource/define-resource.js'
export { belongsTo, hasMany, hasOne, type Relationship } from './resource/relationships.js'
export {
  equals,
  length,
  match,
  notEquals,
  oneOf,
  present,
  type ValidationOptions,
} from './resource/validations.js'
export { createRewind, type RewindConfig } from './runtime/create-rewind.js'
export type { ListOptions } from './runtime/reads.js'
export { Rewind } from './runtime/rewind.js'
export type { RunOptions, Target } from './runtime/run-options.js'
export { createTableStatements, sortTablesByDependencies } from './schema/create-tables.js'
export { uuidv7 } from './util/uuidv7.js'
