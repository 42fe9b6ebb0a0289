import { fileURLToPath } from 'node:url'
import { buildStudioBrowser } from '../../scripts/build-studio.js'

/**
 * vitest globalSetup: the tests run the studio from src, so its browser files are built next to it
 * (src/studio/browser, ignored by git) as `npm run build` builds them into dist.
 */
export default async function setup(): Promise<void> {
  await buildStudioBrowser(fileURLToPath(new URL('../../src/studio/browser/', import.meta.url)))
}
