import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { PgTable } from 'drizzle-orm/pg-core'

/** Any Drizzle pg-core table. */
export type AnyTable = PgTable

/** The record type of a table: what reads and actions return. */
export type RecordOf<T extends AnyTable> = T['$inferSelect']
/** The insert type of a table. */
export type InsertOf<T extends AnyTable> = T['$inferInsert']
/** The property names of a table's columns. */
export type ColumnKey<T extends AnyTable> = Extract<keyof T['$inferSelect'], string>

type MarkedPrimaryKey<T extends AnyTable> = {
  [K in ColumnKey<T>]: T['_']['columns'][K]['_']['isPrimaryKey'] extends true ? K : never
}[ColumnKey<T>]

/**
 * The key of the table's primary-key column, read from Drizzle's `.primaryKey()` marker (a table typed only
 * as `PgTable`, whose columns do not say, gives any column key).
 */
export type PrimaryKeyOf<T extends AnyTable> = [MarkedPrimaryKey<T>] extends [never]
  ? ColumnKey<T>
  : MarkedPrimaryKey<T>

/** Named Standard Schema values (zod, valibot, arktype, ...): the arguments of an action. */
export type ArgSchemas = Record<string, StandardSchemaV1>

type OptionalArgKeys<A extends ArgSchemas> = {
  [K in keyof A]: undefined extends StandardSchemaV1.InferInput<A[K]> ? K : never
}[keyof A]

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** What a caller passes for the arguments: optional where the schema accepts undefined (defaults). */
export type InferArgsInput<A extends ArgSchemas> = Simplify<
  { [K in Exclude<keyof A, OptionalArgKeys<A>>]: StandardSchemaV1.InferInput<A[K]> } & {
    [K in OptionalArgKeys<A>]?: StandardSchemaV1.InferInput<A[K]>
  }
>
/** The parsed arguments a change or a generic action sees (schema outputs, defaults applied). */
export type InferArgsOutput<A extends ArgSchemas> = Simplify<{
  [K in keyof A]: StandardSchemaV1.InferOutput<A[K]>
}>

/** Required keys of a type. */
type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T]

/** Input of a create action: accepted columns (required where the insert type requires them) and arguments. */
export type CreateInput<T extends AnyTable, Acc extends string, A extends ArgSchemas> = Simplify<
  { [K in Extract<Acc, RequiredKeys<InsertOf<T>>>]: InsertOf<T>[K] } & {
    [K in Exclude<Extract<Acc, keyof InsertOf<T>>, RequiredKeys<InsertOf<T>>>]?: InsertOf<T>[K]
  } & InferArgsInput<A>
>

/** Input of an update action: every accepted column is optional; arguments as declared. */
export type UpdateInput<T extends AnyTable, Acc extends string, A extends ArgSchemas> = Simplify<
  { [K in Extract<Acc, keyof InsertOf<T>>]?: InsertOf<T>[K] } & InferArgsInput<A>
>

export type ActionKind = 'create' | 'update' | 'destroy' | 'action'
