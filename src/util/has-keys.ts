/** Whether an object has an enumerable string key (what `Object.keys(o).length > 0` says, without the array). */
export function hasKeys(o: object): boolean {
  for (const _ in o) return true
  return false
}
