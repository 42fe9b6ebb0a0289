import type { AnyResource } from './define-resource.js'

/** A relationship to another resource, declared by the foreign key that links them. */
export interface Relationship {
  readonly kind: 'belongsTo' | 'hasOne' | 'hasMany'
  /** The other resource (a thunk, so resources may refer to each other). */
  readonly target: () => AnyResource
  /**
   * `belongsTo`: the column of this resource that holds the other's primary key.
   * `hasOne` / `hasMany`: the column of the other resource that holds this one's primary key.
   */
  readonly foreignKey: string
}

/** This resource holds the other's primary key in `foreignKey`. */
export function belongsTo(target: () => AnyResource, foreignKey: string): Relationship {
  return { kind: 'belongsTo', target, foreignKey }
}

/** The other resource holds this one's primary key in its `foreignKey` column; at most one row. */
export function hasOne(target: () => AnyResource, foreignKey: string): Relationship {
  return { kind: 'hasOne', target, foreignKey }
}

/** The other resource holds this one's primary key in its `foreignKey` column; any number of rows. */
export function hasMany(target: () => AnyResource, foreignKey: string): Relationship {
  return { kind: 'hasMany', target, foreignKey }
}
