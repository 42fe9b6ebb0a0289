/**
 * Polls until `check` holds. The bound only catches a hang: a loaded machine is slow, never wrong, so no test
 * asserts on how long this takes.
 */
export async function until(check: () => boolean | Promise<boolean>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition')
    await new Promise((r) => setTimeout(r, 10))
  }
}
